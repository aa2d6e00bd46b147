"""Quantiles of a stage's successful tasks (Spark's ``taskSummary``) without re-sorting.

Each finished task is appended to a list of pending ones: O(1) per event, and the figures stay
exact when old tasks are dropped from the task table. A summary keeps its columns sorted and
adds only the rows that came since: appended to a sorted list, they sort in about linear
time (Timsort finds the sorted run), so a running stage's page never sorts 100,000 tasks
from scratch, and a finished stage's is sorted once however often it is viewed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .metrics import Metrics

# The columns, in the nesting Spark's REST summary uses ("" = top level).
COLUMNS: tuple[tuple[str, str], ...] = (
    ("", "duration"),
    ("", "executorRunTime"),
    ("", "executorCpuTime"),
    ("", "resultSize"),
    ("", "peakExecutionMemory"),
    ("", "memoryBytesSpilled"),
    ("", "diskBytesSpilled"),
    ("inputMetrics", "bytesRead"),
    ("inputMetrics", "recordsRead"),
    ("outputMetrics", "bytesWritten"),
    ("outputMetrics", "recordsWritten"),
    ("shuffleReadMetrics", "readBytes"),
    ("shuffleReadMetrics", "readRecords"),
    ("shuffleReadMetrics", "fetchWaitTime"),
    ("shuffleReadMetrics", "remoteBytesRead"),
    ("shuffleWriteMetrics", "writeBytes"),
    ("shuffleWriteMetrics", "writeRecords"),
    ("shuffleWriteMetrics", "writeTime"),
)

DEFAULT_QUANTILES = (0.0, 0.25, 0.5, 0.75, 1.0)  # the stage page's Min, 25th, Median, 75th, Max


def _figures(duration: int, m: Metrics) -> tuple[int, ...]:
    return (
        duration,
        m.run_time,
        m.cpu_time,
        m.result_size,
        m.peak_memory,
        m.memory_spilled,
        m.disk_spilled,
        m.input_bytes,
        m.input_records,
        m.output_bytes,
        m.output_records,
        m.shuffle_read_bytes,
        m.read_records,
        m.fetch_wait,
        m.remote_bytes,
        m.write_bytes,
        m.write_records,
        m.write_time,
    )


class TaskColumns:
    def __init__(self) -> None:
        self._sorted: list[list[int]] = [[] for _ in COLUMNS]
        # Tasks not yet in the sorted columns; their figures are read out when a summary
        # is asked for, which a replayed log's tasks may never be.
        self._pending: list[tuple[int, Metrics]] = []

    def __len__(self) -> int:
        return len(self._sorted[0]) + len(self._pending)

    def add(self, duration: int, metrics: Metrics) -> None:
        self._pending.append((duration, metrics))

    def _catch_up(self) -> None:
        if not self._pending:
            return
        rows = [_figures(duration, metrics) for duration, metrics in self._pending]
        for column, added in zip(self._sorted, zip(*rows, strict=True), strict=True):
            column.extend(added)
            column.sort()
        self._pending = []

    def summary(self, quantiles: Sequence[float] = DEFAULT_QUANTILES) -> dict[str, Any] | None:
        """Spark's ``TaskMetricDistributions``; None before any task has succeeded."""
        count = len(self)
        if count == 0:
            return None
        self._catch_up()
        # Spark's rule: the value at index q * n, the last one for q = 1.
        picks = [min(int(q * count), count - 1) for q in quantiles]
        found: dict[str, Any] = {"quantiles": list(quantiles)}
        for (group, name), column in zip(COLUMNS, self._sorted, strict=True):
            holder = found.setdefault(group, {}) if group else found
            holder[name] = [float(column[i]) for i in picks]
        return found

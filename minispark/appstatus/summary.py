"""Quantiles of a stage's successful tasks (Spark's ``taskSummary``) without re-sorting.

Each finished task appends its figures to one column per metric: O(1) per event, and the
columns stay exact when old tasks are dropped from the task table. A summary sorts the
columns once and keeps the sorted copies until another task finishes, so a finished stage
with 100,000 tasks is sorted once however often its page is viewed.
"""

from __future__ import annotations

from array import array
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
        self._columns = [array("q") for _ in COLUMNS]
        self._sorted: list[list[int]] | None = None

    def __len__(self) -> int:
        return len(self._columns[0])

    def add(self, duration: int, metrics: Metrics) -> None:
        for column, value in zip(self._columns, _figures(duration, metrics), strict=True):
            column.append(value)
        self._sorted = None

    def summary(self, quantiles: Sequence[float] = DEFAULT_QUANTILES) -> dict[str, Any] | None:
        """Spark's ``TaskMetricDistributions``; None before any task has succeeded."""
        count = len(self)
        if count == 0:
            return None
        if self._sorted is None:
            self._sorted = [sorted(column) for column in self._columns]
        # Spark's rule: the value at index q * n, the last one for q = 1.
        picks = [min(int(q * count), count - 1) for q in quantiles]
        found: dict[str, Any] = {"quantiles": list(quantiles)}
        for (group, name), column in zip(COLUMNS, self._sorted, strict=True):
            holder = found.setdefault(group, {}) if group else found
            holder[name] = [float(column[i]) for i in picks]
        return found

"""What a running task can ask of the process it runs in.

``RDD.compute`` receives a ``TaskContext``. Reading a shuffle partition, the block cache and
accumulator updates go through it, so the same RDD code runs in an executor's task process
(the cluster engine implements this class) and in the in-process runner the unit tests use.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from .dependency import ShuffleDependency


class TaskContext:
    """The base is enough for narrow-only work; engines override the shuffle and cache parts."""

    def __init__(self, stage_id: int = 0, partition_id: int = 0, attempt: int = 0) -> None:
        self.stage_id = stage_id
        self.partition_id = partition_id
        self.attempt = attempt
        self.accumulator_updates: dict[int, Any] = {}
        self.task_inputs: dict[tuple[int, int], Any] = {}
        # What the task's source partitions read (Spark's input metrics); sources add to
        # them a block at a time, never per record, so counting costs nothing measurable.
        self.input_bytes = 0
        self.input_records = 0

    @classmethod
    def get(cls) -> TaskContext | None:
        """The running task's context inside a task; None on the driver (PySpark's API)."""
        return _current

    # PySpark's TaskContext names, for user code that calls TaskContext.get()
    def partitionId(self) -> int:  # noqa: N802
        return self.partition_id

    def stageId(self) -> int:  # noqa: N802
        return self.stage_id

    def attemptNumber(self) -> int:  # noqa: N802
        return self.attempt

    def read_shuffle(self, dep: ShuffleDependency, reduce_id: int) -> Iterator[tuple[Any, Any]]:
        """Records of reduce partition ``reduce_id`` from every map output of ``dep``: pairs
        ``(key, combiner)`` merged across maps when ``dep.aggregator`` is set (the reader applies
        ``merge_combiners``, or ``create_combiner``/``merge_value`` when the maps did not
        combine), otherwise the raw ``(key, value)`` pairs in no particular order."""
        raise NotImplementedError("this context cannot read shuffle output")

    def add_input(self, nbytes: int, records: int) -> None:
        self.input_bytes += nbytes
        self.input_records += records

    def task_input(self, rdd_id: int, partition: int) -> Any:
        """Data the driver sent with this task for an RDD's partition (a parallelize slice)."""
        try:
            return self.task_inputs[(int(rdd_id), partition)]
        except KeyError:
            raise RuntimeError(
                f"no input was sent for RDD {rdd_id} partition {partition}"
            ) from None

    def cache_get(self, rdd_id: int, partition: int) -> list[Any] | None:
        return None

    def cache_put(self, rdd_id: int, partition: int, records: Iterable[Any]) -> list[Any]:
        return list(records)

    def add_accumulator(self, acc_id: int, value: Any, merge: Any) -> None:
        """Record an update; the driver merges them when the task succeeds."""
        if acc_id in self.accumulator_updates:
            self.accumulator_updates[acc_id] = merge(self.accumulator_updates[acc_id], value)
        else:
            self.accumulator_updates[acc_id] = value


_current: TaskContext | None = None


def current() -> TaskContext | None:
    return _current


def set_current(context: TaskContext | None) -> None:
    global _current  # noqa: PLW0603 (one task at a time per task process: a plain global)
    _current = context

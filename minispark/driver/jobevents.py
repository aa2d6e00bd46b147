"""The scheduler's records turned into Spark's listener events (``appstatus.events``).

Kept apart from the scheduler so that it reads as scheduling; everything here is a pure
translation, called only when someone listens.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ..appstatus import events as ev
from ..protocol import TaskFailed, TaskMetrics
from .dag import Stage

if TYPE_CHECKING:
    from .scheduler import TaskInfo

# A task process that died took its exception with it; Spark's UI still wants a class.
DIED_CLASS = "minispark.TaskProcessDied"


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def stage_info(
    stage: Stage, name: str, num_tasks: int, *, attempt: int | None = None, submitted: bool = False
) -> dict[str, Any]:
    """A stage's StageInfo: its latest attempt unless ``attempt`` says which."""
    return ev.stage_info(
        stage_id=stage.id,
        attempt=max(stage.attempts - 1, 0) if attempt is None else attempt,
        name=name,
        num_tasks=num_tasks,
        parent_ids=[p.id for p in stage.parents],
        details=repr(stage),
        submitted_ms=now_ms() if submitted else None,
    )


def _task_info(info: TaskInfo, *, finished_ms: int = 0, failed: bool = False) -> dict[str, Any]:
    return ev.task_info(
        task_id=info.task_id,
        partition=info.partition,
        attempt=info.attempt,
        launched_ms=info.launched_ms,
        exec_id=info.executor,
        host=info.host,
        locality=info.locality,
        finished_ms=finished_ms,
        failed=failed,
    )


def task_start(info: TaskInfo) -> dict[str, Any]:
    task_set = info.task_set
    return ev.task_start(
        stage_id=task_set.stage.id, attempt=task_set.spark_attempt, info=_task_info(info)
    )


def task_end(info: TaskInfo, reason: dict[str, Any], metrics: TaskMetrics | None) -> dict[str, Any]:
    task_set = info.task_set
    failed = reason["Reason"] != "Success"
    return ev.task_end(
        stage_id=task_set.stage.id,
        attempt=task_set.spark_attempt,
        map_task=task_set.stage.is_map,
        reason=reason,
        info=_task_info(info, finished_ms=now_ms(), failed=failed),
        metrics=metrics,
    )


def failure_reason(m: TaskFailed) -> dict[str, Any]:
    """Spark's TaskEndReason for a failed task's report."""
    if m.fetch_failed_shuffle >= 0:
        return ev.fetch_failed(
            shuffle_id=m.fetch_failed_shuffle, map_id=m.fetch_failed_map, message=m.error
        )
    kind, sep, message = m.error.partition(": ")
    # error reads "<type>: <message>" when an exception was raised; its message alone is
    # Spark's Description.
    described = message if sep and m.error_class.endswith(kind) else m.error
    return ev.exception_failure(
        class_name=m.error_class or DIED_CLASS, description=described, stack_trace=m.traceback
    )

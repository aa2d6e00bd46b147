"""The store's records of jobs, stages, tasks and executors, each with its REST form."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from . import metrics as tm
from .summary import TaskColumns
from .timefmt import rest_time


@dataclass(slots=True)
class Task:
    task_id: int
    index: int
    attempt: int
    partition_id: int
    launch_time: int
    executor_id: str
    host: str
    locality: str
    speculative: bool
    finish_time: int = 0
    status: str = "RUNNING"  # SUCCESS, FAILED, KILLED
    error: str | None = None
    metrics: tm.Metrics | None = None

    def duration(self, now_ms: int) -> int:
        end = self.finish_time if self.finish_time else now_ms
        return max(0, end - self.launch_time)

    def to_json(self, now_ms: int) -> dict[str, Any]:
        return {
            "taskId": self.task_id,
            "index": self.index,
            "attempt": self.attempt,
            "partitionId": self.partition_id,
            "launchTime": rest_time(self.launch_time),
            "duration": self.duration(now_ms),
            "executorId": self.executor_id,
            "host": self.host,
            "status": self.status,
            "taskLocality": self.locality,
            "speculative": self.speculative,
            "errorMessage": self.error,
            "taskMetrics": tm.to_json(self.metrics) if self.metrics else None,
        }


@dataclass(slots=True)
class StageExecutor:
    """One executor's share of a stage (Spark's ``executorSummary``): which one is behind."""

    task_time: int = 0
    failed: int = 0
    succeeded: int = 0
    killed: int = 0
    totals: tm.Metrics = field(default_factory=tm.Metrics)

    def count(self, task: Task) -> None:
        self.task_time += task.duration(task.finish_time)
        if task.status == "SUCCESS":
            self.succeeded += 1
        elif task.status == "KILLED":
            self.killed += 1
        else:
            self.failed += 1
        if task.metrics is not None:
            self.totals.add(task.metrics)

    def to_json(self) -> dict[str, Any]:
        t = self.totals
        return {
            "taskTime": self.task_time,
            "failedTasks": self.failed,
            "succeededTasks": self.succeeded,
            "killedTasks": self.killed,
            "inputBytes": t.input_bytes,
            "inputRecords": t.input_records,
            "outputBytes": t.output_bytes,
            "outputRecords": t.output_records,
            "shuffleRead": t.shuffle_read_bytes,
            "shuffleReadRecords": t.read_records,
            "shuffleWrite": t.write_bytes,
            "shuffleWriteRecords": t.write_records,
            "memoryBytesSpilled": t.memory_spilled,
            "diskBytesSpilled": t.disk_spilled,
            "peakMemoryMetrics": {"ProcessTreePythonRSSMemory": t.peak_memory},
        }


@dataclass(slots=True)
class Stage:
    stage_id: int
    attempt_id: int
    name: str
    num_tasks: int
    parent_ids: list[int]
    details: str
    job_ids: list[int] = field(default_factory=list)
    status: str = "PENDING"  # ACTIVE, COMPLETE, SKIPPED, FAILED
    submission_time: int | None = None
    first_task_launched: int | None = None
    completion_time: int | None = None
    failure_reason: str | None = None
    active: int = 0
    complete: int = 0
    failed: int = 0
    killed: int = 0
    completed_indices: set[int] = field(default_factory=set)
    totals: tm.Metrics = field(default_factory=tm.Metrics)
    tasks: dict[int, Task] = field(default_factory=dict)
    finished_tasks: deque[int] = field(default_factory=deque)  # oldest first, for retention
    columns: TaskColumns = field(default_factory=TaskColumns)
    by_executor: dict[str, StageExecutor] = field(default_factory=dict)

    @property
    def key(self) -> tuple[int, int]:
        return self.stage_id, self.attempt_id

    @property
    def finished(self) -> bool:
        return self.status in ("COMPLETE", "FAILED", "SKIPPED")

    def to_json(self) -> dict[str, Any]:
        t = self.totals
        return {
            "status": self.status,
            "stageId": self.stage_id,
            "attemptId": self.attempt_id,
            "numTasks": self.num_tasks,
            "numActiveTasks": self.active,
            "numCompleteTasks": self.complete,
            "numFailedTasks": self.failed,
            "numKilledTasks": self.killed,
            "numCompletedIndices": len(self.completed_indices),
            "executorRunTime": t.run_time,
            "executorCpuTime": t.cpu_time,
            "submissionTime": rest_time(self.submission_time),
            "firstTaskLaunchedTime": rest_time(self.first_task_launched),
            "completionTime": rest_time(self.completion_time),
            "failureReason": self.failure_reason,
            "inputBytes": t.input_bytes,
            "inputRecords": t.input_records,
            "outputBytes": t.output_bytes,
            "outputRecords": t.output_records,
            "shuffleReadBytes": t.shuffle_read_bytes,
            "shuffleReadRecords": t.read_records,
            "shuffleWriteBytes": t.write_bytes,
            "shuffleWriteRecords": t.write_records,
            "memoryBytesSpilled": t.memory_spilled,
            "diskBytesSpilled": t.disk_spilled,
            "peakExecutionMemory": t.peak_memory,
            "name": self.name,
            "details": self.details,
            "parentIds": list(self.parent_ids),
            "jobIds": list(self.job_ids),
            "schedulingPool": "default",
        }


@dataclass(slots=True)
class Job:
    job_id: int
    name: str
    submission_time: int | None
    stage_ids: list[int]
    num_tasks: int
    status: str = "RUNNING"  # SUCCEEDED, FAILED
    completion_time: int | None = None
    error: str | None = None  # the JobFailed exception's message
    active_tasks: int = 0
    completed_tasks: int = 0
    skipped_tasks: int = 0
    failed_tasks: int = 0
    killed_tasks: int = 0
    completed_indices: set[int] = field(default_factory=set)  # stage id << 32 | partition
    active_stages: set[int] = field(default_factory=set)
    completed_stages: set[int] = field(default_factory=set)
    skipped_stages: set[int] = field(default_factory=set)
    failed_stages: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "jobId": self.job_id,
            "name": self.name,
            "submissionTime": rest_time(self.submission_time),
            "completionTime": rest_time(self.completion_time),
            "stageIds": list(self.stage_ids),
            "status": self.status,
            "numTasks": self.num_tasks,
            "numActiveTasks": self.active_tasks,
            "numCompletedTasks": self.completed_tasks,
            "numSkippedTasks": self.skipped_tasks,
            "numFailedTasks": self.failed_tasks,
            "numKilledTasks": self.killed_tasks,
            "numCompletedIndices": len(self.completed_indices),
            "numActiveStages": len(self.active_stages),
            "numCompletedStages": len(self.completed_stages),
            "numSkippedStages": len(self.skipped_stages),
            "numFailedStages": self.failed_stages,
            "killedTasksSummary": {},
        }


@dataclass(slots=True)
class Executor:
    exec_id: str
    host: str
    cores: int
    add_time: int
    logs: dict[str, str]
    is_active: bool = True
    remove_time: int | None = None
    remove_reason: str | None = None
    active: int = 0
    failed: int = 0
    completed: int = 0
    duration: int = 0
    input_bytes: int = 0
    shuffle_read: int = 0
    shuffle_write: int = 0
    peak_rss: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.exec_id,
            "hostPort": self.host,
            "isActive": self.is_active,
            "rddBlocks": 0,
            "memoryUsed": 0,
            "diskUsed": 0,
            "totalCores": self.cores,
            "maxTasks": self.cores,
            "activeTasks": self.active,
            "failedTasks": self.failed,
            "completedTasks": self.completed,
            "totalTasks": self.active + self.failed + self.completed,
            "totalDuration": self.duration,
            "totalGCTime": 0,
            "totalInputBytes": self.input_bytes,
            "totalShuffleRead": self.shuffle_read,
            "totalShuffleWrite": self.shuffle_write,
            "isBlacklisted": False,
            "maxMemory": 0,
            "addTime": rest_time(self.add_time),
            "removeTime": rest_time(self.remove_time),
            "removeReason": self.remove_reason,
            "executorLogs": dict(self.logs),
            "peakMemoryMetrics": {"ProcessTreePythonRSSMemory": self.peak_rss},
        }

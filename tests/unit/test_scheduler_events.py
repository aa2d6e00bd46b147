"""The scheduler's listener events, driven by hand: what a job with a failing task posts."""

from __future__ import annotations

import asyncio
from typing import Any

import cloudpickle

from minispark.driver.progress import Progress
from minispark.driver.scheduler import JobScheduler, SparkJobError
from minispark.protocol import LaunchTasks, Message, TaskFailed, TaskFinished, TaskMetrics
from minispark.rdd.perpartition import sum_partition

from .localrunner import LocalContext


class Executor:
    def __init__(self) -> None:
        self.exec_id, self.cores, self.host = 3, 2, "10.0.0.7"
        self.tasks: list[tuple[int, int]] = []  # (task id, partition) launched

    def send(self, message: Message) -> None:
        if isinstance(message, LaunchTasks):
            self.tasks += [(t.task_id, t.partition) for t in message.tasks]


def _finished(task_id: int, value: Any) -> TaskFinished:
    metrics = TaskMetrics(run_time_ms=5, input_records=2)
    return TaskFinished(
        task_id=task_id, result=cloudpickle.dumps(value), accumulators=cloudpickle.dumps({}),
        metrics=metrics,
    )  # fmt: skip


def _failed(task_id: int) -> TaskFailed:
    return TaskFailed(
        task_id=task_id,
        error="ValueError: bad record",
        traceback="Traceback ...\nValueError: bad record\n",
        error_class="ValueError",
        metrics=TaskMetrics(run_time_ms=1),
    )


def _scheduler(
    executor: Executor, *, max_failures: int, posted: list[dict[str, Any]] | None
) -> JobScheduler:
    """A scheduler over the one fake executor, a task in flight per core; its events are
    appended to ``posted`` (None: it is given no sink)."""
    return JobScheduler(
        lambda: [executor],
        max_failures=max_failures,
        in_flight_per_core=1,
        progress=Progress(),
        events=None if posted is None else posted.append,
    )


def test_a_job_whose_task_keeps_failing_posts_spark_events_in_order() -> None:
    posted: list[dict[str, Any]] = []
    executor = Executor()
    scheduler = _scheduler(executor, max_failures=2, posted=posted)
    rdd = LocalContext().parallelize(range(4), 2)

    async def run() -> None:
        job = asyncio.ensure_future(scheduler.run_job(rdd, sum_partition, [0, 1], "sum at t.py:9"))
        await asyncio.sleep(0)
        (t0, _), (t1, _) = executor.tasks
        scheduler.task_finished(_finished(t0, 1))
        scheduler.task_failed(_failed(t1))
        retry, partition = executor.tasks[-1]
        assert partition == 1 and retry != t1
        scheduler.task_failed(_failed(retry))
        try:
            await job
        except SparkJobError:
            return
        raise AssertionError("the job should have failed")

    asyncio.run(run())
    names = [e["Event"].removeprefix("SparkListener") for e in posted]
    assert names == [
        "JobStart", "StageSubmitted", "TaskStart", "TaskStart", "TaskEnd", "TaskEnd",
        "TaskStart", "TaskEnd", "StageCompleted", "JobEnd",
    ]  # fmt: skip
    start, submitted = posted[0], posted[1]
    assert start["Stage Infos"][0]["Stage Name"] == "sum at t.py:9"
    assert start["Stage Infos"][0]["Number of Tasks"] == 2
    assert submitted["Stage Info"]["Stage Attempt ID"] == 0
    ends = [e for e in posted if e["Event"] == "SparkListenerTaskEnd"]
    assert ends[0]["Task End Reason"] == {"Reason": "Success"}
    assert ends[0]["Task Metrics"]["Input Metrics"]["Records Read"] == 2
    assert ends[0]["Task Info"]["Executor ID"] == "3"
    assert ends[0]["Task Info"]["Host"] == "10.0.0.7"
    failure = ends[1]["Task End Reason"]
    assert failure["Reason"] == "ExceptionFailure"
    assert failure["Class Name"] == "ValueError" and failure["Description"] == "bad record"
    assert "Traceback" in failure["Full Stack Trace"]
    assert ends[2]["Task Info"]["Attempt"] == 1 and ends[2]["Task Info"]["Failed"] is True
    assert ends[2]["Stage Attempt ID"] == 0  # a retried task stays in the same stage attempt
    completed = posted[-2]["Stage Info"]
    assert "failed 2 times" in completed["Failure Reason"]
    assert completed["Completion Time"] >= completed["Submission Time"]
    assert posted[-1]["Job Result"]["Result"] == "JobFailed"
    assert "bad record" in posted[-1]["Job Result"]["Exception"]["Message"]


def test_a_lost_executor_ends_its_tasks_with_executor_lost_failure() -> None:
    posted: list[dict[str, Any]] = []
    executor = Executor()
    scheduler = _scheduler(executor, max_failures=4, posted=posted)
    rdd = LocalContext().parallelize(range(4), 2)

    async def run() -> None:
        job = asyncio.ensure_future(scheduler.run_job(rdd, sum_partition, [0, 1]))
        await asyncio.sleep(0)
        scheduler.executor_lost(executor.exec_id, "worker lost")
        for task_id, partition in executor.tasks[2:]:  # re-offered to the same fake
            scheduler.task_finished(_finished(task_id, partition))
        assert await job == [0, 1]

    asyncio.run(run())
    reasons = [e["Task End Reason"] for e in posted if e["Event"] == "SparkListenerTaskEnd"]
    assert reasons[:2] == [
        {"Reason": "ExecutorLostFailure", "Executor ID": "3", "Exit Caused By App": True,
         "Loss Reason": "worker lost"},
    ] * 2  # fmt: skip
    assert reasons[2:] == [{"Reason": "Success"}] * 2
    assert posted[-2]["Event"] == "SparkListenerStageCompleted"
    assert "Failure Reason" not in posted[-2]["Stage Info"]
    assert posted[-1]["Job Result"] == {"Result": "JobSucceeded"}


def test_without_a_sink_nothing_is_built() -> None:
    executor = Executor()
    scheduler = _scheduler(executor, max_failures=4, posted=None)
    rdd = LocalContext().parallelize(range(4), 2)

    async def run() -> None:
        job = asyncio.ensure_future(scheduler.run_job(rdd, sum_partition, [0, 1]))
        await asyncio.sleep(0)
        for task_id, partition in executor.tasks:
            scheduler.task_finished(_finished(task_id, partition))
        assert await job == [0, 1]

    asyncio.run(run())
    assert all(t.info is None for t in scheduler.task_sets)

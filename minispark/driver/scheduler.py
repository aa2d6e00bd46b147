"""The driver's scheduler: runs jobs' stages as task sets on the application's executors.

It runs on the driver's event loop. Everything is event-driven: a job, a task result, a
failure or an executor coming or going leads to ``_advance``, which submits every stage
whose parents are complete and offers pending tasks to executors with free slots (each
core gets several tasks in flight so that none idles between a result and the next task).

Failures, as in Spark: a task that raises is retried up to ``spark.task.maxFailures`` times;
tasks running on a lost executor are re-queued without counting against them; a task that
cannot fetch a shuffle block marks that map output lost, and the map stage re-runs the
missing maps from lineage before the reading stage is submitted again.

With an ``events`` sink it posts Spark's listener events as it goes (``jobevents`` builds
them): job start and end, stage submitted and completed (with the failure), task start and
end with Spark's end reasons and the executor's metrics.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import logging
import pickle
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import cloudpickle

from ..appstatus import events as ev
from ..protocol import (
    ExecutorExiting,
    ForgetStage,
    LaunchTasks,
    Message,
    TaskFailed,
    TaskFinished,
    TaskSpec,
)
from ..rdd import shared
from ..rpc import ConnectionClosed
from . import jobevents
from .dag import Stage, StageGraph, ancestors_first, task_inputs
from .progress import Progress

log = logging.getLogger("minispark.scheduler")


class SparkJobError(RuntimeError):
    """A job failed: the message names the stage and task and carries the remote traceback."""


@dataclass(eq=False)
class Job:
    stage: Stage
    func: Callable[..., Any]
    partitions: list[int]
    results: dict[int, Any] = field(default_factory=dict)
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    error: str = ""
    job_id: int = -1

    @property
    def complete(self) -> bool:
        return len(self.results) == len(set(self.partitions))


@dataclass(eq=False)
class TaskSet:
    job: Job
    stage: Stage
    attempt: int
    binary: bytes
    pending: collections.deque[int]
    locations: dict[int, list[str]]
    running: dict[int, TaskInfo] = field(default_factory=dict)
    zombie: bool = False  # superseded after a fetch failure: launches nothing more
    info: dict[str, Any] | None = None  # its StageInfo, when events are posted
    reported: bool = False  # its StageCompleted was posted

    @property
    def key(self) -> tuple[int, int]:
        return (self.stage.id, self.attempt)

    @property
    def spark_attempt(self) -> int:
        """Spark numbers a stage's attempts from 0; ``attempt`` counts from 1."""
        return self.attempt - 1


@dataclass(eq=False)
class TaskInfo:
    task_id: int
    task_set: TaskSet
    partition: int
    executor: int
    host: str = ""
    attempt: int = 0
    launched_ms: int = 0
    locality: str = "ANY"


class ExecutorView(Protocol):
    """What the scheduler needs of an executor (the app client's handles have it)."""

    exec_id: int
    cores: int
    host: str

    def send(self, message: Message) -> None: ...


class JobScheduler:
    def __init__(
        self,
        executors: Callable[[], Sequence[ExecutorView]],
        *,
        max_failures: int,
        in_flight_per_core: int,
        progress: Progress,
        events: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.executors = executors
        self.max_failures = max_failures
        self.in_flight = in_flight_per_core
        self.progress = progress
        self.graph = StageGraph()
        self.map_outputs: dict[int, list[str | None]] = {}
        self.jobs: list[Job] = []
        self.task_sets: list[TaskSet] = []
        self.tasks: dict[int, TaskInfo] = {}
        self.failures: collections.Counter[tuple[int, int]] = collections.Counter()
        self.sent: dict[int, set[tuple[int, int]]] = collections.defaultdict(set)
        self._task_ids = itertools.count()
        self.spills = 0  # across all tasks: how often memory ran short (for logs and tests)
        self._post = events
        self._job_ids = itertools.count()
        self._stage_names: dict[int, str] = {}  # by stage id: the call site that first ran it

    # ----------------------------------------------------------------------- jobs

    async def run_job(
        self,
        rdd: Any,
        func: Callable[..., Any],
        partitions: Sequence[int],
        call_site: str = "runJob",
    ) -> list[Any]:
        job = Job(self.graph.result_stage(rdd), func, list(partitions))
        if not job.partitions:
            return []
        job.job_id = next(self._job_ids)
        self._job_started(job, call_site)
        self.jobs.append(job)
        try:
            self._advance()
            await job.finished.wait()
        finally:
            self._retire(job)
            if self._post is not None:
                error = job.error or None
                self._post(ev.job_end(job_id=job.job_id, time_ms=jobevents.now_ms(), error=error))
        if job.error:
            raise SparkJobError(job.error)
        return [job.results[p] for p in job.partitions]

    def fail_all(self, reason: str) -> None:
        for job in list(self.jobs):
            self._fail(job, reason)

    def _job_started(self, job: Job, call_site: str) -> None:
        if self._post is None:
            return
        stages = ancestors_first(job.stage)
        for stage in stages:
            # Spark's names: the result stage is the action ("collect at wc.py:12"); a map
            # stage is where its RDD was made ("reduceByKey at wc.py:11").
            site = call_site if stage is job.stage else getattr(stage.rdd, "_site", call_site)
            self._stage_names.setdefault(stage.id, site)
        infos = [
            jobevents.stage_info(stage, self._stage_names[stage.id], self._job_tasks(job, stage))
            for stage in stages
        ]
        self._post(ev.job_start(job_id=job.job_id, time_ms=jobevents.now_ms(), stages=infos))

    @staticmethod
    def _job_tasks(job: Job, stage: Stage) -> int:
        return len(set(job.partitions)) if stage is job.stage else stage.num_partitions

    def _retire(self, job: Job) -> None:
        if job in self.jobs:
            self.jobs.remove(job)
        for task_set in [t for t in self.task_sets if t.job is job]:
            self._abandon(task_set, job.error or f"job {job.job_id} ended before this stage")

    def _abandon(self, task_set: TaskSet, reason: str) -> None:
        """Launch nothing more from it; it ends when its running tasks have reported (their
        ends are still posted, after its StageCompleted, as Spark does)."""
        task_set.zombie = True
        task_set.pending.clear()
        self._stage_done(task_set, reason)
        if not task_set.running:
            self._end(task_set)

    def _stage_done(self, task_set: TaskSet, failure: str | None) -> None:
        if task_set.reported or self._post is None or task_set.info is None:
            return
        task_set.reported = True
        info = dict(task_set.info, **{"Completion Time": jobevents.now_ms()})
        if failure is not None:
            info["Failure Reason"] = failure
        self._post(ev.stage_completed(info))

    def _end(self, task_set: TaskSet) -> None:
        """Forget a finished task set, and tell the executors that hold its code to drop it."""
        if task_set not in self.task_sets:
            return
        self._stage_done(task_set, None)  # not abandoned: every task succeeded
        self.task_sets.remove(task_set)
        forget = ForgetStage(stage_id=task_set.key[0], stage_attempt=task_set.key[1])
        for executor in self.executors():
            held = self.sent.get(executor.exec_id)
            if held is not None and task_set.key in held:
                held.discard(task_set.key)
                with contextlib.suppress(ConnectionClosed):
                    executor.send(forget)

    def _fail(self, job: Job, reason: str) -> None:
        if not job.finished.is_set():
            job.error = reason
            job.finished.set()

    # -------------------------------------------------------------------- stages

    def _advance(self) -> None:
        for job in list(self.jobs):
            if not job.finished.is_set():
                self._submit(job, job.stage)
        self._offer()

    def _stage_complete(self, job: Job, stage: Stage) -> bool:
        if stage.shuffle_dep is None:
            return job.complete
        outputs = self.map_outputs.get(stage.shuffle_dep.shuffle_id)
        return outputs is not None and all(o is not None for o in outputs)

    def _submit(self, job: Job, stage: Stage) -> bool:
        """Make progress towards ``stage``; True when it is complete."""
        if self._stage_complete(job, stage):
            return True
        waiting = [p for p in stage.parents if not self._submit(job, p)]
        if not waiting and not any(t.stage is stage and not t.zombie for t in self.task_sets):
            self._new_task_set(job, stage)
        return False

    def _missing(self, job: Job, stage: Stage) -> list[int]:
        if stage.shuffle_dep is None:
            return [p for p in dict.fromkeys(job.partitions) if p not in job.results]
        outputs = self.map_outputs.setdefault(
            stage.shuffle_dep.shuffle_id, [None] * stage.num_partitions
        )
        return [i for i, location in enumerate(outputs) if location is None]

    def _new_task_set(self, job: Job, stage: Stage) -> None:
        work = stage.shuffle_dep if stage.shuffle_dep is not None else job.func
        try:
            binary = cloudpickle.dumps((stage.rdd, work), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            self._fail(
                job,
                f"Could not serialize the closure of stage {stage.id} ({stage.rdd!r}): "
                f"{type(exc).__name__}: {exc}",
            )
            return
        stage.attempts += 1
        locations = {sid: [loc or "" for loc in self.map_outputs[sid]] for sid in stage.reads}
        missing = self._missing(job, stage)
        task_set = TaskSet(
            job, stage, stage.attempts, binary, collections.deque(missing), locations
        )
        self.task_sets.append(task_set)
        if self._post is not None:
            name = self._stage_names.get(stage.id, "runJob")
            task_set.info = jobevents.stage_info(
                stage, name, len(missing), attempt=task_set.spark_attempt, submitted=True
            )
            self._post(ev.stage_submitted(task_set.info))
        self.progress.stage_started(stage.id, len(missing))
        log.info("submitting %r attempt %d: %d tasks", stage, stage.attempts, len(missing))

    # --------------------------------------------------------------------- tasks

    def _offer(self) -> None:
        """Round robin: first one task per free core on every executor, and only then the
        extra tasks in flight; filling one executor's slots first left others idle."""
        active = [t for t in self.task_sets if t.pending and not t.zombie]
        if not active:
            return
        executors = list(self.executors())
        busy = collections.Counter(info.executor for info in self.tasks.values())
        batches: dict[tuple[int, int], list[TaskSpec]] = collections.defaultdict(list)
        for per_core in (1, self.in_flight):
            progress = True
            while progress:
                progress = False
                for index, executor in enumerate(executors):
                    task_set = next((t for t in active if t.pending), None)
                    if task_set is None:
                        break
                    if busy[executor.exec_id] < executor.cores * per_core:
                        batches[(index, active.index(task_set))].append(
                            self._launch(task_set, executor)
                        )
                        busy[executor.exec_id] += 1
                        progress = True
        for (index, set_index), specs in batches.items():
            self._send(executors[index], active[set_index], specs)

    def _launch(self, task_set: TaskSet, executor: ExecutorView) -> TaskSpec:
        partition = task_set.pending.popleft()
        attempt = self.failures[(task_set.stage.id, partition)]
        found = task_inputs(task_set.stage.rdd, partition)
        info = TaskInfo(
            next(self._task_ids),
            task_set,
            partition,
            executor.exec_id,
            executor.host,
            attempt,
            jobevents.now_ms(),
            "PROCESS_LOCAL" if found else "ANY",  # its data travels with it, or is read
        )
        self.tasks[info.task_id] = task_set.running[info.task_id] = info
        if self._post is not None:
            self._post(jobevents.task_start(info))
        inputs = cloudpickle.dumps(found, protocol=pickle.HIGHEST_PROTOCOL) if found else b""
        return TaskSpec(task_id=info.task_id, partition=partition, attempt=attempt, inputs=inputs)

    def _send(self, executor: ExecutorView, task_set: TaskSet, specs: list[TaskSpec]) -> None:
        seen = self.sent[executor.exec_id]
        first = task_set.key not in seen
        seen.add(task_set.key)
        launch = LaunchTasks(
            stage_id=task_set.stage.id,
            stage_attempt=task_set.attempt,
            kind="map" if task_set.stage.is_map else "result",
            binary=task_set.binary if first else None,
            locations=task_set.locations if first else {},
            tasks=specs,
        )
        try:
            executor.send(launch)
        except ConnectionClosed:
            # The executor's link broke after it was offered (a write can find the peer gone);
            # its close callback reports the loss, and executor_lost re-queues these tasks.
            log.info("executor %d went away before its tasks left", executor.exec_id)
        self.progress.running(task_set.stage.id, len(task_set.running))

    def _forget(self, info: TaskInfo) -> None:
        info.task_set.running.pop(info.task_id, None)
        self.tasks.pop(info.task_id, None)

    def _maybe_end(self, task_set: TaskSet) -> None:
        """Asked after a failure has re-queued its task, so that a stage whose last task
        failed is retried as the same attempt rather than ended and submitted anew."""
        if not task_set.running and (task_set.zombie or not task_set.pending):
            self._end(task_set)

    def _done(self, info: TaskInfo) -> None:
        self._forget(info)
        self._maybe_end(info.task_set)

    def _task_ended(self, info: TaskInfo, reason: dict[str, Any], m: Any) -> None:
        if self._post is not None:
            self._post(jobevents.task_end(info, reason, m))

    # -------------------------------------------------------------------- events

    def task_finished(self, m: TaskFinished) -> None:
        info = self.tasks.get(m.task_id)
        if info is None:
            return  # from an attempt we already gave up on
        self._task_ended(info, ev.success(), m.metrics)
        self._done(info)
        self.spills += m.spills
        stage, job = info.task_set.stage, info.task_set.job
        shared.merge_accumulator_updates(pickle.loads(m.accumulators))
        if stage.shuffle_dep is not None:
            self.map_outputs[stage.shuffle_dep.shuffle_id][info.partition] = m.result.decode()
        elif info.partition not in job.results:
            try:
                job.results[info.partition] = cloudpickle.loads(m.result)
            except Exception as exc:
                self._fail(
                    job,
                    f"cannot read the result of task {info.partition} in stage "
                    f"{stage.id}: {type(exc).__name__}: {exc}",
                )
        done = self._finished_count(info.task_set)
        self.progress.task_done(stage.id, done, len(info.task_set.running))
        if job.complete:
            job.finished.set()
        self._advance()

    def _finished_count(self, task_set: TaskSet) -> int:
        stage = task_set.stage
        if stage.shuffle_dep is None:
            return len(task_set.job.results)
        return sum(o is not None for o in self.map_outputs[stage.shuffle_dep.shuffle_id])

    def task_failed(self, m: TaskFailed) -> None:
        info = self.tasks.get(m.task_id)
        if info is None:
            return
        self._task_ended(info, jobevents.failure_reason(m), m.metrics)
        self._forget(info)
        if m.fetch_failed_shuffle >= 0:
            self._fetch_failed(info, m)
        else:
            self._count_failure(info, m.error, m.traceback)
        self._maybe_end(info.task_set)
        self._advance()

    def _fetch_failed(self, info: TaskInfo, m: TaskFailed) -> None:
        log.warning(
            "stage %d lost shuffle %d map %d (%s); recomputing it",
            info.task_set.stage.id,
            m.fetch_failed_shuffle,
            m.fetch_failed_map,
            m.error,
        )
        outputs = self.map_outputs.get(m.fetch_failed_shuffle)
        if outputs is not None and 0 <= m.fetch_failed_map < len(outputs):
            outputs[m.fetch_failed_map] = None
        self._abandon(info.task_set, f"FetchFailed: {m.error}")

    def _count_failure(self, info: TaskInfo, error: str, trace: str) -> None:
        stage, partition = info.task_set.stage, info.partition
        key = (stage.id, partition)
        self.failures[key] += 1
        count = self.failures[key]
        log.warning(
            "Lost task %d in stage %d (TID %d): %s", partition, stage.id, info.task_id, error
        )
        if count >= self.max_failures:
            message = (
                f"Job aborted due to stage failure: Task {partition} in stage {stage.id} "
                f"failed {count} times, most recent failure: {error}"
            )
            self._fail(
                info.task_set.job, f"{message}\n\nRemote traceback:\n{trace}" if trace else message
            )
            self._abandon(info.task_set, message)
        elif not info.task_set.zombie:
            info.task_set.pending.appendleft(partition)

    def executor_lost(self, exec_id: int, reason: str, *, blame_tasks: bool = False) -> None:
        """Re-queue the executor's tasks; count them as failures only if they caused it."""
        lost = [info for info in self.tasks.values() if info.executor == exec_id]
        self.sent.pop(exec_id, None)
        for info in lost:
            self._task_ended(info, ev.executor_lost_failure(exec_id=exec_id, reason=reason), None)
            self._forget(info)
            if blame_tasks:
                self._count_failure(info, reason, "")
            elif not info.task_set.zombie:
                info.task_set.pending.appendleft(info.partition)
            self._maybe_end(info.task_set)
        if lost:
            log.warning(
                "executor %d lost (%s); %d running tasks re-queued", exec_id, reason, len(lost)
            )
        self._advance()

    def executor_exiting(self, exec_id: int, m: ExecutorExiting) -> None:
        self.executor_lost(exec_id, m.reason, blame_tasks=True)

    def worker_lost(self, worker_url: str) -> None:
        """Map outputs on a lost worker are gone: mark them missing before anyone fetches."""
        prefix = worker_url + "/"
        for outputs in self.map_outputs.values():
            for i, location in enumerate(outputs):
                if location is not None and location.startswith(prefix):
                    outputs[i] = None
        self._advance()

    def offer(self) -> None:
        """New executors: give them work."""
        self._advance()

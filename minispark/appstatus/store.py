"""``AppStore``: Spark's listener events folded into jobs, stages, tasks and executors.

The same dicts reach it from the live driver and from an event log the history server
replays, so both UIs read one model. Each event costs O(1) (a task's end touches its task,
stage, jobs and executor, never a scan), and finished jobs, stages and a stage's finished
tasks beyond the ``spark.ui.retained*`` limits are forgotten oldest first, while the counts
that pages and the REST API show stay exact.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from typing import Any

from ..conf import Conf
from . import fields as f
from . import metrics as tm
from .fields import EventError
from .reasons import error_message
from .records import Executor, Job, Stage, StageExecutor, Task
from .summary import DEFAULT_QUANTILES
from .timefmt import rest_time

__all__ = ["TASK_SORTS", "AppStore", "EventError"]

JOB_STATUSES = ("RUNNING", "SUCCEEDED", "FAILED")
STAGE_STATUSES = ("ACTIVE", "COMPLETE", "PENDING", "SKIPPED", "FAILED")
TASK_SORTS = ("ID", "-ID", "runtime", "-runtime", "increasing-runtime", "decreasing-runtime")
NO_TIME = -1  # Spark's end time of an application that has not ended


def _now_ms() -> int:
    return int(time.time() * 1000)


class AppStore:
    def __init__(
        self,
        *,
        retained_jobs: int = 1000,
        retained_stages: int = 1000,
        retained_tasks: int = 100_000,
        clock: Callable[[], int] = _now_ms,  # epoch ms: how long running tasks have run
    ) -> None:
        self._retained_jobs = retained_jobs
        self._retained_stages = retained_stages
        self._retained_tasks = retained_tasks
        self._clock = clock
        self._app_id: str | None = None
        self._name = ""
        self._user = ""
        self._version = ""
        self._start: int | None = None
        self._end: int | None = None
        self._last_updated: int | None = None
        self._driver_logs: dict[str, str] = {}
        self._spark_props: list[list[str]] = []
        self._system_props: list[list[str]] = []
        self._classpath: list[list[str]] = []
        self._jobs: dict[int, Job] = {}
        self._finished_jobs: deque[int] = deque()
        self._stages: dict[tuple[int, int], Stage] = {}
        self._attempts: dict[int, list[int]] = {}  # stage id -> its attempts still kept
        self._finished_stages: deque[tuple[int, int]] = deque()
        self._executors: dict[str, Executor] = {}
        self.job_counts: Counter[str] = Counter()  # every job ever seen, by status
        self.stage_counts: Counter[str] = Counter()  # every stage attempt, by status
        self._handlers: dict[str, Callable[[dict[str, Any], str], None]] = {
            "SparkListenerLogStart": self._log_start,
            "SparkListenerApplicationStart": self._app_start,
            "SparkListenerApplicationEnd": self._app_end,
            "SparkListenerEnvironmentUpdate": self._environment,
            "SparkListenerExecutorAdded": self._executor_added,
            "SparkListenerExecutorRemoved": self._executor_removed,
            "SparkListenerJobStart": self._job_start,
            "SparkListenerJobEnd": self._job_end,
            "SparkListenerStageSubmitted": self._stage_submitted,
            "SparkListenerStageCompleted": self._stage_completed,
            "SparkListenerTaskStart": self._task_start,
            "SparkListenerTaskEnd": self._task_end,
        }

    # ------------------------------------------------------------ applying events

    def apply(self, event: dict[str, Any]) -> None:
        """Fold one event in; unknown events are ignored (Spark writes many we do not show)."""
        if not isinstance(event, dict):
            raise EventError(f"an event must be a JSON object, got {type(event).__name__}")
        name = f.text(event, "Event", "event")
        handler = self._handlers.get(name)
        if handler is not None:
            handler(event, name)

    def _touch(self, ms: int | None) -> None:
        if ms is not None and (self._last_updated is None or ms > self._last_updated):
            self._last_updated = ms

    def _log_start(self, event: dict[str, Any], where: str) -> None:
        self._version = f.text(event, "Spark Version", where)

    def _app_start(self, event: dict[str, Any], where: str) -> None:
        self._name = f.text(event, "App Name", where)
        self._app_id = f.text(event, "App ID", where)
        self._start = f.integer(event, "Timestamp", where)
        self._user = f.text(event, "User", where, "")
        logs = f.mapping(event, "Driver Logs", where, optional=True)
        self._driver_logs = {str(k): str(v) for k, v in logs.items()}
        self._touch(self._start)

    def _app_end(self, event: dict[str, Any], where: str) -> None:
        self._end = f.integer(event, "Timestamp", where)
        self._touch(self._end)

    def _environment(self, event: dict[str, Any], where: str) -> None:
        self._spark_props = f.pairs(event, "Spark Properties", where)
        self._system_props = f.pairs(event, "System Properties", where)
        self._classpath = f.pairs(event, "Classpath Entries", where)

    def _executor_added(self, event: dict[str, Any], where: str) -> None:
        info = f.mapping(event, "Executor Info", where)
        logs = f.mapping(info, "Log Urls", where, optional=True)
        exec_id = f.text(event, "Executor ID", where)
        self._executors[exec_id] = Executor(
            exec_id=exec_id,
            host=f.text(info, "Host", where),
            cores=f.integer(info, "Total Cores", where),
            add_time=f.integer(event, "Timestamp", where),
            logs={str(k): str(v) for k, v in logs.items()},
        )
        self._touch(self._executors[exec_id].add_time)

    def _executor_removed(self, event: dict[str, Any], where: str) -> None:
        executor = self._executors.get(f.text(event, "Executor ID", where))
        if executor is not None:
            executor.is_active = False
            executor.remove_time = f.integer(event, "Timestamp", where)
            executor.remove_reason = f.text(event, "Removed Reason", where, "")
            self._touch(executor.remove_time)

    def _stage_of(self, info: dict[str, Any], where: str) -> Stage:
        """The stage a StageInfo names, made on first sight, its name and size refreshed."""
        key = (f.integer(info, "Stage ID", where), f.integer(info, "Stage Attempt ID", where, 0))
        stage = self._stages.get(key)
        if stage is None:
            earlier = self._attempts.setdefault(key[0], [])
            jobs = list(self._stages[(key[0], earlier[-1])].job_ids) if earlier else []
            stage = Stage(
                stage_id=key[0],
                attempt_id=key[1],
                name=f.text(info, "Stage Name", where, ""),
                num_tasks=f.integer(info, "Number of Tasks", where),
                parent_ids=f.integers(info, "Parent IDs", where),
                details=f.text(info, "Details", where, ""),
                job_ids=jobs,
            )
            self._stages[key] = stage
            earlier.append(key[1])
        return stage

    def _job_start(self, event: dict[str, Any], where: str) -> None:
        job_id = f.integer(event, "Job ID", where)
        infos = [i for i in f.items(event, "Stage Infos", where) if isinstance(i, dict)]
        stages = [self._stage_of(info, where) for info in infos]
        for stage in stages:
            if job_id not in stage.job_ids:
                stage.job_ids.append(job_id)
        ids = f.integers(event, "Stage IDs", where) or [s.stage_id for s in stages]
        last = max(stages, key=lambda s: s.stage_id, default=None)  # the result stage
        job = Job(
            job_id=job_id,
            name=last.name if last else f"job {job_id}",
            submission_time=f.optional_int(event, "Submission Time", where),
            stage_ids=ids,
            num_tasks=sum(s.num_tasks for s in stages),
        )
        self._jobs[job_id] = job
        self.job_counts["RUNNING"] += 1
        self._touch(job.submission_time)

    def _running_jobs(self, stage: Stage) -> list[Job]:
        return [job for job in self._jobs_of(stage) if job.status == "RUNNING"]

    def _jobs_of(self, stage: Stage) -> list[Job]:
        """The stage's jobs still retained, ended or not: a task of an aborted stage can end
        after its job failed, and still counts on it (as in Spark)."""
        return [job for job in map(self._jobs.get, stage.job_ids) if job is not None]

    def _stage_submitted(self, event: dict[str, Any], where: str) -> None:
        info = f.mapping(event, "Stage Info", where)
        stage = self._stage_of(info, where)
        if stage.status != "PENDING":
            return  # told twice
        stage.status = "ACTIVE"
        stage.num_tasks = f.integer(info, "Number of Tasks", where)
        stage.submission_time = f.optional_int(info, "Submission Time", where)
        self.stage_counts["ACTIVE"] += 1
        for job in self._running_jobs(stage):
            job.active_stages.add(stage.stage_id)
        self._touch(stage.submission_time)

    def _stage_completed(self, event: dict[str, Any], where: str) -> None:
        info = f.mapping(event, "Stage Info", where)
        stage = self._stage_of(info, where)
        if stage.finished:
            return
        failure = info.get("Failure Reason")
        if stage.status == "ACTIVE":
            self.stage_counts["ACTIVE"] -= 1
        stage.status = "FAILED" if failure is not None else "COMPLETE"
        self.stage_counts[stage.status] += 1
        stage.failure_reason = str(failure) if failure is not None else None
        stage.completion_time = f.optional_int(info, "Completion Time", where)
        if stage.submission_time is None:
            stage.submission_time = f.optional_int(info, "Submission Time", where)
        for job in self._running_jobs(stage):
            job.active_stages.discard(stage.stage_id)
            if failure is None:
                job.completed_stages.add(stage.stage_id)
            else:
                job.failed_stages += 1
        self._finish_stage(stage)
        self._touch(stage.completion_time)

    def _finish_stage(self, stage: Stage) -> None:
        self._finished_stages.append(stage.key)
        while len(self._stages) > self._retained_stages and self._finished_stages:
            key = self._finished_stages.popleft()
            gone = self._stages.pop(key, None)
            if gone is not None:
                attempts = self._attempts[key[0]]
                attempts.remove(key[1])
                if not attempts:
                    del self._attempts[key[0]]

    def _job_end(self, event: dict[str, Any], where: str) -> None:
        job = self._jobs.get(f.integer(event, "Job ID", where))
        if job is None or job.status != "RUNNING":
            return
        result = f.mapping(event, "Job Result", where)
        outcome = f.text(result, "Result", where)
        job.status = "SUCCEEDED" if outcome == "JobSucceeded" else "FAILED"
        if job.status == "FAILED":
            exception = f.mapping(result, "Exception", where, optional=True)
            job.error = str(exception.get("Message", outcome))
        job.completion_time = f.optional_int(event, "Completion Time", where)
        self.job_counts["RUNNING"] -= 1
        self.job_counts[job.status] += 1
        self._skip_unrun_stages(job)
        self._finished_jobs.append(job.job_id)
        while len(self._jobs) > self._retained_jobs and self._finished_jobs:
            self._jobs.pop(self._finished_jobs.popleft(), None)
        self._touch(job.completion_time)

    def _skip_unrun_stages(self, job: Job) -> None:
        """A stage the job listed but never ran (its output was there already) is skipped."""
        ran = job.completed_stages | job.active_stages
        for stage_id in job.stage_ids:
            attempts = self._attempts.get(stage_id, [])
            stage = self._stages[(stage_id, attempts[-1])] if attempts else None
            if stage_id in ran or (stage is not None and stage.status == "FAILED"):
                continue
            job.skipped_stages.add(stage_id)
            if stage is not None:
                job.skipped_tasks += stage.num_tasks
                if stage.status == "PENDING":
                    stage.status = "SKIPPED"
                    self.stage_counts["SKIPPED"] += 1
                    self._finish_stage(stage)
        job.active_stages.clear()

    def _task_of(self, stage: Stage | None, info: dict[str, Any], where: str) -> Task:
        task_id = f.integer(info, "Task ID", where)
        known = stage.tasks.get(task_id) if stage else None
        if known is not None:
            return known
        return Task(
            task_id=task_id,
            index=f.integer(info, "Index", where),
            attempt=f.integer(info, "Attempt", where, 0),
            partition_id=f.integer(info, "Partition ID", where, f.integer(info, "Index", where)),
            launch_time=f.integer(info, "Launch Time", where),
            executor_id=f.text(info, "Executor ID", where),
            host=f.text(info, "Host", where, ""),
            locality=f.text(info, "Locality", where, "ANY"),
            speculative=f.flag(info, "Speculative", where),
        )

    def _stage_key(self, event: dict[str, Any], where: str) -> tuple[int, int]:
        return f.integer(event, "Stage ID", where), f.integer(event, "Stage Attempt ID", where, 0)

    def _task_start(self, event: dict[str, Any], where: str) -> None:
        stage = self._stages.get(self._stage_key(event, where))
        task = self._task_of(stage, f.mapping(event, "Task Info", where), where)
        executor = self._executors.get(task.executor_id)
        if executor is not None:
            executor.active += 1
        self._touch(task.launch_time)
        if stage is None or task.task_id in stage.tasks:
            return  # a stage already forgotten, or told twice
        stage.tasks[task.task_id] = task
        stage.active += 1
        if stage.first_task_launched is None or task.launch_time < stage.first_task_launched:
            stage.first_task_launched = task.launch_time
        for job in self._running_jobs(stage):
            job.active_tasks += 1
        self._retain_tasks(stage)

    def _retain_tasks(self, stage: Stage) -> None:
        while len(stage.tasks) > self._retained_tasks and stage.finished_tasks:
            stage.tasks.pop(stage.finished_tasks.popleft(), None)

    def _task_end(self, event: dict[str, Any], where: str) -> None:
        stage = self._stages.get(self._stage_key(event, where))
        info = f.mapping(event, "Task Info", where)
        task = self._task_of(stage, info, where)
        if task.status != "RUNNING":
            return  # told twice
        started = stage is not None and task.task_id in stage.tasks
        reason = f.mapping(event, "Task End Reason", where)
        kind = f.text(reason, "Reason", where)
        raw = event.get("Task Metrics")
        task.metrics = tm.parse(f.mapping(event, "Task Metrics", where), where) if raw else None
        task.finish_time = f.integer(info, "Finish Time", where, 0)
        task.error = error_message(reason, where)
        if kind == "Success":
            task.status = "SUCCESS"
        elif kind == "TaskKilled" or f.flag(info, "Killed", where):
            task.status = "KILLED"
        else:
            task.status = "FAILED"
        self._count_on_executor(task, started or stage is None)
        if stage is not None:
            self._count_on_stage(stage, task, started)
        self._touch(task.finish_time or None)

    def _count_on_executor(self, task: Task, was_active: bool) -> None:
        executor = self._executors.get(task.executor_id)
        if executor is None:
            return
        if was_active and executor.active > 0:
            executor.active -= 1
        if task.status == "SUCCESS":
            executor.completed += 1
        elif task.status == "FAILED":
            executor.failed += 1
        executor.duration += task.duration(task.finish_time)
        if task.metrics is not None:
            m = task.metrics
            executor.input_bytes += m.input_bytes
            executor.shuffle_read += m.shuffle_read_bytes
            executor.shuffle_write += m.write_bytes
            executor.peak_rss = max(executor.peak_rss, m.peak_memory)

    def _count_on_stage(self, stage: Stage, task: Task, started: bool) -> None:
        if not started:
            stage.tasks[task.task_id] = task
        elif stage.active > 0:
            stage.active -= 1
        if task.metrics is not None:
            stage.totals.add(task.metrics)
        share = stage.by_executor.get(task.executor_id)
        if share is None:
            share = stage.by_executor[task.executor_id] = StageExecutor()
        share.count(task)
        new_index = False
        if task.status == "SUCCESS":
            stage.complete += 1
            new_index = task.index not in stage.completed_indices
            stage.completed_indices.add(task.index)
            stage.columns.add(task.duration(task.finish_time), task.metrics or tm.Metrics())
        elif task.status == "KILLED":
            stage.killed += 1
        else:
            stage.failed += 1
        for job in self._jobs_of(stage):
            if started and job.active_tasks > 0:
                job.active_tasks -= 1
            if task.status == "SUCCESS":
                job.completed_tasks += 1
                if new_index:
                    job.completed_indices.add(stage.stage_id << 32 | task.index)
            elif task.status == "KILLED":
                job.killed_tasks += 1
            else:
                job.failed_tasks += 1
        stage.finished_tasks.append(task.task_id)
        self._retain_tasks(stage)

    # ------------------------------------------------------------ reads (REST-shaped)

    @property
    def completed(self) -> bool:
        return self._end is not None

    @property
    def app_id(self) -> str | None:
        return self._app_id

    @property
    def name(self) -> str:
        return self._name

    def now_ms(self) -> int:
        """The time running tasks are measured to: the end, once the application ended."""
        return self._end if self._end is not None else self._clock()

    def application(self) -> dict[str, Any]:
        start = self._start if self._start is not None else NO_TIME
        end = self._end if self._end is not None else NO_TIME
        updated = self._last_updated if self._last_updated is not None else start
        attempt = {
            "startTime": rest_time(start),
            "endTime": rest_time(end),
            "lastUpdated": rest_time(updated),
            "duration": end - start if self._end is not None and self._start is not None else 0,
            "sparkUser": self._user,
            "completed": self.completed,
            "appSparkVersion": self._version,
            "startTimeEpoch": start,
            "endTimeEpoch": end,
            "lastUpdatedEpoch": updated,
        }
        return {"id": self._app_id or "", "name": self._name, "attempts": [attempt]}

    def jobs(self, status: str | None = None) -> list[dict[str, Any]]:
        """Newest first, as Spark lists them; ``status`` one of JOB_STATUSES."""
        wanted = _status(status, JOB_STATUSES)
        return [
            job.to_json()
            for job in reversed(self._jobs.values())
            if wanted is None or job.status == wanted
        ]

    def job(self, job_id: int) -> dict[str, Any] | None:
        job = self._jobs.get(job_id)
        return job.to_json() if job else None

    def job_error(self, job_id: int) -> str | None:
        job = self._jobs.get(job_id)
        return job.error if job else None

    def job_stage_status(self, job_id: int, stage_id: int) -> str | None:
        """A stage's status as one job saw it: SKIPPED there though it ran for another."""
        job = self._jobs.get(job_id)
        return "SKIPPED" if job and stage_id in job.skipped_stages else None

    def stages(self, status: str | None = None) -> list[dict[str, Any]]:
        """Newest first (by stage id, then attempt); ``status`` one of STAGE_STATUSES."""
        wanted = _status(status, STAGE_STATUSES)
        keys = sorted(self._stages, reverse=True)
        return [
            self._stages[k].to_json()
            for k in keys
            if wanted is None or self._stages[k].status == wanted
        ]

    def stage_attempts(self, stage_id: int) -> list[dict[str, Any]]:
        return [self._stages[(stage_id, a)].to_json() for a in self._attempts.get(stage_id, [])]

    def stage(self, stage_id: int, attempt: int) -> dict[str, Any] | None:
        """One attempt, with Spark's ``executorSummary`` (each executor's share) too."""
        stage = self._stages.get((stage_id, attempt))
        if stage is None:
            return None
        shares = {e: share.to_json() for e, share in sorted(stage.by_executor.items())}
        return {**stage.to_json(), "executorSummary": shares}

    def task_list(
        self, stage_id: int, attempt: int, offset: int = 0, length: int = 20, sort: str = "ID"
    ) -> list[dict[str, Any]] | None:
        """One page of a stage's kept tasks; ``sort`` one of TASK_SORTS (ValueError else).
        Runtime orders pick the page with a heap: O(n log page), never a full sort."""
        stage = self._stages.get((stage_id, attempt))
        if stage is None:
            return None
        if sort not in TASK_SORTS:
            raise ValueError(f"unknown task sort {sort!r}: use one of {', '.join(TASK_SORTS)}")
        offset, length = max(0, offset), max(0, length)
        now = self.now_ms()
        tasks = stage.tasks.values()
        page: list[Task]
        if sort == "ID":
            page = list(itertools.islice(tasks, offset, offset + length))
        elif sort == "-ID":
            page = list(itertools.islice(reversed(tasks), offset, offset + length))
        else:
            pick = heapq.nsmallest if sort in ("runtime", "increasing-runtime") else heapq.nlargest
            page = pick(offset + length, tasks, key=lambda t: t.duration(now))[offset:]
        return [task.to_json(now) for task in page]

    def task_count(self, stage_id: int, attempt: int) -> int:
        stage = self._stages.get((stage_id, attempt))
        return len(stage.tasks) if stage else 0

    def task_summary(
        self, stage_id: int, attempt: int, quantiles: Sequence[float] = DEFAULT_QUANTILES
    ) -> dict[str, Any] | None:
        """Quantiles over the stage's successful tasks (all of them, kept or not); None for
        an unknown stage, ``{"quantiles": [...]}`` alone before any task succeeded."""
        stage = self._stages.get((stage_id, attempt))
        if stage is None:
            return None
        return stage.columns.summary(quantiles) or {"quantiles": list(quantiles)}

    def executors(self, all_: bool = False) -> list[dict[str, Any]]:
        return [e.to_json() for e in self._executors.values() if all_ or e.is_active]

    def environment(self) -> dict[str, Any]:
        system = {k: v for k, v in self._system_props}
        # The contract's "python" key, or the driver's "python.version" (named like Java's
        # "java.version", which is what Spark's runtime table reads its version from).
        python = system.get("python") or system.get("python.version", "")
        return {
            "runtime": {
                "javaVersion": "",
                "javaHome": "",
                "scalaVersion": "",
                "pythonVersion": python,
            },
            "sparkProperties": [list(p) for p in self._spark_props],
            "systemProperties": [list(p) for p in self._system_props],
            "classpathEntries": [list(p) for p in self._classpath],
        }

    def driver_logs(self) -> dict[str, str]:
        return dict(self._driver_logs)


def _status(status: str | None, known: tuple[str, ...]) -> str | None:
    if status is None:
        return None
    wanted = status.upper()
    if wanted not in known:
        raise ValueError(f"unknown status {status!r}: use one of {', '.join(known)}")
    return wanted


def store_for_ui(conf: Conf) -> AppStore:
    """A store with the spark.ui.retained* limits: the driver's live one and each log the
    history server replays (Spark applies the same limits to both)."""
    return AppStore(
        retained_jobs=conf.get_int("spark.ui.retainedJobs"),
        retained_stages=conf.get_int("spark.ui.retainedStages"),
        retained_tasks=conf.get_int("spark.ui.retainedTasks"),
    )

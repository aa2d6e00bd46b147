"""Hand-written Spark listener events, field for field as docs/ui-interface's contract
spells them, for the store, REST, page and history server tests and the history benchmark
(the driver's own producer is tested against the same contract elsewhere, so these do not
import it). ``App`` builds one application's events in order; ``application`` is a whole
one-stage application and ``write`` puts events in a log file as the driver's writer does:
one event a line, plain or gzip, finished or ``.inprogress``.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

T0 = 1_800_000_000_000  # epoch ms: 2027-01-15T08:00:00.000GMT

Event = dict[str, Any]


def stage_info(
    stage_id: int,
    name: str,
    tasks: int,
    parents: list[int] | None = None,
    attempt: int = 0,
    **times: int | str,
) -> dict[str, Any]:
    info: dict[str, Any] = {
        "Stage ID": stage_id,
        "Stage Attempt ID": attempt,
        "Stage Name": name,
        "Number of Tasks": tasks,
        "Parent IDs": parents or [],
        "Details": f"{name}\n  at minispark",
        "RDD Info": [],
    }
    keys = {
        "submitted": "Submission Time",
        "completed": "Completion Time",
        "failure": "Failure Reason",
    }
    info.update({keys[k]: v for k, v in times.items()})
    return info


def task_metrics(
    *,
    run_ms: int = 5,
    input_bytes: int = 0,
    input_records: int = 0,
    shuffle_read: int = 0,
    shuffle_records_read: int = 0,
    shuffle_write: int = 0,
    shuffle_records_written: int = 0,
    peak_rss: int = 50 << 20,
) -> dict[str, Any]:
    return {
        "Executor Run Time": run_ms,
        "Executor CPU Time": run_ms * 900_000,
        "Result Size": 1200,
        "Peak Execution Memory": peak_rss,
        "Memory Bytes Spilled": 0,
        "Disk Bytes Spilled": 0,
        "Input Metrics": {"Bytes Read": input_bytes, "Records Read": input_records},
        "Output Metrics": {"Bytes Written": 0, "Records Written": 0},
        "Shuffle Read Metrics": {
            "Remote Blocks Fetched": 0,
            "Local Blocks Fetched": 2 if shuffle_read else 0,
            "Fetch Wait Time": 0,
            "Remote Bytes Read": 0,
            "Local Bytes Read": shuffle_read,
            "Total Records Read": shuffle_records_read,
        },
        "Shuffle Write Metrics": {
            "Shuffle Bytes Written": shuffle_write,
            "Shuffle Write Time": 100_000,
            "Shuffle Records Written": shuffle_records_written,
        },
    }


def failure(message: str, trace: str = "") -> dict[str, Any]:
    return {
        "Reason": "ExceptionFailure",
        "Class Name": "ValueError",
        "Description": message,
        "Full Stack Trace": trace,
        "Stack Trace": [],
    }


def where(stage: dict[str, Any]) -> dict[str, Any]:
    """The fields that place a task's events in its stage's attempt."""
    return {"Stage ID": stage["Stage ID"], "Stage Attempt ID": stage["Stage Attempt ID"]}


@dataclass
class App:
    """Builds one application's events in order, numbering tasks as a driver would."""

    name: str = "wordcount"
    app_id: str = "app-20270115080000-0000"
    user: str = "alice"
    start_ms: int = T0
    events: list[Event] = field(default_factory=list)
    next_task: int = 0

    def start(
        self,
        executors: int = 2,
        props: list[list[str]] | None = None,
        *,
        cores: int = 2,
        log_urls: bool = True,
    ) -> App:
        """The application's first events; ``log_urls`` False leaves the executors' log
        links out (the contract allows {}, as a driver without a worker's page sends)."""
        self.events += [
            {"Event": "SparkListenerLogStart", "Spark Version": "0.1.0"},
            {
                "Event": "SparkListenerApplicationStart",
                "App Name": self.name,
                "App ID": self.app_id,
                "Timestamp": self.start_ms,
                "User": self.user,
                "Driver Logs": {},
            },
            {
                "Event": "SparkListenerEnvironmentUpdate",
                "Spark Properties": props or [["spark.app.name", self.name]],
                "System Properties": [["python", "3.11.2"]],
                "Classpath Entries": [],
            },
        ]
        for n in range(executors):
            logs = {kind: self._log_url(n, kind) for kind in ("stdout", "stderr")}
            self.events.append(
                {
                    "Event": "SparkListenerExecutorAdded",
                    "Timestamp": self.start_ms + 10,
                    "Executor ID": str(n),
                    "Executor Info": {
                        "Host": "127.0.0.1",
                        "Total Cores": cores,
                        "Log Urls": logs if log_urls else {},
                    },
                }
            )
        return self

    def _log_url(self, executor: int, kind: str) -> str:
        return (
            f"http://127.0.0.1:8081/logPage/?appId={self.app_id}"
            f"&executorId={executor}&logType={kind}"
        )

    def job_start(self, job_id: int, at: int, *infos: dict[str, Any]) -> None:
        self.events.append(
            {
                "Event": "SparkListenerJobStart",
                "Job ID": job_id,
                "Submission Time": at,
                "Stage Infos": list(infos),
                "Stage IDs": [i["Stage ID"] for i in infos],
                "Properties": {},
            }
        )

    def stage_submitted(self, info: dict[str, Any], at: int) -> None:
        self.events.append(
            {
                "Event": "SparkListenerStageSubmitted",
                "Stage Info": {**info, "Submission Time": at},
                "Properties": {},
            }
        )

    def stage_completed(self, info: dict[str, Any], at: int, reason: str | None = None) -> None:
        done = {**info, "Completion Time": at}
        if reason is not None:
            done["Failure Reason"] = reason
        self.events.append({"Event": "SparkListenerStageCompleted", "Stage Info": done})

    def task_info(self, index: int, at: int, executor: str, attempt: int) -> dict[str, Any]:
        info = {
            "Task ID": self.next_task,
            "Index": index,
            "Attempt": attempt,
            "Partition ID": index,
            "Launch Time": at,
            "Executor ID": executor,
            "Host": "127.0.0.1",
            "Locality": "PROCESS_LOCAL",
            "Speculative": False,
            "Getting Result Time": 0,
            "Finish Time": 0,
            "Failed": False,
            "Killed": False,
        }
        self.next_task += 1
        return info

    def task(
        self,
        stage: dict[str, Any],
        index: int,
        at: int,
        took: int,
        *,
        executor: str = "0",
        attempt: int = 0,
        reason: dict[str, Any] | None = None,
        metrics: dict[str, Any] | None = None,
        kind: str = "ResultTask",
    ) -> dict[str, Any]:
        """One task's start and end; ``reason`` None is success."""
        info = self.task_started(stage, index, at, executor=executor, attempt=attempt)
        end = {**info, "Finish Time": at + took, "Failed": reason is not None}
        self.events.append(self.task_end(where(stage), end, kind, reason, metrics))
        return info

    def task_started(
        self, stage: dict[str, Any], index: int, at: int, *, executor: str = "0", attempt: int = 0
    ) -> dict[str, Any]:
        """A task's start alone (it is still running); its Task Info, to end it later."""
        info = self.task_info(index, at, executor, attempt)
        self.events.append({"Event": "SparkListenerTaskStart", **where(stage), "Task Info": info})
        return info

    @staticmethod
    def task_end(
        where: dict[str, Any],
        info: dict[str, Any],
        kind: str,
        reason: dict[str, Any] | None,
        metrics: dict[str, Any] | None,
    ) -> Event:
        return {
            "Event": "SparkListenerTaskEnd",
            **where,
            "Task Type": kind,
            "Task End Reason": reason or {"Reason": "Success"},
            "Task Info": info,
            "Task Metrics": metrics
            or task_metrics(run_ms=info["Finish Time"] - info["Launch Time"]),
        }

    def job_end(self, job_id: int, at: int, error: str | None = None) -> None:
        result: dict[str, Any] = {"Result": "JobSucceeded"}
        if error is not None:
            result = {"Result": "JobFailed", "Exception": {"Message": error}}
        self.events.append(
            {
                "Event": "SparkListenerJobEnd",
                "Job ID": job_id,
                "Completion Time": at,
                "Job Result": result,
            }
        )

    def end(self, at: int) -> None:
        self.events.append({"Event": "SparkListenerApplicationEnd", "Timestamp": at})


TRACE = (
    "Traceback (most recent call last):\n"
    '  File "wordcount.py", line 9, in parse\n'
    "    return int(word)\n"
    "ValueError: invalid literal for int() with base 10: 'x'\n"
)


def shuffle_job(app: App, job_id: int = 0, stage_base: int = 0, at: int = T0 + 1000) -> None:
    """A word count's job: 2 map tasks (stage 0, shuffle write), 2 reduce tasks (stage 1),
    the first reduce task failing once with a traceback and succeeding on its retry."""
    map_stage = stage_info(stage_base, "reduceByKey at wordcount.py:8", 2)
    result = stage_info(stage_base + 1, "collect at wordcount.py:9", 2, parents=[stage_base])
    app.job_start(job_id, at, map_stage, result)
    app.stage_submitted(map_stage, at + 1)
    for i in range(2):
        metrics = task_metrics(
            run_ms=100 + 50 * i,
            input_bytes=1000,
            input_records=10,
            shuffle_write=300,
            shuffle_records_written=4,
        )
        app.task(
            map_stage,
            i,
            at + 2,
            100 + 50 * i,
            executor=str(i),
            metrics=metrics,
            kind="ShuffleMapTask",
        )
    app.stage_completed(map_stage, at + 200)
    app.stage_submitted(result, at + 201)
    read = task_metrics(run_ms=20, shuffle_read=300, shuffle_records_read=4)
    app.task(
        result,
        0,
        at + 202,
        10,
        executor="0",
        reason=failure("invalid literal for int() with base 10: 'x'", TRACE),
    )
    app.task(result, 1, at + 202, 30, executor="1", metrics=read)
    app.task(result, 0, at + 215, 20, executor="1", attempt=1, metrics=read)
    app.stage_completed(result, at + 300)
    app.job_end(job_id, at + 301)


def application(
    app_id: str,
    name: str = "history test",
    *,
    tasks: int = 4,
    failed: int = 0,
    executors: int = 2,
    start_ms: int = T0,
    finished: bool = True,
) -> list[Event]:
    """One application's events in the order a driver posts them: one job of one stage of
    ``tasks`` tasks dealt round ``executors`` executors, the first ``failed`` of which fail
    once (with a traceback) and succeed on a second attempt. ``finished`` False stops after
    the last task, as the log of an application still running does."""
    app = App(name=name, app_id=app_id, user="tester", start_ms=start_ms)
    secret = ["spark.authenticate.secret", "*****"]
    app.start(executors, props=[["spark.app.name", name], secret], cores=1, log_urls=False)
    at = start_ms + 100
    stage = stage_info(0, "collect at history_test.py:1", tasks)
    app.job_start(0, at, stage)
    app.stage_submitted(stage, at)
    for index in range(tasks):
        flaky = index < failed
        for attempt in range(2 if flaky else 1):
            app.task(
                stage,
                index,
                at + app.next_task,
                5,
                executor=str(app.next_task % executors),
                attempt=attempt,
                reason=_first_try(index) if flaky and attempt == 0 else None,
                metrics=task_metrics(run_ms=5, input_bytes=1000, input_records=100),
            )
    if finished:
        end = at + app.next_task + 10
        app.stage_completed({**stage, "Submission Time": at}, end)
        app.job_end(0, end)
        app.end(end + 5)
    return app.events


def _first_try(index: int) -> dict[str, Any]:
    """Why a flaky task's first attempt failed: its partition's bad record."""
    trace = f"Traceback (most recent call last):\nValueError: bad {index}"
    return failure(f"bad record in partition {index}", trace)


def log_name(app_id: str, *, compress: bool = False, in_progress: bool = False) -> str:
    return app_id + (".gz" if compress else "") + (".inprogress" if in_progress else "")


def encode(events: Iterable[Event]) -> bytes:
    return b"".join(json.dumps(e, separators=(",", ":")).encode() + b"\n" for e in events)


def write(
    directory: Path,
    app_id: str,
    events: Iterable[Event],
    *,
    compress: bool = False,
    in_progress: bool = False,
    tail: bytes = b"",
) -> Path:
    """Write a log as the driver's writer names it; ``tail`` is appended raw (a torn line)."""
    data = encode(events) + tail
    path = directory / log_name(app_id, compress=compress, in_progress=in_progress)
    path.write_bytes(gzip.compress(data) if compress else data)
    return path

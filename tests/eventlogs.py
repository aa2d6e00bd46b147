"""Event logs for the history server's tests and benchmark, written as the driver writes
them: one Spark listener event per line, with the field names of the contract
(docs: the issue 14 interface; JsonProtocol's names), plain or gzip, finished or
``.inprogress``.

An application here is one job of one stage of ``tasks`` tasks on ``executors`` executors,
the first ``failed`` of which fail once (with a traceback) and succeed on a second attempt.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

START_MS = 1_790_000_000_000
Event = dict[str, Any]


def task_metrics(run_ms: int, records: int) -> dict[str, Any]:
    return {
        "Executor Run Time": run_ms,
        "Executor CPU Time": run_ms * 900_000,
        "Result Size": 1500,
        "Peak Execution Memory": 40 << 20,
        "Memory Bytes Spilled": 0,
        "Disk Bytes Spilled": 0,
        "Input Metrics": {"Bytes Read": records * 10, "Records Read": records},
        "Output Metrics": {"Bytes Written": 0, "Records Written": 0},
        "Shuffle Read Metrics": {
            "Remote Blocks Fetched": 0,
            "Local Blocks Fetched": 0,
            "Fetch Wait Time": 0,
            "Remote Bytes Read": 0,
            "Local Bytes Read": 0,
            "Total Records Read": 0,
        },
        "Shuffle Write Metrics": {
            "Shuffle Bytes Written": 0,
            "Shuffle Write Time": 0,
            "Shuffle Records Written": 0,
        },
    }


def stage_info(tasks: int, name: str, **times: int) -> dict[str, Any]:
    info: dict[str, Any] = {
        "Stage ID": 0,
        "Stage Attempt ID": 0,
        "Stage Name": name,
        "Number of Tasks": tasks,
        "Parent IDs": [],
        "Details": "",
        "RDD Info": [],
    }
    info.update(times)
    return info


def task_info(task_id: int, index: int, attempt: int, executor: str, launch: int) -> Event:
    return {
        "Task ID": task_id,
        "Index": index,
        "Attempt": attempt,
        "Partition ID": index,
        "Launch Time": launch,
        "Executor ID": executor,
        "Host": "127.0.0.1",
        "Locality": "PROCESS_LOCAL",
        "Speculative": False,
        "Getting Result Time": 0,
        "Finish Time": 0,
        "Failed": False,
        "Killed": False,
    }


def _task(
    task_id: int, index: int, attempt: int, *, executors: int, at: int, ok: bool
) -> list[Event]:
    info = task_info(task_id, index, attempt, str(task_id % executors), at)
    start = {"Event": "SparkListenerTaskStart", "Stage ID": 0, "Stage Attempt ID": 0}
    start["Task Info"] = info
    reason: dict[str, Any] = {"Reason": "Success"}
    if not ok:
        reason = {
            "Reason": "ExceptionFailure",
            "Class Name": "ValueError",
            "Description": f"bad record in partition {index}",
            "Full Stack Trace": f"Traceback (most recent call last):\nValueError: bad {index}",
            "Stack Trace": [],
        }
    end = {
        "Event": "SparkListenerTaskEnd",
        "Stage ID": 0,
        "Stage Attempt ID": 0,
        "Task Type": "ResultTask",
        "Task End Reason": reason,
        "Task Info": {**info, "Finish Time": at + 5, "Failed": not ok},
        "Task Metrics": task_metrics(5, 100),
    }
    return [start, end]


def application(
    app_id: str,
    name: str = "history test",
    *,
    tasks: int = 4,
    failed: int = 0,
    executors: int = 2,
    start_ms: int = START_MS,
    finished: bool = True,
) -> Iterator[Event]:
    """The events of one application, in the order a driver posts them."""
    yield {"Event": "SparkListenerLogStart", "Spark Version": "0.1.0"}
    yield {
        "Event": "SparkListenerApplicationStart",
        "App Name": name,
        "App ID": app_id,
        "Timestamp": start_ms,
        "User": "tester",
        "Driver Logs": {},
    }
    yield {
        "Event": "SparkListenerEnvironmentUpdate",
        "Spark Properties": [["spark.app.name", name], ["spark.authenticate.secret", "*****"]],
        "System Properties": [["python", "3.11"]],
        "Classpath Entries": [],
    }
    for n in range(executors):
        yield {
            "Event": "SparkListenerExecutorAdded",
            "Timestamp": start_ms + 10,
            "Executor ID": str(n),
            "Executor Info": {"Host": "127.0.0.1", "Total Cores": 1, "Log Urls": {}},
        }
    at = start_ms + 100
    stage = stage_info(tasks, "collect at history_test.py:1")
    yield {
        "Event": "SparkListenerJobStart",
        "Job ID": 0,
        "Submission Time": at,
        "Stage Infos": [stage],
        "Stage IDs": [0],
        "Properties": {},
    }
    yield {
        "Event": "SparkListenerStageSubmitted",
        "Stage Info": {**stage, "Submission Time": at},
        "Properties": {},
    }
    task_id = 0
    for index in range(tasks):
        for attempt, ok in enumerate([False, True] if index < failed else [True]):
            yield from _task(task_id, index, attempt, executors=executors, at=at + task_id, ok=ok)
            task_id += 1
    if not finished:
        return
    end = at + task_id + 10
    yield {
        "Event": "SparkListenerStageCompleted",
        "Stage Info": {**stage, "Submission Time": at, "Completion Time": end},
    }
    yield {
        "Event": "SparkListenerJobEnd",
        "Job ID": 0,
        "Completion Time": end,
        "Job Result": {"Result": "JobSucceeded"},
    }
    yield {"Event": "SparkListenerApplicationEnd", "Timestamp": end + 5}


def log_name(app_id: str, *, compress: bool = False, in_progress: bool = False) -> str:
    return app_id + (".gz" if compress else "") + (".inprogress" if in_progress else "")


def encode(events: Iterator[Event] | list[Event]) -> bytes:
    return b"".join(json.dumps(e, separators=(",", ":")).encode() + b"\n" for e in events)


def write(
    directory: Path,
    app_id: str,
    events: Iterator[Event] | list[Event],
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

"""Spark's listener events as plain JSON-able dicts, with JsonProtocol's field names.

The driver builds every event here, and the very same dicts feed the live application
store and the event log, so that the live UI and the history server agree by construction.
Only plain values go in (no objects), so one ``json.dumps`` writes an event as it is.

Times are epoch milliseconds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from ..protocol import TaskMetrics

Event = dict[str, Any]

LOG_START = "SparkListenerLogStart"
APPLICATION_START = "SparkListenerApplicationStart"
APPLICATION_END = "SparkListenerApplicationEnd"
ENVIRONMENT_UPDATE = "SparkListenerEnvironmentUpdate"
EXECUTOR_ADDED = "SparkListenerExecutorAdded"
EXECUTOR_REMOVED = "SparkListenerExecutorRemoved"
JOB_START = "SparkListenerJobStart"
JOB_END = "SparkListenerJobEnd"
STAGE_SUBMITTED = "SparkListenerStageSubmitted"
STAGE_COMPLETED = "SparkListenerStageCompleted"
TASK_START = "SparkListenerTaskStart"
TASK_END = "SparkListenerTaskEnd"

REDACTED = "*********(redacted)"
# Spark's spark.redaction.regex, plus "key$" and "credentials" for this project's settings
# (spark.authenticate.secret, minispark.ssl.keyPassword, ...).
SECRET_KEY = re.compile(r"(?i)secret|password|token|key$|credentials")


# ------------------------------------------------------------------ application


def log_start(version: str) -> Event:
    return {"Event": LOG_START, "Spark Version": version}


def application_start(
    *, name: str, app_id: str, time_ms: int, user: str, driver_logs: Mapping[str, str] | None = None
) -> Event:
    return {
        "Event": APPLICATION_START,
        "App Name": name,
        "App ID": app_id,
        "Timestamp": time_ms,
        "User": user,
        "Driver Logs": dict(driver_logs or {}),
    }


def application_end(time_ms: int) -> Event:
    return {"Event": APPLICATION_END, "Timestamp": time_ms}


def redact(properties: Iterable[tuple[str, str]]) -> list[list[str]]:
    """``[key, value]`` pairs sorted by key, the value of every secret-looking key hidden."""
    return [
        [key, REDACTED if SECRET_KEY.search(key) else value] for key, value in sorted(properties)
    ]


def environment_update(
    properties: Iterable[tuple[str, str]], system: Iterable[tuple[str, str]]
) -> Event:
    return {
        "Event": ENVIRONMENT_UPDATE,
        "JVM Information": {},
        "Spark Properties": redact(properties),
        "Hadoop Properties": [],
        "System Properties": [[k, v] for k, v in system],
        "Metrics Properties": [],
        "Classpath Entries": [],
    }


def executor_added(
    *, time_ms: int, exec_id: int, host: str, cores: int, log_urls: Mapping[str, str]
) -> Event:
    return {
        "Event": EXECUTOR_ADDED,
        "Timestamp": time_ms,
        "Executor ID": str(exec_id),
        "Executor Info": {"Host": host, "Total Cores": cores, "Log Urls": dict(log_urls)},
    }


def executor_removed(*, time_ms: int, exec_id: int, reason: str) -> Event:
    return {
        "Event": EXECUTOR_REMOVED,
        "Timestamp": time_ms,
        "Executor ID": str(exec_id),
        "Removed Reason": reason,
    }


# ------------------------------------------------------------------ jobs and stages


def stage_info(
    *,
    stage_id: int,
    attempt: int,
    name: str,
    num_tasks: int,
    parent_ids: list[int],
    details: str = "",
    submitted_ms: int | None = None,
    completed_ms: int | None = None,
    failure: str | None = None,
) -> Event:
    """Spark's StageInfo; the times and the failure are left out until they are known."""
    info: Event = {
        "Stage ID": stage_id,
        "Stage Attempt ID": attempt,
        "Stage Name": name,
        "Number of Tasks": num_tasks,
        "RDD Info": [],
        "Parent IDs": parent_ids,
        "Details": details,
    }
    if submitted_ms is not None:
        info["Submission Time"] = submitted_ms
    if completed_ms is not None:
        info["Completion Time"] = completed_ms
    if failure is not None:
        info["Failure Reason"] = failure
    return info


def job_start(*, job_id: int, time_ms: int, stages: list[Event]) -> Event:
    return {
        "Event": JOB_START,
        "Job ID": job_id,
        "Submission Time": time_ms,
        "Stage Infos": stages,
        "Stage IDs": [s["Stage ID"] for s in stages],
        "Properties": {},
    }


def job_end(*, job_id: int, time_ms: int, error: str | None = None) -> Event:
    result: Event = {"Result": "JobSucceeded"}
    if error is not None:
        result = {"Result": "JobFailed", "Exception": {"Message": error}}
    return {"Event": JOB_END, "Job ID": job_id, "Completion Time": time_ms, "Job Result": result}


def stage_submitted(info: Event) -> Event:
    return {"Event": STAGE_SUBMITTED, "Stage Info": info, "Properties": {}}


def stage_completed(info: Event) -> Event:
    return {"Event": STAGE_COMPLETED, "Stage Info": info}


# ------------------------------------------------------------------ tasks


def task_info(
    *,
    task_id: int,
    partition: int,
    attempt: int,
    launched_ms: int,
    exec_id: int,
    host: str,
    locality: str,
    finished_ms: int = 0,
    failed: bool = False,
) -> Event:
    return {
        "Task ID": task_id,
        "Index": partition,
        "Attempt": attempt,
        "Partition ID": partition,
        "Launch Time": launched_ms,
        "Executor ID": str(exec_id),
        "Host": host,
        "Locality": locality,
        "Speculative": False,
        "Getting Result Time": 0,
        "Finish Time": finished_ms,
        "Failed": failed,
        "Killed": False,
        "Accumulables": [],
    }


def task_start(*, stage_id: int, attempt: int, info: Event) -> Event:
    return {
        "Event": TASK_START,
        "Stage ID": stage_id,
        "Stage Attempt ID": attempt,
        "Task Info": info,
    }


def task_end(
    *,
    stage_id: int,
    attempt: int,
    map_task: bool,
    reason: Event,
    info: Event,
    metrics: TaskMetrics | None,
) -> Event:
    event: Event = {
        "Event": TASK_END,
        "Stage ID": stage_id,
        "Stage Attempt ID": attempt,
        "Task Type": "ShuffleMapTask" if map_task else "ResultTask",
        "Task End Reason": reason,
        "Task Info": info,
    }
    if metrics is not None:
        event["Task Metrics"] = task_metrics(metrics)
    return event


def task_metrics(m: TaskMetrics) -> Event:
    """The executor's figures under Spark's names (Executor CPU Time in ns, as Spark's)."""
    return {
        "Executor Deserialize Time": 0,
        "Executor Deserialize CPU Time": 0,
        "Executor Run Time": m.run_time_ms,
        "Executor CPU Time": m.cpu_time_ns,
        "Peak Execution Memory": m.peak_rss_bytes,
        "Result Size": m.result_bytes,
        "JVM GC Time": 0,
        "Result Serialization Time": 0,
        "Memory Bytes Spilled": m.memory_spilled_bytes,
        "Disk Bytes Spilled": m.disk_spilled_bytes,
        "Shuffle Read Metrics": {
            "Remote Blocks Fetched": m.shuffle_remote_blocks,
            "Local Blocks Fetched": m.shuffle_local_blocks,
            "Fetch Wait Time": m.shuffle_fetch_wait_ms,
            "Remote Bytes Read": m.shuffle_remote_bytes,
            "Remote Bytes Read To Disk": 0,
            "Local Bytes Read": m.shuffle_local_bytes,
            "Total Records Read": m.shuffle_read_records,
        },
        "Shuffle Write Metrics": {
            "Shuffle Bytes Written": m.shuffle_write_bytes,
            "Shuffle Write Time": m.shuffle_write_time_ns,
            "Shuffle Records Written": m.shuffle_write_records,
        },
        "Input Metrics": {"Bytes Read": m.input_bytes, "Records Read": m.input_records},
        "Output Metrics": {"Bytes Written": m.output_bytes, "Records Written": m.output_records},
        "Updated Blocks": [],
    }


SUCCESS: Event = {"Reason": "Success"}


def success() -> Event:
    return dict(SUCCESS)


def exception_failure(*, class_name: str, description: str, stack_trace: str) -> Event:
    return {
        "Reason": "ExceptionFailure",
        "Class Name": class_name,
        "Description": description,
        "Stack Trace": [],
        "Full Stack Trace": stack_trace,
        "Accumulator Updates": [],
    }


def fetch_failed(*, shuffle_id: int, map_id: int, message: str) -> Event:
    return {
        "Reason": "FetchFailed",
        "Block Manager Address": None,
        "Shuffle ID": shuffle_id,
        "Map ID": map_id,
        "Map Index": map_id,
        "Reduce ID": -1,
        "Message": message,
    }


def executor_lost_failure(*, exec_id: int, reason: str) -> Event:
    return {
        "Reason": "ExecutorLostFailure",
        "Executor ID": str(exec_id),
        "Exit Caused By App": True,
        "Loss Reason": reason,
    }

"""Hand-written Spark listener events, field for field as docs/ui-interface's contract
spells them, for the store, REST and page tests (the driver's own producer is tested
against the same contract elsewhere)."""

from __future__ import annotations

from dataclasses import dataclass, field
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


@dataclass
class App:
    """Builds one application's events in order, numbering tasks as a driver would."""

    name: str = "wordcount"
    app_id: str = "app-20270115080000-0000"
    events: list[Event] = field(default_factory=list)
    next_task: int = 0

    def start(self, executors: int = 2, props: list[list[str]] | None = None) -> App:
        self.events += [
            {"Event": "SparkListenerLogStart", "Spark Version": "0.1.0"},
            {
                "Event": "SparkListenerApplicationStart",
                "App Name": self.name,
                "App ID": self.app_id,
                "Timestamp": T0,
                "User": "alice",
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
            self.events.append(
                {
                    "Event": "SparkListenerExecutorAdded",
                    "Timestamp": T0 + 10,
                    "Executor ID": str(n),
                    "Executor Info": {
                        "Host": "127.0.0.1",
                        "Total Cores": 2,
                        "Log Urls": {
                            "stdout": f"http://127.0.0.1:8081/logPage/?appId={self.app_id}"
                            f"&executorId={n}&logType=stdout",
                            "stderr": f"http://127.0.0.1:8081/logPage/?appId={self.app_id}"
                            f"&executorId={n}&logType=stderr",
                        },
                    },
                }
            )
        return self

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
        info = self.task_info(index, at, executor, attempt)
        where = {"Stage ID": stage["Stage ID"], "Stage Attempt ID": stage["Stage Attempt ID"]}
        self.events.append({"Event": "SparkListenerTaskStart", **where, "Task Info": info})
        end = {**info, "Finish Time": at + took, "Failed": reason is not None}
        self.events.append(self.task_end(where, end, kind, reason, metrics))
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

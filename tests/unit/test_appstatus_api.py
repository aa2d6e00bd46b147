"""Spark's /api/v1 over an AppStore: the paths, Spark's field names and their values."""

from __future__ import annotations

from typing import Any

import pytest

from minispark.appstatus.store import AppStore
from tests.appevents import T0, App, shuffle_job

from .appweb import get

APP = "app-20270115080000-0000"
BASE = f"/api/v1/applications/{APP}"

JOB_FIELDS = set(
    [
        "jobId",
        "name",
        "submissionTime",
        "completionTime",
        "stageIds",
        "status",
        "numTasks",
        "numActiveTasks",
        "numCompletedTasks",
        "numSkippedTasks",
        "numFailedTasks",
        "numKilledTasks",
        "numCompletedIndices",
        "numActiveStages",
        "numCompletedStages",
        "numSkippedStages",
        "numFailedStages",
    ]
)
STAGE_FIELDS = set(
    [
        "status",
        "stageId",
        "attemptId",
        "numTasks",
        "numActiveTasks",
        "numCompleteTasks",
        "numFailedTasks",
        "numKilledTasks",
        "executorRunTime",
        "executorCpuTime",
        "submissionTime",
        "firstTaskLaunchedTime",
        "completionTime",
        "failureReason",
        "inputBytes",
        "inputRecords",
        "outputBytes",
        "outputRecords",
        "shuffleReadBytes",
        "shuffleReadRecords",
        "shuffleWriteBytes",
        "shuffleWriteRecords",
        "memoryBytesSpilled",
        "diskBytesSpilled",
        "name",
        "details",
    ]
)
TASK_FIELDS = set(
    [
        "taskId",
        "index",
        "attempt",
        "partitionId",
        "launchTime",
        "duration",
        "executorId",
        "host",
        "status",
        "taskLocality",
        "speculative",
        "errorMessage",
        "taskMetrics",
    ]
)
EXECUTOR_FIELDS = set(
    [
        "id",
        "hostPort",
        "isActive",
        "totalCores",
        "maxTasks",
        "activeTasks",
        "failedTasks",
        "completedTasks",
        "totalTasks",
        "totalDuration",
        "totalInputBytes",
        "totalShuffleRead",
        "totalShuffleWrite",
        "addTime",
        "removeTime",
        "removeReason",
        "executorLogs",
        "peakMemoryMetrics",
    ]
)
ATTEMPT_FIELDS = set(
    [
        "startTime",
        "endTime",
        "lastUpdated",
        "duration",
        "sparkUser",
        "completed",
        "appSparkVersion",
        "startTimeEpoch",
        "endTimeEpoch",
        "lastUpdatedEpoch",
    ]
)


@pytest.fixture(scope="module")
def store() -> AppStore:
    app = App().start()
    shuffle_job(app)
    app.end(T0 + 5000)
    found = AppStore()
    for event in app.events:
        found.apply(event)
    return found


def ok(store: AppStore, path: str) -> Any:
    status, body = get(store, path)
    assert status == 200, body
    return body


def test_applications(store: AppStore) -> None:
    (app,) = ok(store, "/api/v1/applications")
    assert (app["id"], app["name"]) == (APP, "wordcount")
    (attempt,) = app["attempts"]
    assert set(attempt) == ATTEMPT_FIELDS
    assert attempt["startTime"] == "2027-01-15T08:00:00.000GMT" and attempt["completed"] is True
    assert (attempt["duration"], attempt["sparkUser"]) == (5000, "alice")
    assert ok(store, "/api/v1/applications?status=completed") == [app]
    assert ok(store, "/api/v1/applications?status=running") == []
    assert ok(store, BASE) == app
    assert ok(store, "/api/v1/version") == {"spark": "0.1.0"}


def test_jobs_and_a_job(store: AppStore) -> None:
    (job,) = ok(store, BASE + "/jobs")
    assert set(job) >= JOB_FIELDS
    assert (job["jobId"], job["status"], job["numTasks"], job["numCompletedTasks"]) == (
        0,
        "SUCCEEDED",
        4,
        4,
    )
    assert (job["numFailedTasks"], job["numCompletedStages"]) == (1, 2)
    assert ok(store, BASE + "/jobs/0") == job
    assert ok(store, BASE + "/jobs?status=succeeded") == [job]
    assert ok(store, BASE + "/jobs?status=failed") == []


def test_stages_tasks_and_their_summary(store: AppStore) -> None:
    stages = ok(store, BASE + "/stages")
    assert [(s["stageId"], s["status"]) for s in stages] == [(1, "COMPLETE"), (0, "COMPLETE")]
    assert all(set(s) >= STAGE_FIELDS for s in stages)
    assert (stages[1]["shuffleWriteBytes"], stages[0]["shuffleReadBytes"]) == (600, 600)
    assert (stages[1]["inputBytes"], stages[1]["inputRecords"]) == (2000, 20)
    assert ok(store, BASE + "/stages?status=complete") == stages
    assert ok(store, BASE + "/stages/1") == [stages[0]]
    detail = ok(store, BASE + "/stages/1/0")
    assert detail == {**stages[0], "executorSummary": detail["executorSummary"]}
    assert detail["executorSummary"]["1"]["shuffleRead"] == 600
    tasks = ok(store, BASE + "/stages/1/0/taskList")
    assert all(set(t) == TASK_FIELDS for t in tasks)
    assert [t["status"] for t in tasks] == ["FAILED", "SUCCESS", "SUCCESS"]
    assert set(tasks[1]["taskMetrics"]) == {
        "executorRunTime",
        "executorCpuTime",
        "resultSize",
        "peakExecutionMemory",
        "memoryBytesSpilled",
        "diskBytesSpilled",
        "inputMetrics",
        "outputMetrics",
        "shuffleReadMetrics",
        "shuffleWriteMetrics",
    }
    assert tasks[1]["taskMetrics"]["shuffleReadMetrics"] == {
        "remoteBlocksFetched": 0,
        "localBlocksFetched": 2,
        "fetchWaitTime": 0,
        "remoteBytesRead": 0,
        "localBytesRead": 300,
        "recordsRead": 4,
    }
    slowest = ok(store, BASE + "/stages/1/0/taskList?sortBy=-runtime&length=1")
    assert [t["taskId"] for t in slowest] == [3]
    summary = ok(store, BASE + "/stages/1/0/taskSummary?quantiles=0.5,1")
    assert summary["quantiles"] == [0.5, 1.0] and summary["duration"] == [30.0, 30.0]


def test_executors_and_environment(store: AppStore) -> None:
    executors = ok(store, BASE + "/executors")
    assert [e["id"] for e in executors] == ["0", "1"]
    assert all(set(e) >= EXECUTOR_FIELDS for e in executors)
    assert ok(store, BASE + "/allexecutors") == executors
    assert (executors[1]["completedTasks"], executors[1]["totalShuffleRead"]) == (3, 600)
    env = ok(store, BASE + "/environment")
    assert set(env) == {"runtime", "sparkProperties", "systemProperties", "classpathEntries"}
    assert env["sparkProperties"] == [["spark.app.name", "wordcount"]]


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/api/v1/applications/app-nope/jobs", 404, "no such application: app-nope"),
        (BASE + "/jobs/9", 404, "no such job: 9"),
        (BASE + "/jobs/nine", 400, "job must be an integer, got 'nine'"),
        (BASE + "/stages/7", 404, "no such stage: 7"),
        (BASE + "/stages/1/3", 404, "no such stage attempt: 1/3"),
        (BASE + "/stages/1/3/taskList", 404, "no such stage attempt: 1/3"),
        (BASE + "/jobs?status=done", 400, "unknown status 'done': use one of RUNNING"),
        (BASE + "/stages/1/0/taskList?sortBy=fast", 400, "unknown task sort 'fast'"),
        (BASE + "/stages/1/0/taskList?offset=x", 400, "offset must be an integer, got 'x'"),
        (BASE + "/stages/1/0/taskSummary?quantiles=2", 400, "quantiles must be numbers in [0, 1]"),
        ("/api/v1/applications?status=old", 400, "unknown status 'old'"),
    ],
)
def test_unknown_things_and_bad_parameters_say_what(
    store: AppStore, path: str, status: int, message: str
) -> None:
    got, body = get(store, path)
    assert got == status
    assert message in body["message"]

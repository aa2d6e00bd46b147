"""AppStore over hand-written event sequences that follow the issue 14 contract."""

from __future__ import annotations

import time
from typing import Any

import pytest

from minispark.appstatus import metrics
from minispark.appstatus.store import AppStore, EventError
from tests.appevents import (
    T0,
    TRACE,
    App,
    failure,
    shuffle_job,
    stage_info,
    task_metrics,
    where,
)


def _store(app: App, **limits: int) -> AppStore:
    store = AppStore(clock=lambda: T0 + 60_000, **limits)
    for event in app.events:
        store.apply(event)
    return store


def _word_count() -> AppStore:
    app = App().start()
    shuffle_job(app)
    app.end(T0 + 5000)
    return _store(app)


def test_a_job_with_a_shuffle_is_two_stages_with_their_bytes() -> None:
    store = _word_count()
    (job,) = store.jobs()
    assert {k: job[k] for k in job if k.startswith("num") or k in ("status", "stageIds")} == {
        "status": "SUCCEEDED",
        "stageIds": [0, 1],
        "numTasks": 4,
        "numActiveTasks": 0,
        "numCompletedTasks": 4,
        "numSkippedTasks": 0,
        "numFailedTasks": 1,
        "numKilledTasks": 0,
        "numCompletedIndices": 4,
        "numActiveStages": 0,
        "numCompletedStages": 2,
        "numSkippedStages": 0,
        "numFailedStages": 0,
    }
    assert job["name"] == "collect at wordcount.py:9"  # the result stage's call site
    assert job["submissionTime"] == "2027-01-15T08:00:01.000GMT"
    assert job["completionTime"] == "2027-01-15T08:00:01.301GMT"
    reduce, map_ = store.stages()  # newest first
    assert (map_["stageId"], map_["status"], reduce["stageId"], reduce["status"]) == (
        0,
        "COMPLETE",
        1,
        "COMPLETE",
    )
    assert (map_["inputBytes"], map_["inputRecords"]) == (2000, 20)
    assert (map_["shuffleWriteBytes"], map_["shuffleWriteRecords"]) == (600, 8)
    assert (reduce["shuffleReadBytes"], reduce["shuffleReadRecords"]) == (600, 8)
    assert map_["executorRunTime"] == 100 + 150
    assert reduce["parentIds"] == [0] and reduce["jobIds"] == [0]
    assert map_["submissionTime"] == "2027-01-15T08:00:01.001GMT"
    assert map_["firstTaskLaunchedTime"] == "2027-01-15T08:00:01.002GMT"
    assert map_["completionTime"] == "2027-01-15T08:00:01.200GMT"
    assert store.stage_attempts(0) == [map_]
    detail = store.stage(0, 0) or {}
    shares = detail.pop("executorSummary")
    assert detail == map_
    assert list(shares) == ["0", "1"]  # each map task ran on its own executor
    assert (shares["1"]["taskTime"], shares["1"]["succeededTasks"]) == (150, 1)
    assert (shares["1"]["inputBytes"], shares["1"]["shuffleWrite"]) == (1000, 300)
    reduce_shares = (store.stage(1, 0) or {})["executorSummary"]
    assert (reduce_shares["0"]["failedTasks"], reduce_shares["1"]["succeededTasks"]) == (1, 2)
    assert store.stage(0, 1) is None and store.job(7) is None


def test_a_failed_task_retried_then_succeeding() -> None:
    store = _word_count()
    stage = store.stage(1, 0)
    assert stage is not None
    assert (stage["numCompleteTasks"], stage["numFailedTasks"], stage["numCompletedIndices"]) == (
        2,
        1,
        2,
    )
    tasks = store.task_list(1, 0)
    assert tasks is not None
    assert [(t["taskId"], t["index"], t["attempt"], t["status"]) for t in tasks] == [
        (2, 0, 0, "FAILED"),
        (3, 1, 0, "SUCCESS"),
        (4, 0, 1, "SUCCESS"),
    ]
    assert tasks[0]["errorMessage"] == TRACE and tasks[1]["errorMessage"] is None
    assert [t["duration"] for t in tasks] == [10, 30, 20]
    assert tasks[1]["taskMetrics"]["shuffleReadMetrics"]["localBytesRead"] == 300
    assert tasks[0]["launchTime"] == "2027-01-15T08:00:01.202GMT"
    by_runtime = store.task_list(1, 0, sort="-runtime")
    assert [t["taskId"] for t in by_runtime or []] == [3, 4, 2]
    assert [
        t["taskId"] for t in store.task_list(1, 0, offset=1, length=1, sort="runtime") or []
    ] == [4]
    assert [t["taskId"] for t in store.task_list(1, 0, sort="-ID") or []] == [4, 3, 2]
    with pytest.raises(ValueError, match="unknown task sort 'fastest': use one of ID"):
        store.task_list(1, 0, sort="fastest")
    # The summary covers the successful tasks only, with Spark's quantile rule.
    summary = store.task_summary(1, 0)
    assert summary is not None
    assert summary["quantiles"] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert summary["duration"] == [20.0, 20.0, 30.0, 30.0, 30.0]
    assert summary["shuffleReadMetrics"]["readBytes"] == [300.0] * 5
    first, second = store.executors()
    assert (first["id"], first["completedTasks"], first["failedTasks"], first["totalTasks"]) == (
        "0",
        1,
        1,
        2,
    )
    assert (second["completedTasks"], second["totalShuffleRead"], second["totalShuffleWrite"]) == (
        3,
        600,
        300,
    )
    assert first["totalDuration"] == 100 + 10 and first["totalInputBytes"] == 1000
    assert first["peakMemoryMetrics"] == {"ProcessTreePythonRSSMemory": 50 << 20}
    assert first["executorLogs"]["stdout"].endswith("executorId=0&logType=stdout")


def _failed_job(app: App) -> None:
    map_stage = stage_info(0, "map at job.py:3", 1)
    result = stage_info(1, "collect at job.py:4", 3, parents=[0])
    app.job_start(0, T0 + 100, map_stage, result)
    app.stage_submitted(map_stage, T0 + 101)
    for attempt in range(2):
        app.task(map_stage, 0, T0 + 102 + attempt, 1, attempt=attempt, reason=failure("boom"))
    app.stage_completed(map_stage, T0 + 110, reason="Task 0 failed 2 times: ValueError: boom")
    app.job_end(0, T0 + 111, error="Job aborted due to stage failure: ValueError: boom")


def test_a_failed_job_names_its_failed_stage_and_skips_the_rest() -> None:
    app = App().start()
    _failed_job(app)
    store = _store(app)
    (job,) = store.jobs("failed")
    assert (job["status"], job["numFailedTasks"], job["numFailedStages"]) == ("FAILED", 2, 1)
    assert (job["numSkippedStages"], job["numSkippedTasks"], job["numCompletedTasks"]) == (1, 3, 0)
    assert store.job_error(0) == "Job aborted due to stage failure: ValueError: boom"
    failed, skipped = store.stages("FAILED"), store.stages("skipped")
    assert [s["stageId"] for s in failed] == [0] and [s["stageId"] for s in skipped] == [1]
    assert failed[0]["failureReason"] == "Task 0 failed 2 times: ValueError: boom"
    task = (store.task_list(0, 0) or [])[0]
    assert task["errorMessage"] == "ValueError: boom"  # no traceback sent: class and message
    assert store.task_summary(0, 0) == {"quantiles": [0.0, 0.25, 0.5, 0.75, 1.0]}
    assert store.jobs("succeeded") == [] and store.jobs("RUNNING") == []
    with pytest.raises(ValueError, match="unknown status 'done': use one of RUNNING"):
        store.jobs("done")


def test_a_second_job_skips_the_shuffle_stage_it_reuses() -> None:
    app = App().start()
    shuffle_job(app)
    reused = stage_info(0, "reduceByKey at wordcount.py:8", 2)
    again = stage_info(2, "count at wordcount.py:11", 2, parents=[0])
    app.job_start(1, T0 + 2000, reused, again)
    app.stage_submitted(again, T0 + 2001)
    for i in range(2):
        app.task(again, i, T0 + 2002, 5)
    app.stage_completed(again, T0 + 2010)
    app.job_end(1, T0 + 2011)
    store = _store(app)
    second = store.job(1)
    assert second is not None
    assert (
        second["numSkippedStages"],
        second["numSkippedTasks"],
        second["numCompletedStages"],
    ) == (
        1,
        2,
        1,
    )
    assert store.job_stage_status(1, 0) == "SKIPPED" and store.job_stage_status(0, 0) is None
    assert (store.stage(0, 0) or {})["status"] == "COMPLETE"  # it ran, for job 0
    assert (store.stage(0, 0) or {})["jobIds"] == [0, 1]


def test_a_stage_retried_after_a_fetch_failure_has_two_attempts() -> None:
    app = App().start()
    result = stage_info(0, "collect at r.py:1", 1)
    app.job_start(0, T0, result)
    app.stage_submitted(result, T0 + 1)
    fetch = {"Reason": "FetchFailed", "Shuffle ID": 0, "Map ID": 3, "Message": "gone"}
    app.task(result, 0, T0 + 2, 1, reason=fetch)
    app.stage_completed(result, T0 + 5, reason="fetch failure")
    retry = stage_info(0, "collect at r.py:1", 1, attempt=1)
    app.stage_submitted(retry, T0 + 6)
    app.task(retry, 0, T0 + 7, 1)
    app.stage_completed(retry, T0 + 9)
    app.job_end(0, T0 + 10)
    store = _store(app)
    attempts = store.stage_attempts(0)
    assert [(s["attemptId"], s["status"]) for s in attempts] == [(0, "FAILED"), (1, "COMPLETE")]
    assert attempts[1]["jobIds"] == [0]
    error = (store.task_list(0, 0) or [])[0]["errorMessage"]
    assert error == "FetchFailed(shuffleId=0, mapId=3, message=gone)"
    job = store.job(0) or {}
    assert (job["status"], job["numFailedStages"], job["numCompletedStages"]) == ("SUCCEEDED", 1, 1)
    assert (job["numCompletedIndices"], job["numSkippedStages"]) == (1, 0)


def test_retention_forgets_old_jobs_stages_and_tasks_but_counts_them_all() -> None:
    app = App().start()
    for job_id in range(5):
        stage = stage_info(job_id, f"count at r.py:{job_id}", 30)
        app.job_start(job_id, T0 + job_id * 1000, stage)
        app.stage_submitted(stage, T0 + job_id * 1000)
        for i in range(30):
            app.task(stage, i, T0 + job_id * 1000 + i, i + 1)
        app.stage_completed(stage, T0 + job_id * 1000 + 500)
        app.job_end(job_id, T0 + job_id * 1000 + 501)
    store = _store(app, retained_jobs=2, retained_stages=3, retained_tasks=10)
    assert [j["jobId"] for j in store.jobs()] == [4, 3]
    assert store.job_counts["SUCCEEDED"] == 5 and store.job_counts["RUNNING"] == 0
    assert [s["stageId"] for s in store.stages()] == [4, 3, 2]
    assert store.stage_counts["COMPLETE"] == 5
    stage = store.stage(4, 0) or {}
    assert (stage["numCompleteTasks"], stage["numCompletedIndices"]) == (30, 30)
    kept = store.task_list(4, 0, length=100) or []
    assert [t["index"] for t in kept] == list(range(20, 30))  # the newest ten
    summary = store.task_summary(4, 0) or {}
    assert summary["duration"][0] == 1.0 and summary["duration"][-1] == 30.0  # all 30 tasks


def test_executors_removed_are_listed_only_among_all() -> None:
    app = App().start(executors=2)
    app.events.append(
        {
            "Event": "SparkListenerExecutorRemoved",
            "Timestamp": T0 + 50,
            "Executor ID": "1",
            "Removed Reason": "worker lost",
        }
    )
    store = _store(app)
    assert [e["id"] for e in store.executors()] == ["0"]
    gone = store.executors(all_=True)[1]
    assert (gone["isActive"], gone["removeReason"]) == (False, "worker lost")
    assert gone["removeTime"] == "2027-01-15T08:00:00.050GMT"


def test_the_application_while_running_and_once_ended() -> None:
    app = App().start()
    store = _store(app)
    (attempt,) = store.application()["attempts"]
    assert (attempt["completed"], attempt["endTimeEpoch"], attempt["duration"]) == (False, -1, 0)
    assert attempt["endTime"] == "1969-12-31T23:59:59.999GMT"  # Spark's "not ended"
    assert (attempt["sparkUser"], attempt["appSparkVersion"]) == ("alice", "0.1.0")
    assert not store.completed and store.app_id == "app-20270115080000-0000"
    store.apply({"Event": "SparkListenerApplicationEnd", "Timestamp": T0 + 9000})
    (attempt,) = store.application()["attempts"]
    assert (attempt["completed"], attempt["duration"], attempt["endTimeEpoch"]) == (
        True,
        9000,
        T0 + 9000,
    )
    assert attempt["lastUpdatedEpoch"] == T0 + 9000
    env = store.environment()
    assert env["sparkProperties"] == [["spark.app.name", "wordcount"]]
    assert env["systemProperties"] == [["python", "3.11.2"]]
    assert env["runtime"]["pythonVersion"] == "3.11.2" and env["classpathEntries"] == []


def test_a_running_task_counts_as_active_and_its_duration_grows() -> None:
    app = App().start()
    stage = stage_info(0, "count at r.py:1", 2)
    app.job_start(0, T0, stage)
    app.stage_submitted(stage, T0)
    app.task_started(stage, 0, T0 + 100)
    store = _store(app)
    assert (store.job(0) or {})["numActiveTasks"] == 1
    assert (store.stage(0, 0) or {})["numActiveTasks"] == 1
    assert store.executors()[0]["activeTasks"] == 1
    (task,) = store.task_list(0, 0) or []
    assert (task["status"], task["duration"]) == ("RUNNING", 60_000 - 100)


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (
            {"Event": "SparkListenerJobStart", "Job ID": "one", "Stage Infos": []},
            "'Job ID' must be an integer",
        ),
        (
            {"Event": "SparkListenerTaskEnd", "Stage ID": 0},
            "'Task Info' must be an object (missing)",
        ),
        ({"Event": 3}, "'Event' must be a string"),
        (
            {"Event": "SparkListenerEnvironmentUpdate", "Spark Properties": [["a"]]},
            "'Spark Properties' must be a list of [key, value] string pairs",
        ),
    ],
)
def test_a_bad_field_is_named(event: dict[str, Any], message: str) -> None:
    store = _word_count()
    with pytest.raises(EventError) as raised:
        store.apply(event)
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)
    assert store.jobs()[0]["numCompletedTasks"] == 4  # the store is as it was


def test_unknown_events_are_ignored() -> None:
    store = _word_count()
    store.apply({"Event": "SparkListenerBlockManagerAdded", "Block Manager ID": {}})
    store.apply({"Event": "org.apache.spark.sql.execution.ui.SparkListenerSQLExecutionStart"})
    assert len(store.jobs()) == 1
    with pytest.raises(EventError, match="an event must be a JSON object, got list"):
        store.apply([])  # type: ignore[arg-type]


def test_one_hundred_thousand_tasks_replay_and_summarise() -> None:
    app = App().start(executors=4)
    stage = stage_info(0, "count at big.py:1", 100_000)
    app.job_start(0, T0, stage)
    app.stage_submitted(stage, T0)
    metrics = task_metrics(run_ms=3, input_bytes=64, input_records=1)
    for i in range(100_000):
        app.task(stage, i, T0 + i, 1 + i % 100, executor=str(i % 4), metrics=metrics)
    app.stage_completed(stage, T0 + 100_000)
    app.job_end(0, T0 + 100_001)
    started = time.perf_counter()
    store = _store(app)
    applied = time.perf_counter()
    summary = store.task_summary(0, 0) or {}
    first = time.perf_counter()
    assert store.task_summary(0, 0) == summary
    again = time.perf_counter()
    print(
        f"\n{len(app.events)} events applied in {applied - started:.2f} s; "
        f"summary {first - applied:.3f} s, cached {again - first:.6f} s"
    )
    job = store.job(0) or {}
    assert (job["numCompletedTasks"], job["numCompletedIndices"]) == (100_000, 100_000)
    # 1..100 ms, a thousand tasks each: index q * n of the sorted durations, as Spark picks
    assert summary["duration"] == [1.0, 26.0, 51.0, 76.0, 100.0]
    assert (store.stage(0, 0) or {})["inputBytes"] == 64 * 100_000
    assert sum(e["completedTasks"] for e in store.executors()) == 100_000
    page = store.task_list(0, 0, offset=99_990, length=20) or []
    assert [t["index"] for t in page] == list(range(99_990, 100_000))


@pytest.mark.parametrize(
    ("metrics", "message"),
    [
        ({"Executor Run Time": "5"}, "Task Metrics: field 'Executor Run Time' must be an integer"),
        ({"Input Metrics": {"Bytes Read": True}}, "Input Metrics: field 'Bytes Read' must be an"),
        ({"Shuffle Read Metrics": []}, "field 'Shuffle Read Metrics' must be an object"),
    ],
)
def test_a_bad_task_metric_is_named(metrics: dict[str, Any], message: str) -> None:
    app = App().start()
    stage = stage_info(0, "count at r.py:1", 1)
    app.job_start(0, T0, stage)
    app.stage_submitted(stage, T0)
    app.task(stage, 0, T0, 1)
    app.events[-1]["Task Metrics"] = metrics
    with pytest.raises(EventError, match="SparkListenerTaskEnd") as raised:
        _store(app)
    assert message in str(raised.value)


@pytest.mark.parametrize("null_group", [None, "Output Metrics"])
def test_every_task_metric_lands_in_its_own_figure(null_group: str | None) -> None:
    # The fast path reads the fields spelt out; LAYOUT is the table they must agree with.
    raw: dict[str, Any] = {}
    for n, (_, group, key) in enumerate(metrics.LAYOUT, start=1):
        (raw.setdefault(group, {}) if group else raw)[key] = n
    if null_group is not None:
        raw[null_group] = None  # a writer that leaves a group out as null: zeros
    parsed = metrics.parse(raw, "TaskEnd")
    for n, (attribute, group, _) in enumerate(metrics.LAYOUT, start=1):
        assert getattr(parsed, attribute) == (0 if group == null_group else n), attribute


def test_the_runtime_s_python_version_comes_from_the_driver_s_python_version_property() -> None:
    # What SparkContext posts: Java-style dotted names ("python.version", like "java.version").
    store = AppStore()
    store.apply(
        {
            "Event": "SparkListenerEnvironmentUpdate",
            "Spark Properties": [],
            "System Properties": [
                ["python.executable", "/usr/bin/python3"],
                ["python.version", "3.11.7"],
            ],
            "Classpath Entries": [],
        }
    )
    assert store.environment()["runtime"]["pythonVersion"] == "3.11.7"


def test_a_task_that_ends_after_its_job_failed_still_counts_on_the_job() -> None:
    # A sibling of the failing task is still running when the stage aborts; its end comes
    # after the JobEnd (as on a real cluster). Spark counts it on the job, and the job must
    # not show a task running forever.
    app = App().start()
    stage = stage_info(0, "collect at late.py:3", 2)
    app.job_start(0, T0, stage)
    app.stage_submitted(stage, T0)
    slow = app.task_started(stage, 0, T0 + 1)
    app.task(stage, 1, T0 + 1, 2, executor="1", reason=failure("bad"))
    app.stage_completed(stage, T0 + 5, reason="Task 1 in stage 0 failed 1 times")
    app.job_end(0, T0 + 5, error="Job aborted due to stage failure")
    app.events.append(
        App.task_end(where(stage), {**slow, "Finish Time": T0 + 900}, "ResultTask", None, None)
    )
    (job,) = _store(app).jobs()
    counts = ("status", "numActiveTasks", "numCompletedTasks", "numFailedTasks")
    assert [job[k] for k in counts] == ["FAILED", 0, 1, 1]

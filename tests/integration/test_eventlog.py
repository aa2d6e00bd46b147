"""Event logs written by real applications on real daemons, read back line by line."""

from __future__ import annotations

import contextlib
import inspect
import json
import os
import signal
import subprocess
import sys
from collections import Counter
from operator import add
from pathlib import Path
from typing import Any

import fsspec
import pytest

from minispark import SparkContext
from minispark.driver.scheduler import SparkJobError
from tests.s3server import S3Server, s3  # noqa: F401 (the fixture)

from .harness import Cluster, app_conf, http, url_of, web_headers

LINES = [f"w{i % 7} w{i % 3} w{i % 11}" for i in range(3000)]


def _events(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def _of(events: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [e for e in events if e["Event"] == f"SparkListener{name}"]


def _word_count(sc: SparkContext, source: str) -> dict[str, int]:
    words = sc.textFile(source, minPartitions=4).flatMap(str.split)
    return dict(words.map(lambda w: (w, 1)).reduceByKey(add, 3).collect())


def _run(sc: SparkContext, source: str) -> None:
    # Defined here, not at module level: executors cannot import the tests package, so the
    # function must travel by value.
    def explode(x: int) -> int:
        if x == 7:
            raise ValueError(f"bad record {x}")
        return x

    assert _word_count(sc, source) == Counter(w for line in LINES for w in line.split())
    with pytest.raises(SparkJobError, match="bad record 7"):
        sc.parallelize(range(10), 2).map(explode).collect()


def test_event_log_of_a_job_with_a_shuffle_and_a_failing_task(tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_text("".join(line + "\n" for line in LINES))
    logs = tmp_path / "logs"
    conf = app_conf(
        "local-cluster[2,1,512]",
        "spark.eventLog.enabled=true",
        f"spark.eventLog.dir={logs}",
        "spark.task.maxFailures=2",
        "spark.authenticate.secret=do-not-log-me",
    )
    with SparkContext(conf=conf) as sc:
        _run(sc, str(source))
        assert sc._local is not None
        written = sum(p.stat().st_size for p in sc._local.dir.rglob("shuffle_*.data"))
        live = list(logs.iterdir())
        assert [p.name for p in live] == [f"{sc.applicationId}.inprogress"]
        executors = _of(_events(live[0].read_text()), "ExecutorAdded")
        assert len(executors) == 2
        for executor in executors:  # the worker serves each executor's logs there
            url = executor["Executor Info"]["Log Urls"]["stderr"]
            status, _ = http(url, headers=web_headers(["spark.authenticate.secret=do-not-log-me"]))
            assert status == 200
        app_id = sc.applicationId
    text = (logs / app_id).read_text()
    assert "do-not-log-me" not in text
    events = _events(text)
    names = [e["Event"].removeprefix("SparkListener") for e in events]
    assert names[:3] == ["LogStart", "ApplicationStart", "EnvironmentUpdate"]
    assert names[-1] == "ApplicationEnd"
    removed = _of(events, "ExecutorRemoved")  # at sc.stop(): let go, not lost
    assert removed and {e["Removed Reason"] for e in removed} == {"the application stopped"}
    jobs = [n for n in names if n in ("JobStart", "JobEnd", "StageSubmitted", "StageCompleted")]
    one_job = ["JobStart", "StageSubmitted", "StageCompleted"]
    assert jobs == [*one_job, "StageSubmitted", "StageCompleted", "JobEnd", *one_job, "JobEnd"]
    start = _of(events, "JobStart")[0]
    lines, first = inspect.getsourcelines(_word_count)
    where = first + next(i for i, line in enumerate(lines) if ".collect()" in line)
    assert start["Stage Infos"][-1]["Stage Name"] == f"collect at test_eventlog.py:{where}"
    # As in Spark: the map stage is numbered first and named after where the RDD it
    # shuffles was made (the map before reduceByKey).
    shuffled = first + next(i for i, line in enumerate(lines) if ".map(" in line)
    map_stage, result_stage = start["Stage Infos"]
    assert map_stage["Stage ID"] < result_stage["Stage ID"]
    assert map_stage["Stage Name"] == f"map at test_eventlog.py:{shuffled}"
    _check_word_count(events, start, written, source.stat().st_size)
    _check_failure(events)


def _check_word_count(
    events: list[dict[str, Any]], start: dict[str, Any], written: int, input_bytes: int
) -> None:
    ends = _of(events, "TaskEnd")
    ok = [e for e in ends if e["Task End Reason"]["Reason"] == "Success"]
    maps = [e["Task Metrics"] for e in ok if e["Task Type"] == "ShuffleMapTask"]
    reduces = [e["Task Metrics"] for e in ok if e["Stage ID"] == start["Stage IDs"][-1]]
    assert len(maps) == start["Stage Infos"][0]["Number of Tasks"] >= 4
    assert len(reduces) == 3
    assert sum(m["Input Metrics"]["Records Read"] for m in maps) == len(LINES)
    assert sum(m["Input Metrics"]["Bytes Read"] for m in maps) == input_bytes
    shuffle_written = sum(m["Shuffle Write Metrics"]["Shuffle Bytes Written"] for m in maps)
    assert shuffle_written == written
    read = [m["Shuffle Read Metrics"] for m in reduces]
    assert sum(r["Local Bytes Read"] + r["Remote Bytes Read"] for r in read) == written
    assert sum(r["Remote Blocks Fetched"] for r in read) > 0  # two workers: some are remote
    records_written = sum(m["Shuffle Write Metrics"]["Shuffle Records Written"] for m in maps)
    assert sum(r["Total Records Read"] for r in read) == records_written > 0
    assert all(m["Executor Run Time"] >= 0 and m["Peak Execution Memory"] > 0 for m in maps)


def _check_failure(events: list[dict[str, Any]]) -> None:
    ends = _of(events, "TaskEnd")
    failed = [e for e in ends if e["Task End Reason"]["Reason"] == "ExceptionFailure"]
    assert len(failed) == 2 and all(e["Task Info"]["Failed"] for e in failed)
    reason = failed[0]["Task End Reason"]
    assert reason["Class Name"] == "ValueError" and reason["Description"] == "bad record 7"
    assert "in explode" in reason["Full Stack Trace"]
    failed_stage = _of(events, "StageCompleted")[-1]["Stage Info"]
    assert "failed 2 times" in failed_stage["Failure Reason"]
    assert _of(events, "JobEnd")[-1]["Job Result"]["Result"] == "JobFailed"


DRIVER = """
import sys, time
from minispark import SparkConf, SparkContext
conf = SparkConf(loadDefaults=False).setMaster(sys.argv[1]).setAppName("doomed")
conf.set("spark.executor.memory", "256m").set("spark.eventLog.enabled", "true")
conf.set("spark.eventLog.dir", sys.argv[2]).set("spark.eventLog.compress", sys.argv[3])
sc = SparkContext(conf=conf)
print(sc.parallelize(range(100), 4).map(lambda x: (x % 3, x)).reduceByKey(int.__add__).count())
sys.stdout.flush()
time.sleep(3600)
"""


@pytest.mark.parametrize("compress", ["false", "true"])
def test_a_killed_driver_leaves_an_inprogress_log_that_parses(
    cluster: Cluster, tmp_path: Path, compress: str
) -> None:
    master = cluster.master()
    cluster.worker(url_of(master), cores=2)
    cluster.wait_registered(master, 1)
    program = tmp_path / "driver.py"
    program.write_text(DRIVER)
    logs = tmp_path / "logs"
    args = [sys.executable, str(program), url_of(master), str(logs), compress]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    driver = subprocess.Popen(args, stdout=subprocess.PIPE, env=env)
    try:
        assert driver.stdout is not None
        assert driver.stdout.readline().strip() == b"3"  # its job ended: the log is flushed
        os.kill(driver.pid, signal.SIGKILL)
    finally:
        with_pid = driver.pid
        if driver.poll() is None:
            os.kill(with_pid, signal.SIGKILL)
        driver.wait()
    (left,) = list(logs.iterdir())
    assert left.name.endswith(".gz.inprogress" if compress == "true" else ".inprogress")
    with fsspec.open(str(left), "rt", compression="gzip" if compress == "true" else None) as f:
        lines: list[str] = []
        with contextlib.suppress(EOFError):  # a gzip stream cut short: the lines before read
            lines.extend(f)
    events = [json.loads(line) for line in lines]
    names = [e["Event"] for e in events]
    assert names[0] == "SparkListenerLogStart" and "SparkListenerApplicationEnd" not in names
    assert names.count("SparkListenerJobEnd") == 1
    assert len(_of(events, "TaskEnd")) == 8


def test_event_log_and_input_on_s3(s3: S3Server, tmp_path: Path) -> None:  # noqa: F811
    fs = fsspec.filesystem("s3")
    with fs.open(f"{s3.bucket}/input/words.txt", "wb") as f:
        f.write("".join(line + "\n" for line in LINES).encode())
    conf = app_conf(
        "local-cluster[2,1,512]",
        "spark.eventLog.enabled=true",
        f"spark.eventLog.dir={s3.url('events')}",
        "spark.eventLog.compress=true",
    )
    with SparkContext(conf=conf) as sc:
        _run(sc, s3.url("input/words.txt"))
        app_id = sc.applicationId
    fs.invalidate_cache()
    assert fs.ls(f"{s3.bucket}/events") == [f"{s3.bucket}/events/{app_id}.gz"]
    with fs.open(f"{s3.bucket}/events/{app_id}.gz", "rt", compression="gzip") as f:
        events = [json.loads(line) for line in f]
    assert events[-1]["Event"] == "SparkListenerApplicationEnd"
    maps = [e["Task Metrics"] for e in _of(events, "TaskEnd") if e["Task Type"] == "ShuffleMapTask"]
    assert sum(m["Input Metrics"]["Records Read"] for m in maps) == len(LINES)


def test_unwritable_event_log_dir_stops_the_context_at_once(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    conf = app_conf(
        "local-cluster[1,1,512]", "spark.eventLog.enabled=true", f"spark.eventLog.dir={blocker}"
    )
    with pytest.raises(ValueError, match=r"^spark\.eventLog\.dir=.* is not writable"):
        SparkContext(conf=conf)
    assert SparkContext._active is None

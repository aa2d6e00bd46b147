"""The event log writer on a local directory, the event bus, and the event constructors."""

from __future__ import annotations

import gzip
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from minispark.appstatus import events as ev
from minispark.conf import Conf, ConfError
from minispark.driver import eventlogconf
from minispark.driver.eventlog import EventLogWriter
from minispark.driver.listener import EventBus
from minispark.protocol import TaskMetrics


def _start(app_id: str = "app-1") -> dict[str, Any]:
    return ev.application_start(name="t", app_id=app_id, time_ms=1, user="u")


def _lines(path: Path) -> list[dict[str, Any]]:
    opener = gzip.open if path.name.endswith((".gz", ".gz.inprogress")) else open
    with opener(path, "rt") as f:
        return [json.loads(line) for line in f]


def test_log_is_inprogress_until_stop_then_renamed(tmp_path: Path) -> None:
    writer = EventLogWriter(str(tmp_path / "logs"), compress=False)
    writer.check()
    writer(ev.log_start("0.1.0"))  # before the app id is known: kept, written first
    writer(_start())
    writer(ev.job_end(job_id=0, time_ms=2))  # a job's end is flushed at once
    live = tmp_path / "logs" / "app-1.inprogress"
    assert [e["Event"] for e in _lines(live)] == [
        ev.LOG_START, ev.APPLICATION_START, ev.JOB_END,
    ]  # fmt: skip
    writer(ev.application_end(3))
    writer.stop()
    assert not live.exists()
    assert [e["Event"] for e in _lines(tmp_path / "logs" / "app-1")][-1] == ev.APPLICATION_END


def test_compressed_log_reads_line_by_line_while_it_is_written(tmp_path: Path) -> None:
    writer = EventLogWriter(str(tmp_path), compress=True)
    writer(_start("app-2"))
    writer(ev.job_end(job_id=0, time_ms=2))
    live = tmp_path / "app-2.gz.inprogress"
    with gzip.open(live, "rt") as f:  # a sync flush: readable before the stream ends
        first = [json.loads(f.readline()), json.loads(f.readline())]
    assert [e["Event"] for e in first] == [ev.APPLICATION_START, ev.JOB_END]
    writer.stop()
    assert len(_lines(tmp_path / "app-2.gz")) == 2


def test_unwritable_directory_is_one_line_naming_the_key(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    conf = Conf({"spark.eventLog.enabled": "true", "spark.eventLog.dir": str(blocker / "sub")})
    with pytest.raises(ConfError) as failure:
        eventlogconf.from_conf(conf)
    message = str(failure.value)
    assert "\n" not in message and message.startswith("spark.eventLog.dir=")
    assert "spark.eventLog.enabled=false" in message


def test_enabled_without_a_directory_is_refused() -> None:
    with pytest.raises(ConfError, match=r"spark\.eventLog\.dir is not set"):
        eventlogconf.from_conf(Conf({"spark.eventLog.enabled": "true"}))
    assert eventlogconf.from_conf(Conf({})) is None


def test_failing_sink_is_logged_once_and_dropped(caplog: pytest.LogCaptureFixture) -> None:
    bus, seen = EventBus(), []
    calls = []

    def broken(event: dict[str, Any]) -> None:
        calls.append(event)
        raise KeyError("Stage ID")

    bus.add(broken)
    bus.add(seen.append)
    with caplog.at_level(logging.ERROR, logger="minispark.listener"):
        for time_ms in range(3):
            bus.post(ev.application_end(time_ms))
    assert len(calls) == 1 and len(seen) == 3
    assert len([r for r in caplog.records if "gets no more events" in r.message]) == 1


def test_secrets_are_redacted_in_the_environment() -> None:
    update = ev.environment_update(
        [
            ("spark.authenticate.secret", "s3cr3t"),
            ("minispark.ssl.keyPassword", "pw"),
            ("spark.hadoop.fs.s3a.access.key", "AKIA"),
            ("spark.app.name", "visible"),
        ],
        [("python.version", "3.11")],
    )
    properties = dict(update["Spark Properties"])
    assert properties["spark.app.name"] == "visible"
    hidden = [k for k, v in properties.items() if v == ev.REDACTED]
    assert sorted(hidden) == [
        "minispark.ssl.keyPassword", "spark.authenticate.secret", "spark.hadoop.fs.s3a.access.key",
    ]  # fmt: skip
    assert "s3cr3t" not in json.dumps(update)


def test_task_metrics_use_spark_names() -> None:
    m = TaskMetrics(
        run_time_ms=7, cpu_time_ns=5, shuffle_write_bytes=100, shuffle_local_bytes=40,
        shuffle_remote_bytes=60, shuffle_read_records=3, input_records=9, peak_rss_bytes=1 << 20,
    )  # fmt: skip
    d = ev.task_metrics(m)
    assert d["Executor Run Time"] == 7 and d["Executor CPU Time"] == 5
    assert d["Peak Execution Memory"] == 1 << 20
    assert d["Shuffle Write Metrics"]["Shuffle Bytes Written"] == 100
    read = d["Shuffle Read Metrics"]
    assert (read["Local Bytes Read"], read["Remote Bytes Read"], read["Total Records Read"]) == (
        40, 60, 3,
    )  # fmt: skip
    assert d["Input Metrics"] == {"Bytes Read": 0, "Records Read": 9}
    json.dumps(d)  # plain values only

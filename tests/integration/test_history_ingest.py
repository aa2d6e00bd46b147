"""Drivers that share no filesystem with the history server send it their event log over
HTTPS (``spark.eventLog.dir=https://host:port``): real jobs on local-cluster with auth and
TLS on, a real ``minispark history-server`` through the CLI. The log is listed while the
application runs and complete after it stops, with its counts in /api/v1; a history server
killed mid-job and started again still ends with the whole log; a driver without the
secret, or without the CA, is told so in one line and its job runs anyway."""

from __future__ import annotations

import json
import logging
import ssl
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from operator import add
from pathlib import Path
from typing import Any

import msgspec
import pytest

from minispark import SparkContext
from minispark.appstatus import events as ev
from minispark.driver.ingestclient import IngestClient
from minispark.driver.localcluster import free_port
from minispark.driver.remotelog import RemoteEventLog
from tests.certs import Pki, tls_conf
from tests.s3server import S3Server, s3  # noqa: F401 (the fixture)

from .harness import Cluster, Daemon, app_conf, wait_for

SECRET = "ingest-secret"
FAST = "spark.history.fs.update.interval=200ms"


@dataclass
class Secure:
    """A CA, its certificate for loopback, and the secret file: what a deployment has."""

    pki: Pki
    tls: tuple[str, ...]  # a daemon's TLS settings
    secret: Path

    @property
    def auth(self) -> tuple[str, ...]:
        return ("spark.authenticate=true", f"spark.authenticate.secret.file={self.secret}")

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {SECRET}"}

    def context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.pki.ca))


@pytest.fixture
def secure(tmp_path: Path) -> Secure:
    pki = Pki(tmp_path / "pki")
    secret = tmp_path / "minispark.secret"
    secret.write_text(SECRET + "\n")
    secret.chmod(0o600)
    return Secure(pki, tls_conf(pki.issue("node"), pki.ca), secret)


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    """The history server's log directory, empty."""
    found = tmp_path / "logs"
    found.mkdir()
    return found


def https_get(base: str, path: str, secure: Secure) -> tuple[int, str]:
    request = urllib.request.Request(base + path, headers=secure.headers)
    try:
        with urllib.request.urlopen(request, timeout=5, context=secure.context()) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def start_history(
    cluster: Cluster, logs: Path, secure: Secure, port: int | None = None
) -> tuple[Daemon, str]:
    server = cluster.history(str(logs), *secure.tls, *secure.auth, FAST, wait=False, port=port)
    base = f"https://127.0.0.1:{server.webui_port}"

    def serving() -> bool:
        try:
            return https_get(base, "/readyz", secure)[0] == 200
        except OSError:
            return False

    wait_for(serving, f"{server.name} to serve HTTPS")
    return server, base


def listed(base: str, secure: Secure, app_id: str) -> dict[str, Any] | None:
    status, body = https_get(base, "/api/v1/applications", secure)
    assert status == 200, body
    return next((a for a in json.loads(body) if a["id"] == app_id), None)


def api(base: str, secure: Secure, path: str) -> Any:
    status, body = https_get(base, path, secure)
    assert status == 200, f"{path}: {status} {body}"
    return json.loads(body)


def driver_conf(base: str, secure: Secure, *pairs: str, compress: str = "false") -> Any:
    return app_conf(
        "local-cluster[2,1,512]",
        *secure.tls,
        *secure.auth,
        "spark.eventLog.enabled=true",
        f"spark.eventLog.dir={base}",
        f"spark.eventLog.compress={compress}",
        *pairs,
        name="sent",
    )


def word_count(sc: SparkContext) -> dict[str, int]:
    words = sc.parallelize(["a b a", "c a b", "b a"] * 10, 4).flatMap(str.split)
    return dict(words.map(lambda w: (w, 1)).reduceByKey(add, 3).collect())


def completed(base: str, secure: Secure, app_id: str) -> bool:
    app = listed(base, secure, app_id)
    return bool(app and app["attempts"][0]["completed"])


@pytest.mark.parametrize("compress", ["false", "true"])
def test_a_job_s_log_is_listed_while_it_runs_and_complete_after_stop(
    cluster: Cluster, logs: Path, secure: Secure, compress: str
) -> None:
    _, base = start_history(cluster, logs, secure)
    with SparkContext(conf=driver_conf(base, secure, compress=compress)) as sc:
        assert sc.parallelize(range(100), 4).count() == 100
        app_id = sc.applicationId

        def running_with_its_job() -> bool:
            app = listed(base, secure, app_id)
            if app is None or app["attempts"][0]["completed"]:
                return False
            jobs = api(base, secure, f"/api/v1/applications/{app_id}/jobs")
            return [j["status"] for j in jobs] == ["SUCCEEDED"]

        wait_for(running_with_its_job, "the running application listed with its first job")
        assert word_count(sc) == {"a": 40, "b": 30, "c": 10}
    wait_for(lambda: completed(base, secure, app_id), "the application listed as complete")
    suffix = ".gz" if compress == "true" else ""
    assert sorted(p.name for p in logs.iterdir()) == [app_id + suffix]
    jobs = api(base, secure, f"/api/v1/applications/{app_id}/jobs")
    assert sorted((j["jobId"], j["status"], j["numTasks"]) for j in jobs) == [
        (0, "SUCCEEDED", 4),
        (1, "SUCCEEDED", 7),
    ]
    stages = api(base, secure, f"/api/v1/applications/{app_id}/stages")
    assert sorted((s["numTasks"], s["numCompleteTasks"], s["status"]) for s in stages) == [
        (3, 3, "COMPLETE"),
        (4, 4, "COMPLETE"),
        (4, 4, "COMPLETE"),
    ]
    executors = api(base, secure, f"/api/v1/applications/{app_id}/allexecutors")
    assert sum(e["completedTasks"] for e in executors if e["id"] != "driver") == 11


def test_history_server_killed_mid_job_and_restarted_ends_with_the_whole_log(
    cluster: Cluster, logs: Path, secure: Secure, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "minispark.eventlog")
    port = free_port()
    server, base = start_history(cluster, logs, secure, port)
    with SparkContext(conf=driver_conf(base, secure)) as sc:
        app_id = sc.applicationId
        live = logs / f"{app_id}.inprogress"
        done = threading.Event()

        def slow_job() -> None:
            try:
                sc.parallelize(range(12), 12).map(lambda x: time.sleep(0.3) or x).count()
            finally:
                done.set()

        worker = threading.Thread(target=slow_job)
        worker.start()
        # Some of the job's tasks have reached the server's disk: kill it mid-job.
        wait_for(lambda: live.exists() and b"SparkListenerTaskEnd" in live.read_bytes(),
                 "a task's end sent to the history server")  # fmt: skip
        server.signal(9)
        server.proc.wait()
        wait_for(done.is_set, "the job to end while the history server is away")
        worker.join()
        assert word_count(sc) == {"a": 40, "b": 30, "c": 10}  # a second job, still away
        assert "SparkListenerJobEnd" not in live.read_text()  # it has not been sent
        _, base = start_history(cluster, logs, secure, port)
        wait_for(lambda: "SparkListenerJobEnd" in live.read_text(), "the kept lines sent")
    wait_for(lambda: completed(base, secure, app_id), "the application listed as complete")
    lines = (logs / app_id).read_text().splitlines()
    events = [json.loads(line) for line in lines]  # every line whole: nothing torn or twice
    names = [e["Event"] for e in events]
    assert names[0] == "SparkListenerLogStart" and names[-1] == "SparkListenerApplicationEnd"
    assert names.count("SparkListenerApplicationStart") == 1
    assert names.count("SparkListenerJobEnd") == 2
    assert names.count("SparkListenerTaskEnd") == 12 + 7
    jobs = api(base, secure, f"/api/v1/applications/{app_id}/jobs")
    assert [j["status"] for j in jobs] == ["SUCCEEDED", "SUCCEEDED"]
    said = [r.getMessage() for r in caplog.records if r.name == "minispark.eventlog"]
    assert sum("cannot send the event log" in m for m in said) == 1  # once per outage
    assert sum("answers again" in m for m in said) == 1
    assert not any("not completed" in m or "dropped" in m for m in said)


def refusal(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "minispark.eventlog" and r.levelno >= logging.WARNING
    ]


def refused_job(base: str, caplog: pytest.LogCaptureFixture, *pairs: str) -> str:
    """Run a small job whose event log goes to the history server at ``base``, the driver
    set with ``pairs`` only: the job must still run, and the refusal must be one warning
    of one line, which is returned."""
    caplog.clear()
    conf = app_conf(
        "local-cluster[1,1,512]",
        *pairs,
        "spark.eventLog.enabled=true",
        f"spark.eventLog.dir={base}",
    )
    with SparkContext(conf=conf) as sc:
        assert sc.parallelize(range(10), 2).sum() == 45
    (said,) = refusal(caplog)
    assert "\n" not in said, said
    return said


def test_a_driver_without_the_secret_is_refused_in_one_line_and_its_job_runs(
    cluster: Cluster, logs: Path, secure: Secure, caplog: pytest.LogCaptureFixture
) -> None:
    server, base = start_history(cluster, logs, secure)
    said = refused_job(base, caplog, *secure.tls)  # it trusts the server: no secret only
    assert f"the history server at {base} refused the event log (no credentials)" in said
    assert "set spark.authenticate.secret.file" in said
    assert list(logs.iterdir()) == []
    assert "web port refused" in server.log() and server.alive()


def test_a_wrong_secret_and_an_untrusted_certificate_name_the_key_to_fix(
    cluster: Cluster, tmp_path: Path, logs: Path, secure: Secure, caplog: pytest.LogCaptureFixture
) -> None:
    _, base = start_history(cluster, logs, secure)
    wrong = tmp_path / "wrong.secret"
    wrong.write_text("not-the-secret\n")
    for pairs, fix in [
        ((*secure.tls, f"spark.authenticate.secret.file={wrong}"), "(wrong secret)"),
        ((), "minispark.ssl.caFile"),  # no CA: the system's CAs do not know ours
    ]:
        said = refused_job(base, caplog, *pairs)
        assert fix in said, said
    assert list(logs.iterdir()) == []


def test_an_unreachable_history_server_at_start_is_a_warning_then_the_log_arrives(
    cluster: Cluster, logs: Path, secure: Secure, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "minispark.eventlog")
    port = free_port()
    base = f"https://127.0.0.1:{port}"
    with SparkContext(conf=driver_conf(base, secure)) as sc:
        assert sc.parallelize(range(10), 2).sum() == 45
        app_id = sc.applicationId
        assert any("cannot send the event log" in m for m in refusal(caplog))
        _, base = start_history(cluster, logs, secure, port)
        wait_for(lambda: listed(base, secure, app_id), "the log sent once the server is up")
    wait_for(lambda: completed(base, secure, app_id), "the application listed as complete")


def test_ingest_api_refusals_are_one_line(cluster: Cluster, logs: Path, secure: Secure) -> None:
    server, base = start_history(cluster, logs, secure)

    def post(path: str, data: bytes, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        request = urllib.request.Request(
            base + path,
            data=data,
            method="POST",
            headers=secure.headers if headers is None else headers,
        )
        try:
            with urllib.request.urlopen(request, timeout=5, context=secure.context()) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as err:
            text = err.read().decode()
            return err.code, json.loads(text) if text.startswith("{") else text

    assert post("/eventlogs/app-1.inprogress?offset=0", b"one\n") == (200, {"size": 4})
    status, body = post("/eventlogs/app-1.inprogress?offset=0", b"one\n")
    assert status == 409 and body["size"] == 4
    status, body = post("/eventlogs/..%2Fescape.inprogress?offset=0", b"x")
    assert status == 400 and "is not an event log name" in body["message"]
    status, body = post("/eventlogs/app-1.inprogress?offset=four", b"x")
    assert status == 400 and "pass ?offset=" in body["message"]
    status, body = post("/eventlogs/app-1.inprogress?offset=4", b"x" * (16 << 20 | 1))
    assert status == 413 and "send it in smaller chunks" in body["message"]
    status, text = post("/eventlogs/app-1.inprogress?offset=4", b"x", headers={})
    assert status == 401 and "no credentials" in text
    assert post("/eventlogs/app-1.inprogress/complete", b"") == (200, {"complete": True})
    assert sorted(p.name for p in logs.iterdir()) == ["app-1"]
    assert (logs / "app-1").read_bytes() == b"one\n"
    assert server.alive()


def _events(app_id: str, count: int) -> list[dict[str, Any]]:
    start = ev.application_start(name="direct", app_id=app_id, time_ms=1, user="u")
    jobs = [ev.job_end(job_id=i, time_ms=2 + i) for i in range(count)]
    return [ev.log_start("0.1.0"), start, *jobs, ev.application_end(10_000)]


def _lines(events: list[dict[str, Any]]) -> bytes:
    encode = msgspec.json.Encoder().encode
    return b"".join(encode(e) + b"\n" for e in events)


def test_a_full_buffer_drops_whole_events_with_one_warning_then_sends_the_rest(
    cluster: Cluster, logs: Path, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    writer = RemoteEventLog(IngestClient(base, None, None), compress=False, max_buffer=4096)
    writer.check()  # nobody there yet
    events = _events("app-full", 200)
    for event in events:
        writer(event)
    cluster.history(str(logs), FAST, port=port)
    writer.stop()
    said = refusal(caplog)
    assert sum("buffer is full" in m for m in said) == 1
    (dropped,) = [m for m in said if "were dropped" in m]
    kept = [json.loads(line) for line in (logs / "app-full").read_text().splitlines()]
    lost = len(events) - len(kept)
    assert lost > 0 and dropped.startswith(f"{lost} events (")
    # Whole events, in order, each once: those that came while there was room.
    assert kept[:2] == events[:2] and kept == [e for e in events if e in kept]


def test_a_chunk_that_landed_before_its_reply_was_lost_is_not_written_twice(
    cluster: Cluster, logs: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server = cluster.history(str(logs), FAST)
    events = _events("app-again", 5)
    whole = _lines(events)
    (logs / "app-again.inprogress").write_bytes(whole[:100])  # an earlier try got this far
    writer = RemoteEventLog(IngestClient(server.web, None, None), compress=False)
    writer.check()
    for event in events:
        writer(event)
    writer.stop()
    assert (logs / "app-again").read_bytes() == whole
    assert refusal(caplog) == []
    # A log that holds more than this driver ever sent was written by something else.
    (logs / "app-other.inprogress").write_bytes(b"x" * (len(whole) + 1))
    other = RemoteEventLog(IngestClient(server.web, None, None), compress=False)
    for event in _events("app-other", 5):
        other(event)
    other.stop()
    (said,) = refusal(caplog)
    assert "changed by something else" in said and "\n" not in said
    assert (logs / "app-other.inprogress").read_bytes() == b"x" * (len(whole) + 1)


def test_a_history_server_on_an_object_store_refuses_ingest_naming_the_bucket(
    cluster: Cluster,
    s3: S3Server,  # noqa: F811 (the fixture)
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = cluster.history(f"s3://{s3.bucket}", FAST)
    conf = app_conf(
        "local-cluster[1,1,512]", "spark.eventLog.enabled=true", f"spark.eventLog.dir={server.web}"
    )
    with SparkContext(conf=conf) as sc:
        assert sc.parallelize(range(10), 2).sum() == 45
    (said,) = refusal(caplog)
    assert "\n" not in said and "not a local directory" in said
    assert f"point spark.eventLog.dir at s3://{s3.bucket} itself" in said
    assert server.alive()

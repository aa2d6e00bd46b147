"""``minispark history-server`` through the real CLI, on directories of event logs written
as the driver writes them: listing (complete, incomplete, gzip, unreadable with the reason),
the pages and REST API of each application, a log appearing while it runs, the loaded
applications kept (least recently viewed let go) and reloaded when their log changes, the
cleaner, a 100,000-task log, auth, systemd's READY, and the one-line start-up errors."""

from __future__ import annotations

import json
import os
import re
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tests import appevents

from .harness import Cluster, Daemon, cli, get_json, http, wait_for

FAST = "spark.history.fs.update.interval=200ms"


def apps(server: Daemon) -> dict[str, dict[str, Any]]:
    listed = get_json(server.web + "/api/v1/applications", server.headers)
    return {a["id"]: a for a in listed}


def jobs(server: Daemon, app_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = get_json(
        f"{server.web}/api/v1/applications/{app_id}/jobs", server.headers
    )
    return found


def jobs_or_none(server: Daemon, app_id: str) -> list[dict[str, Any]] | None:
    try:
        return jobs(server, app_id)
    except TimeoutError:
        return None


def page(server: Daemon, path: str) -> str:
    status, body = http(server.web + path, headers=server.headers)
    assert status == 200, f"{path} answered {status}: {body}"
    return body


def fetch(server: Daemon, path: str) -> tuple[int, str, str]:
    """Status, content type and body of a GET."""
    request = urllib.request.Request(server.web + path, headers=server.headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as resp:
            return resp.status, resp.headers.get_content_type(), resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get_content_type(), err.read().decode()


def mixed_directory(logs: Path) -> None:
    appevents.write(logs, "app-1", appevents.application("app-1", "<b>wc</b>", tasks=6, failed=2))
    running = appevents.application("app-2", start_ms=appevents.T0 + 1000, finished=False)
    appevents.write(logs, "app-2", running, in_progress=True, tail=b'{"Event":"SparkListenerTa')
    appevents.write(logs, "app-3", appevents.application("app-3", tasks=3), compress=True)
    (logs / "app-4").write_bytes(b"")
    (logs / "app-5.gz").write_bytes(b"not gzip at all\n")
    (logs / "app-6").write_bytes(b'{"Event":"SparkListenerLogStart","Spark Version":"0.1.0"}\n')
    events = list(appevents.application("app-7"))
    (logs / "app-7").write_bytes(
        appevents.encode(events[:6])
        + b'{"Event": "SparkListenerJobSt\n'
        + appevents.encode(events[6:])
    )


def test_lists_every_kind_of_log_and_serves_each_app(cluster: Cluster, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    mixed_directory(logs)
    server = cluster.history(str(logs), FAST)
    wait_for(lambda: len(apps(server)) == 4, "4 applications listed")
    listed = apps(server)
    assert sorted(listed) == ["app-1", "app-2", "app-3", "app-7"]
    assert listed["app-1"]["attempts"][0]["completed"] is True
    assert listed["app-2"]["attempts"][0]["completed"] is False
    assert listed["app-2"]["attempts"][0]["endTimeEpoch"] == -1
    assert listed["app-1"]["name"] == "<b>wc</b>"

    front = page(server, "/")
    assert "&lt;b&gt;wc&lt;/b&gt;" in front
    assert "<b>wc</b>" not in front
    for app_id in ("app-1", "app-2", "app-3", "app-7"):
        assert f'href="/history/{app_id}/jobs/"' in front
    assert "Incomplete applications (1)" in front
    unreadable = front.split("Event logs that cannot be read (3)")[1]
    assert re.search(r"app-4</td><td[^>]*>0</td><td>empty file", unreadable)
    assert "app-5.gz" in unreadable
    assert "named .gz but is not gzip data" in unreadable
    assert "no SparkListenerApplicationStart in its first 100 lines" in unreadable

    # Each application's figures come from its whole log, loaded on this first view.
    (job,) = jobs(server, "app-1")
    assert (job["status"], job["numTasks"], job["numCompletedTasks"]) == ("SUCCEEDED", 6, 6)
    assert job["numFailedTasks"] == 2
    (gz_job,) = jobs(server, "app-3")
    assert gz_job["numCompletedTasks"] == 3
    (running,) = jobs(server, "app-2")
    assert running["status"] == "RUNNING"
    stage = page(server, "/history/app-1/stages/stage/?id=0&attempt=0")
    assert "ValueError: bad 0" in stage
    assert page(server, "/history/app-1/environment/").count("spark.app.name") == 1
    status, _ = http(server.web + "/history/app-1", headers=server.headers)
    assert status == 200  # redirected to its jobs page

    # The log with bad JSON in its middle is found out on its first view, and says where.
    status, body = http(server.web + "/api/v1/applications/app-7/jobs", headers=server.headers)
    assert status == 404
    assert "line 7 is not JSON" in json.loads(body)["message"]
    status, body = http(server.web + "/history/app-7/jobs/", headers=server.headers)
    assert status == 404
    assert "line 7 is not JSON" in body
    assert "line 7 is not JSON" in page(server, "/")

    # Garbage asked of it changes nothing: it serves on.
    for path in ("/history/%3Cscript%3E/jobs/", "/api/v1/applications/nope/stages/x", "/x"):
        status, kind, body = fetch(server, path)
        assert status in (400, 404), (path, status)
        assert "<script>" not in body or not kind.startswith("text/html"), (path, kind)
    assert page(server, "/healthz") == "ok\n"
    assert page(server, "/readyz").startswith("listing 4 applications")
    metrics = page(server, "/metrics")
    assert 'minispark_history_applications{status="completed"} 3.0' in metrics
    assert "minispark_history_unreadable_logs 3.0" in metrics
    assert server.alive()


def test_a_log_written_while_it_runs_appears(cluster: Cluster, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    server = cluster.history(str(logs), FAST)
    assert apps(server) == {}
    # As the driver's writer does: a running log first, renamed when the app ends.
    path = appevents.write(logs, "app-new", appevents.application("app-new"), in_progress=True)
    wait_for(lambda: "app-new" in apps(server), "the new log to be listed")
    assert apps(server)["app-new"]["attempts"][0]["completed"] is False
    path.rename(logs / "app-new")
    wait_for(
        lambda: apps(server).get("app-new", {}).get("attempts", [{}])[0].get("completed"),
        "the renamed log to be listed as complete",
    )


def test_loaded_apps_are_kept_lru_and_reloaded_when_changed(
    cluster: Cluster, tmp_path: Path
) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    appevents.write(logs, "app-a", appevents.application("app-a"))
    events = list(appevents.application("app-b", tasks=10))
    path = appevents.write(logs, "app-b", events[:9], in_progress=True)  # 1 task of 10 ended
    server = cluster.history(str(logs), FAST, "spark.history.retainedApplications=1")
    wait_for(lambda: len(apps(server)) == 2, "both applications")

    jobs(server, "app-a")
    (job,) = jobs(server, "app-b")
    assert job["numCompletedTasks"] == 1
    assert "application app-a unloaded (least recently viewed)" in server.log()
    assert "minispark_history_loaded_applications 1.0" in page(server, "/metrics")

    path.write_bytes(appevents.encode(events))  # the app ran on and finished its job
    wait_for(lambda: jobs(server, "app-b")[0]["numCompletedTasks"] == 10, "the reloaded log")
    assert jobs(server, "app-b")[0]["status"] == "SUCCEEDED"
    assert server.log().count("loaded app-b.inprogress") == 2


def test_the_cleaner_deletes_logs_past_max_age(cluster: Cluster, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    old = appevents.write(logs, "app-old", appevents.application("app-old"))
    month_ago = time.time() - 30 * 86400
    os.utime(old, (month_ago, month_ago))
    appevents.write(logs, "app-new", appevents.application("app-new"))
    server = cluster.history(
        str(logs),
        FAST,
        "spark.history.fs.cleaner.enabled=true",
        "spark.history.fs.cleaner.interval=200ms",
        "spark.history.fs.cleaner.maxAge=7d",
    )
    wait_for(lambda: not old.exists(), "the cleaner to delete the old log")
    wait_for(lambda: list(apps(server)) == ["app-new"], "only the new log listed")
    assert "cleaner deleted 1 event logs: app-old" in server.log()


def test_a_100000_task_log_loads(cluster: Cluster, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    events = list(appevents.application("app-big", tasks=100_000, failed=100, executors=8))
    size = appevents.write(logs, "app-big", events, compress=True).stat().st_size
    server = cluster.history(str(logs), FAST)
    wait_for(lambda: "app-big" in apps(server), "the big log listed")
    began = time.perf_counter()
    # The load goes on in the server when a request gives up waiting; the next one finds it.
    (job,) = wait_for(lambda: jobs_or_none(server, "app-big"), "the big log to load")
    loaded = time.perf_counter() - began
    took = re.search(r"loaded app-big.gz: (\d+) events in ([\d.]+) s", server.log())
    assert took is not None
    assert int(took[1]) == len(events)
    assert (job["numCompletedTasks"], job["numFailedTasks"]) == (100_000, 100)
    began = time.perf_counter()
    stage = page(server, "/history/app-big/stages/stage/?id=0&attempt=0")
    shown = time.perf_counter() - began
    assert "Details for Stage 0 (Attempt 0)" in stage
    assert "100000 succeeded, 100 failed" in stage
    # Printed, not asserted (the issue wants < 5 s to load, < 1 s a page; this machine is
    # shared): see bench/history.py for the median over runs.
    print(
        f"\n100,000-task log ({size / 1e6:.1f} MB gzip): loaded in {took[2]} s (server),"
        f" first view {loaded:.2f} s, stage page {shown:.2f} s"
    )


def test_the_web_port_asks_for_the_secret(cluster: Cluster, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    appevents.write(logs, "app-1", appevents.application("app-1"))
    server = cluster.history(str(logs), "spark.authenticate.secret=history-secret")
    assert server.headers  # the harness presents the secret
    assert http(server.web + "/")[0] == 401
    assert http(server.web + "/api/v1/applications")[0] == 401
    assert "app-1" in apps(server)
    assert http(server.web + "/healthz")[0] == 200  # probes stay open by default


def test_systemd_hears_ready_once_it_serves(cluster: Cluster, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    appevents.write(logs, "app-1", appevents.application("app-1"))
    path = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        sock.settimeout(60)
        server = cluster.history(str(logs), env={"NOTIFY_SOCKET": str(path)}, wait=False)
        message = sock.recv(4096).decode()
        assert "READY=1" in message
        assert "serving 1 applications" in message
        assert http(server.web + "/healthz")[0] == 200  # READY came after the port was bound
        server.signal(15)
        while "STOPPING=1" not in message:
            message = sock.recv(4096).decode()
    assert server.proc.wait(30) == 0


def test_start_up_errors_are_one_line_naming_the_key(tmp_path: Path) -> None:
    unset = cli("history-server", "--conf", "spark.history.ui.port=0")
    assert unset.returncode == 2
    assert unset.stderr.count("\n") == 1
    assert "spark.history.fs.logDirectory is not set" in unset.stderr
    missing = cli("history-server", "--conf", f"spark.history.fs.logDirectory={tmp_path}/none")
    assert missing.returncode == 2
    assert missing.stderr.count("\n") == 1
    assert "is not a directory: create it" in missing.stderr
    bad = cli(
        "history-server",
        "--conf",
        f"spark.history.fs.logDirectory={tmp_path}",
        "--conf",
        "spark.history.fs.update.interval=often",
    )
    assert bad.returncode == 2
    assert "spark.history.fs.update.interval" in bad.stderr

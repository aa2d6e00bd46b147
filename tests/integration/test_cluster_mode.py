"""Cluster deploy mode on real daemons: drivers on workers, supervise, kill, status, REST."""

from __future__ import annotations

import base64
import contextlib
import json
import signal
import textwrap
from pathlib import Path
from typing import Any

import psutil

from .harness import Cluster, Daemon, cli, driver_state, http, submit, url_of, wait_for

SECRET = "cluster-mode-secret"
AUTH = ("spark.authenticate=true", f"spark.authenticate.secret={SECRET}")


def program(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return path


def ended(master: Daemon, driver_id: str) -> str:
    final = ("FINISHED", "FAILED", "KILLED", "ERROR", "RELAUNCHING")
    return wait_for(
        lambda: (s := driver_state(master, driver_id)) in final and s, "the driver to end"
    )


def one_worker(cluster: Cluster, *conf: str) -> tuple[Daemon, Daemon]:
    master = cluster.master(*conf)
    worker = cluster.worker(url_of(master), *conf, cores=2, memory="2g")
    cluster.wait_registered(master, 1)
    return master, worker


def test_program_runs_as_a_driver_on_a_worker(cluster: Cluster, tmp_path: Path) -> None:
    master, worker = one_worker(cluster)
    helper = program(tmp_path, "helper_lib.py", "FACTOR = 7\n")
    app = program(
        tmp_path,
        "job.py",
        """
        from minispark import SparkContext
        import helper_lib  # shipped with --py-files, no shared filesystem
        with SparkContext(appName="in-cluster") as sc:
            total = sc.parallelize(range(10), 2).map(lambda x: x * 7).sum()
            print("ANSWER", total, helper_lib.FACTOR)
    """,
    )
    driver_id = submit(url_of(master), app, "--py-files", str(helper))
    assert ended(master, driver_id) == "FINISHED"
    out = (cluster.root / worker.name / driver_id / "stdout").read_text()
    assert "ANSWER 315 7" in out
    status = cli("status", url_of(master), driver_id)
    assert status.returncode == 0 and "FINISHED" in status.stdout


def test_supervised_driver_restarts_until_it_succeeds(cluster: Cluster, tmp_path: Path) -> None:
    master, worker = one_worker(cluster)
    app = program(
        tmp_path,
        "flaky.py",
        """
        import pathlib, sys
        runs = pathlib.Path("runs")  # the driver's working dir survives its restarts
        count = int(runs.read_text()) + 1 if runs.exists() else 1
        runs.write_text(str(count))
        sys.exit(0 if count >= 3 else 1)
    """,
    )
    driver_id = submit(url_of(master), app, "--supervise")
    assert ended(master, driver_id) == "FINISHED"
    directory = cluster.root / worker.name / driver_id
    assert (directory / "runs").read_text() == "3"  # failed twice, restarted twice
    assert (directory / "stderr").read_text().count("Launch Command") == 3


def test_always_failing_driver_is_killed_in_its_backoff(cluster: Cluster, tmp_path: Path) -> None:
    master, worker = one_worker(cluster)
    app = program(tmp_path, "doomed.py", "import sys\nsys.exit(1)\n")
    driver_id = submit(url_of(master), app, "--supervise")
    stderr = cluster.root / worker.name / driver_id / "stderr"
    wait_for(
        lambda: stderr.exists() and stderr.read_text().count("Launch Command") >= 2, "a restart"
    )
    result = cli("kill", url_of(master), driver_id)
    assert result.returncode == 0 and f"Kill request for {driver_id} submitted" in result.stdout
    assert ended(master, driver_id) == "KILLED"
    assert "killed while waiting to restart" in worker.log() or "KILLED" in worker.log()


def test_supervised_driver_moves_when_its_worker_dies(cluster: Cluster, tmp_path: Path) -> None:
    master = cluster.master()
    workers = [cluster.worker(url_of(master), cores=1, memory="1g") for _ in range(2)]
    cluster.wait_registered(master, 2)
    app = program(tmp_path, "long.py", "import time\ntime.sleep(600)\n")
    driver_id = submit(url_of(master), app, "--supervise", "--driver-cores", "1")
    running = wait_for(
        lambda: [d for d in master.json()["activedrivers"] if d["worker"]], "placement"
    )
    host_port = {w["id"]: w["port"] for w in master.json()["workers"]}[running[0]["worker"]]
    victim = next(w for w in workers if f"-{host_port}" in w.log().split("offering")[0])
    victim.signal(signal.SIGKILL)
    assert ended(master, driver_id) == "RELAUNCHING"
    replacement = wait_for(
        lambda: [d for d in master.json()["activedrivers"] if d["state"] == "RUNNING"], "a relaunch"
    )
    assert replacement[0]["id"] != driver_id  # a new id (SPARK-19900)
    assert replacement[0]["worker"] != running[0]["worker"]


def test_the_secret_stays_out_of_command_lines_and_files(cluster: Cluster, tmp_path: Path) -> None:
    master, worker = one_worker(cluster, *AUTH)
    app = program(
        tmp_path,
        "secretive.py",
        """
        import os, pathlib, time
        from minispark import SparkContext
        with SparkContext(appName="secretive") as sc:
            in_task = sc.parallelize([1], 1).map(lambda _: "MINISPARK_APP_CONF" in os.environ)
            total = sc.parallelize(range(4), 2).sum()
            print("HANDED OVER", sc.getConf().get("spark.authenticate"), total)
            print("LEFT IN ENV", "MINISPARK_APP_CONF" in os.environ)
            print("LEFT FOR TASKS", in_task.collect(), flush=True)
            pathlib.Path("ran").touch()
            while not pathlib.Path("stop").exists():
                time.sleep(0.1)
    """,
    )
    driver_id = submit(url_of(master), app, *(a for p in AUTH for a in ("--conf", p)))
    work = cluster.root / worker.name
    wait_for((work / driver_id / "ran").exists, "the driver to run a job")
    launched = psutil.Process(worker.pid).children(recursive=True)
    assert len(launched) >= 2  # the driver and its executor, at least
    for proc in launched:
        with contextlib.suppress(psutil.NoSuchProcess):
            assert SECRET not in " ".join(proc.cmdline()), proc
    (work / driver_id / "stop").touch()
    assert ended(master, driver_id) == "FINISHED"
    out = (work / driver_id / "stdout").read_text()
    assert "HANDED OVER true 6" in out  # the worker handed the driver the cluster's security
    assert "LEFT IN ENV False" in out and "LEFT FOR TASKS [False]" in out
    for path in (p for p in work.rglob("*") if p.is_file()):
        assert SECRET.encode() not in path.read_bytes(), path


def _rest(
    master: Daemon, path: str, body: Any = None, secret: str | None = None
) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if secret:
        headers["Authorization"] = f"Bearer {secret}"
    data = json.dumps(body).encode() if body is not None else None
    status, text = http(
        f"{master.web}{path}", method="POST" if data else "GET", data=data, headers=headers
    )
    return status, json.loads(text)


def test_rest_submission_kill_and_status_are_authenticated(cluster: Cluster) -> None:
    master, _ = one_worker(cluster, *AUTH)
    request = {
        "action": "CreateSubmissionRequest",
        "appResource": "sleepy.py",
        "appArgs": [],
        "files": {"sleepy.py": base64.b64encode(b"import time\ntime.sleep(600)\n").decode()},
        "sparkProperties": {
            "spark.app.name": "rest",
            "spark.master": url_of(master),
            "spark.driver.memory": "256m",
            **dict(p.split("=", 1) for p in AUTH),
        },
    }
    assert _rest(master, "/v1/submissions/create", request)[0] == 401
    status, created = _rest(master, "/v1/submissions/create", request, SECRET)
    assert status == 200 and created["success"], created
    driver_id = created["submissionId"]
    assert created["message"] == f"Driver successfully submitted as {driver_id}"
    status, info = _rest(master, f"/v1/submissions/status/{driver_id}", secret=SECRET)
    assert info["driverState"] in ("SUBMITTED", "RUNNING")
    assert _rest(master, f"/v1/submissions/kill/{driver_id}", {})[0] == 401
    # the CLI needs the secret too
    assert cli("kill", url_of(master), driver_id).returncode == 2
    killed = cli("kill", url_of(master), driver_id, *(a for p in AUTH for a in ("--conf", p)))
    assert killed.returncode == 0, killed.stderr
    assert ended(master, driver_id) == "KILLED"
    _, info = _rest(master, f"/v1/submissions/status/{driver_id}", secret=SECRET)
    assert info["driverState"] == "KILLED"


def test_bad_requests_get_one_line_answers(cluster: Cluster, tmp_path: Path) -> None:
    master, _ = one_worker(cluster)
    app = program(tmp_path, "ok.py", "print('hi')\n")
    cases = [
        (("status", url_of(master), "driver-20990101000000-0001"), "no driver driver-2099"),
        (
            ("kill", url_of(master), "driver-20990101000000-0001"),
            "has already finished or does not exist",
        ),
        (
            (
                "submit",
                "--deploy-mode",
                "cluster",
                "--master",
                url_of(master),
                "--driver-cores",
                "64",
                str(app),
            ),
            "more than any worker",
        ),
        (
            (
                "submit",
                "--deploy-mode",
                "cluster",
                "--master",
                url_of(master),
                str(tmp_path / "missing.py"),
            ),
            "does not exist",
        ),
    ]
    for args, message in cases:
        result = cli(*args)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert message in result.stderr, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    _, answer = _rest(master, "/v1/submissions/create", {"sparkProperties": {}})
    assert answer["action"] == "ErrorResponse" and "spark.app.name" in answer["message"]

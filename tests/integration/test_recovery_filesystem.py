"""FILESYSTEM recovery: a master restarted on the same directory takes its cluster back."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

from minispark import SparkConf, SparkContext

from .harness import Cluster, Daemon, get_json, url_of, wait_for


def _state(master: Daemon) -> Any:
    try:
        return get_json(f"{master.web}/json")
    except OSError:
        return None


def _restart(cluster: Cluster, master: Daemon, *conf: str) -> None:
    args = [
        "master",
        "--host",
        "127.0.0.1",
        "--port",
        str(master.port),
        "--webui-port",
        str(master.webui_port),
    ]
    master.proc = cluster._spawn(master.name + "-again", args, list(conf), None)
    master.log_path = cluster.root / f"{master.name}-again.log"


def test_restarted_master_recovers_workers_and_running_app(
    cluster: Cluster, tmp_path: Path
) -> None:
    recovery = (
        "spark.deploy.recoveryMode=FILESYSTEM",
        f"spark.deploy.recoveryDirectory={tmp_path}",
    )
    master = cluster.master(*recovery)
    for _ in range(2):
        cluster.worker(url_of(master), cores=1, memory="1g")
    cluster.wait_registered(master, 2)
    conf = SparkConf(loadDefaults=False).setMaster(url_of(master)).setAppName("survivor")
    conf.set("spark.executor.memory", "256m")
    with SparkContext(conf=conf) as sc:
        before = {e.exec_id: e.pid for e in sc.wait_for_executors(2)}
        app_id = sc.applicationId
        records = sorted(p.name.split("_")[0] for p in tmp_path.iterdir() if "_" in p.name)
        assert records == ["app", "worker", "worker"]
        record = json.loads((tmp_path / f"app_{app_id}").read_text())
        assert record["version"] == 1 and record["id"] == app_id  # schema'd JSON, no pickles

        master.signal(signal.SIGKILL)
        master.proc.wait()
        assert sc.parallelize(range(100), 4).sum() == 4950  # the master is not on the task path

        _restart(cluster, master, *recovery)
        state = wait_for(lambda: (s := _state(master)) and s["status"] == "ALIVE" and s, "ALIVE")
        assert [w["state"] for w in state["workers"]] == ["ALIVE", "ALIVE"]
        assert [w["coresused"] for w in state["workers"]] == [1, 1]  # adopted, not relaunched
        (app,) = state["activeapps"]
        assert (app["id"], app["state"], app["cores"]) == (app_id, "RUNNING", 2)
        assert "Recovery complete" in master.log()
        assert {e.exec_id: e.pid for e in sc.executors()} == before  # same processes
        assert sc.parallelize(range(100), 4).sum() == 4950


def test_unreadable_record_is_reported_and_skipped(cluster: Cluster, tmp_path: Path) -> None:
    (tmp_path / "worker_garbage").write_bytes(b"\x80not json")
    (tmp_path / "app_future").write_text('{"type": "app", "version": 99, "id": "x"}')
    recovery = (
        "spark.deploy.recoveryMode=FILESYSTEM",
        f"spark.deploy.recoveryDirectory={tmp_path}",
    )
    master = cluster.master(*recovery)
    wait_for(lambda: (s := _state(master)) and s["status"] == "ALIVE", "ALIVE")
    log = master.log()
    assert "skipping persisted record worker_garbage" in log
    assert "skipping persisted record app_future" in log
    assert "Traceback" not in log

"""Failures of workers and executors, detected the way the issue asks, on real processes."""

from __future__ import annotations

import os
import signal
import time

from minispark import SparkConf, SparkContext

from .harness import Cluster, app_conf, pid_alive, url_of, wait_for


def _conf(url: str) -> SparkConf:
    return app_conf(url, name="faults")


def _worker_state(cluster: Cluster, worker_port: int) -> str:
    master = cluster.daemons[0]
    return next(w["state"] for w in master.json()["workers"] if w["port"] == worker_port)


def test_worker_killed_is_noticed_at_once(cluster: Cluster) -> None:
    """The heartbeat timeout is five minutes, so only the closed connection can explain it."""
    master = cluster.master("spark.worker.timeout=300s")
    worker = cluster.worker(url_of(master))
    (info,) = cluster.wait_registered(master, 1)
    worker.signal(signal.SIGKILL)
    wait_for(lambda: _worker_state(cluster, info["port"]) == "DEAD", "the worker to be DEAD")
    assert "got disassociated" in master.log()
    assert "Not receiving heartbeat" not in master.log()


def test_stopped_worker_is_noticed_after_the_timeout_and_comes_back(cluster: Cluster) -> None:
    master = cluster.master("spark.worker.timeout=2s")
    worker = cluster.worker(url_of(master), "spark.worker.timeout=2s")
    (info,) = cluster.wait_registered(master, 1)
    worker.signal(signal.SIGSTOP)  # its socket stays open: only silence gives it away
    wait_for(lambda: _worker_state(cluster, info["port"]) == "DEAD", "the worker to be DEAD")
    assert "Not receiving heartbeat for 2 seconds" in master.log()
    worker.signal(signal.SIGCONT)
    # The master answers its next heartbeat with ReconnectWorker; it registers again.
    wait_for(lambda: _worker_state(cluster, info["port"]) == "ALIVE", "the worker to return")


def test_worker_death_takes_its_executors_with_it(cluster: Cluster) -> None:
    master = cluster.master()
    worker = cluster.worker(url_of(master), cores=1, memory="1g")
    cluster.wait_registered(master, 1)
    with SparkContext(conf=_conf(url_of(master))) as sc:
        (executor,) = sc.wait_for_executors(1)
        worker.signal(signal.SIGKILL)
        wait_for(lambda: not pid_alive(executor.pid), "the orphaned executor to exit")


def kill_next_executor(sc: SparkContext, seen: list[int], after_s: float = 0.0) -> None:
    """Wait for an executor we have not seen yet, let it run ``after_s``, then kill -9 it."""
    ready = wait_for(lambda: [e for e in sc.executors() if e.exec_id not in seen], "a new executor")
    seen.append(ready[0].exec_id)
    time.sleep(after_s)
    os.kill(ready[0].pid, signal.SIGKILL)
    wait_for(lambda: not pid_alive(ready[0].pid), "the executor to die")


def test_killed_executor_is_relaunched_until_the_retry_limit(cluster: Cluster) -> None:
    master = cluster.master("spark.deploy.maxExecutorRetries=3")
    cluster.worker(url_of(master), cores=1, memory="1g")
    cluster.wait_registered(master, 1)
    seen: list[int] = []
    with SparkContext(conf=_conf(url_of(master))) as sc:
        for _ in range(3):
            kill_next_executor(sc, seen)
        status = sc._client.status
        wait_for(lambda: status.ended, "the master to remove the application")
        assert status.ended.startswith("FAILED")
        assert "failed 3 times" in status.ended
    assert seen == [0, 1, 2]  # each relaunch got a new executor id
    completed = master.json()["completedapps"]
    assert [a["state"] for a in completed] == ["FAILED"]


def test_running_executor_resets_the_failure_count(cluster: Cluster) -> None:
    """Failures are counted in a streak: an executor that ran for a heartbeat timeout
    (1 s here) before failing starts a new streak, so the app survives four failures."""
    master = cluster.master("spark.deploy.maxExecutorRetries=2", "spark.worker.timeout=1s")
    cluster.worker(url_of(master), cores=1, memory="1g")
    cluster.wait_registered(master, 1)
    seen: list[int] = []
    with SparkContext(conf=_conf(url_of(master))) as sc:
        for _ in range(4):
            kill_next_executor(sc, seen, after_s=1.5)  # outlive the 1 s "healthy run"
        assert not sc._client.status.ended
    assert len(seen) == 4


def test_dead_worker_is_culled_after_the_persistence_period(cluster: Cluster) -> None:
    master = cluster.master("spark.worker.timeout=1s", "spark.dead.worker.persistence=1")
    worker = cluster.worker(url_of(master))
    cluster.wait_registered(master, 1)
    worker.signal(signal.SIGKILL)
    wait_for(lambda: [w["state"] for w in master.json()["workers"]] == ["DEAD"], "DEAD")
    # kept for the UI for (persistence + 1) timeouts, then dropped
    wait_for(lambda: master.json()["workers"] == [], "the dead worker to be culled")


def test_decommissioned_worker_gets_no_new_executors(cluster: Cluster) -> None:
    master = cluster.master()
    worker = cluster.worker(url_of(master), cores=1, memory="1g")
    cluster.wait_registered(master, 1)
    worker.signal(signal.SIGPWR)  # Spark's decommission signal
    wait_for(lambda: master.json()["workers"][0]["state"] == "DECOMMISSIONED", "DECOMMISSIONED")
    assert worker.json()["state"] == "DECOMMISSIONED"
    with SparkContext(conf=_conf(url_of(master))):
        time.sleep(1.0)  # give the master a chance to (wrongly) place an executor
        assert master.json()["workers"][0]["coresused"] == 0
        assert [a["state"] for a in master.json()["activeapps"]] == ["WAITING"]

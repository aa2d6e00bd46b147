"""Standby masters through a real ZooKeeper ensemble: failover with jobs running across it."""

from __future__ import annotations

import signal
import threading
import time
import uuid
from operator import add
from pathlib import Path
from typing import Any

import pytest

from minispark import SparkConf, SparkContext
from minispark.masterurl import format_master_url
from tests.zk.ensemble import Ensemble

from .harness import Cluster, Daemon, app_conf, cli, driver_state, get_json, http, submit, wait_for

pytestmark = pytest.mark.zookeeper


def _ha_conf(zk: Ensemble, *extra: str) -> tuple[str, ...]:
    root = f"/minispark-test-{uuid.uuid4().hex[:8]}"
    return (
        "spark.deploy.recoveryMode=ZOOKEEPER",
        f"spark.deploy.zookeeper.url={zk.connect_string}",
        f"spark.deploy.zookeeper.dir={root}",
        "minispark.zookeeper.sessionTimeout=3s",
        *extra,
    )


def _status(master: Daemon) -> str | None:
    try:
        return str(get_json(f"{master.web}/json")["status"])
    except OSError:
        return None


def _state(master: Daemon) -> Any:
    try:
        return get_json(f"{master.web}/json")
    except OSError:
        return None


def _two_masters(cluster: Cluster, conf: tuple[str, ...]) -> tuple[Daemon, Daemon, str]:
    first = cluster.master(*conf)
    wait_for(lambda: _status(first) == "ALIVE", "the first master to lead")
    second = cluster.master(*conf)
    wait_for(lambda: _status(second) == "STANDBY", "the second master to stand by")
    url = format_master_url([("127.0.0.1", first.port), ("127.0.0.1", second.port)])
    return first, second, url


def _alive_with_workers(master: Daemon, count: int) -> Any:
    state = _state(master)
    if state and state["status"] == "ALIVE" and state["aliveworkers"] == count:
        return state
    return None


def _app_conf(url: str) -> SparkConf:
    return app_conf(url, name="ha")


def test_leader_killed_mid_job_standby_takes_over(cluster: Cluster, zk_ensemble: Ensemble) -> None:
    leader, standby, url = _two_masters(cluster, _ha_conf(zk_ensemble))
    for _ in range(2):
        cluster.worker(url, cores=1, memory="1g")
    cluster.wait_registered(leader, 2)
    with SparkContext(conf=_app_conf(url)) as sc:
        executors = {e.exec_id: e.pid for e in sc.wait_for_executors(2)}
        result: list[Any] = []

        def job() -> None:
            def slow(x: int) -> tuple[int, int]:
                import time as t

                t.sleep(0.01)
                return (x % 7, x)

            result.append(dict(sc.parallelize(range(600), 60).map(slow).reduceByKey(add).collect()))

        running = threading.Thread(target=job)
        running.start()
        time.sleep(0.5)
        leader.signal(signal.SIGKILL)
        state = wait_for(
            lambda: _alive_with_workers(standby, 2), "the standby to lead with 2 workers"
        )
        running.join(timeout=120)
        assert result == [{k: sum(range(k, 600, 7)) for k in range(7)}]
        assert not sc._scheduler.failures  # no task failed because of the failover
        (app,) = state["activeapps"]
        assert (app["id"], app["state"]) == (sc.applicationId, "RUNNING")
        assert {e.exec_id: e.pid for e in sc.executors()} == executors  # untouched
        assert "Recovery complete" in standby.log()
        assert sc.parallelize(range(10)).sum() == 45  # and new jobs run


def test_sigterm_hands_over_at_once(cluster: Cluster, zk_ensemble: Ensemble) -> None:
    # A long session timeout: only a clean release can explain a quick takeover.
    leader, standby, url = _two_masters(
        cluster, _ha_conf(zk_ensemble, "minispark.zookeeper.sessionTimeout=30s")
    )
    cluster.worker(url)
    cluster.wait_registered(leader, 1)
    leader.signal(signal.SIGTERM)
    assert leader.proc.wait(30) == 0
    wait_for(lambda: _alive_with_workers(standby, 1), "the standby to lead", timeout=20)
    # Shutting down closes the links to workers: that removes nobody (the standby needs
    # their records) and logs no error.
    assert "removing worker" not in leader.log() and "Traceback" not in leader.log()


def test_stopped_leader_is_fenced_and_exits_when_it_wakes(
    cluster: Cluster, zk_ensemble: Ensemble
) -> None:
    leader, standby, url = _two_masters(cluster, _ha_conf(zk_ensemble))
    worker = cluster.worker(url)
    cluster.wait_registered(leader, 1)
    leader.signal(signal.SIGSTOP)  # its sockets stay open: only ZooKeeper can tell
    wait_for(lambda: _alive_with_workers(standby, 1), "the standby to lead with the worker")
    assert "master changed to" in worker.log()  # the new leader told the worker
    leader.signal(signal.SIGCONT)
    assert leader.proc.wait(60) == 1  # session lost: it stops rather than lead twice
    assert "ZooKeeper session lost" in leader.log()
    assert _status(standby) == "ALIVE"


def test_ensemble_survives_a_member_and_pauses_without_quorum(
    cluster: Cluster, zk_ensemble: Ensemble
) -> None:
    conf = _ha_conf(zk_ensemble, "minispark.zookeeper.sessionTimeout=20s")
    master = cluster.master(*conf)
    wait_for(lambda: _status(master) == "ALIVE", "a leader")
    url = format_master_url([("127.0.0.1", master.port)])
    cluster.worker(url, cores=2, memory="1g")
    cluster.wait_registered(master, 1)
    zk_ensemble.member(zk_ensemble.leader()).stop()  # one member down: still a quorum
    with SparkContext(conf=_app_conf(url).set("spark.cores.max", "1")) as sc:
        sc.wait_for_executors(1)
        stopped = zk_ensemble.stop_majority()  # no quorum now
        wait_for(lambda: "scheduling paused" in master.log(), "the master to pause")
        assert sc.parallelize(range(100), 4).sum() == 4950  # running jobs go on
        for index in stopped:
            zk_ensemble.member(index).start()
        zk_ensemble.wait_for_quorum()
        wait_for(lambda: "scheduling resumes" in master.log(), "scheduling to resume")
        assert _status(master) == "ALIVE"


def test_unreachable_ensemble_gives_a_waiting_standby(cluster: Cluster) -> None:
    from minispark.driver.localcluster import free_port

    closed = free_port()
    master = cluster.master(
        "spark.deploy.recoveryMode=ZOOKEEPER",
        f"spark.deploy.zookeeper.url=127.0.0.1:{closed}",
    )
    wait_for(lambda: "waiting for ZooKeeper" in master.log(), "the waiting message")
    assert master.alive()
    assert http(f"{master.web}/healthz")[0] == 200
    assert http(f"{master.web}/readyz") == (503, "STANDBY\n")
    assert "Traceback" not in master.log()


def test_cluster_mode_driver_survives_a_leader_failover(
    cluster: Cluster, zk_ensemble: Ensemble, tmp_path: Path
) -> None:
    leader, standby, url = _two_masters(cluster, _ha_conf(zk_ensemble))
    cluster.worker(url, cores=3, memory="2g")
    cluster.wait_registered(leader, 1)
    app = tmp_path / "steady.py"
    app.write_text(
        "import time\n"
        "from minispark import SparkContext\n"
        "with SparkContext(appName='steady') as sc:\n"
        "    end = time.time() + 12\n"
        "    while time.time() < end:\n"
        "        assert sc.parallelize(range(10), 2).sum() == 45\n"
    )
    driver_id = submit(url, app, "--supervise")
    wait_for(lambda: driver_state(leader, driver_id) == "RUNNING", "the driver to run")
    leader.signal(signal.SIGKILL)
    wait_for(lambda: _alive_with_workers(standby, 1), "the standby to lead")
    assert driver_state(standby, driver_id) == "RUNNING"  # learnt from the worker, same id
    wait_for(lambda: driver_state(standby, driver_id) == "FINISHED", "the driver to finish", 120)
    status = cli("status", url, driver_id)
    assert "FINISHED" in status.stdout, status.stderr


def test_zookeeper_members_restarted_one_by_one(cluster: Cluster, zk_ensemble: Ensemble) -> None:
    """A rolling restart of the ensemble: the leader keeps its session and keeps leading."""
    leader, standby, url = _two_masters(cluster, _ha_conf(zk_ensemble))
    cluster.worker(url, cores=2, memory="1g")
    cluster.wait_registered(leader, 1)
    for index in range(zk_ensemble.size):
        zk_ensemble.member(index).restart()
        zk_ensemble.wait_for_quorum()
    assert _status(leader) == "ALIVE" and _status(standby) == "STANDBY"
    with SparkContext(conf=_app_conf(url)) as sc:
        assert sc.parallelize(range(10)).sum() == 45  # scheduling works after the roll


def test_submission_to_a_standby_only_is_refused(
    cluster: Cluster, zk_ensemble: Ensemble, tmp_path: Path
) -> None:
    _, standby, _ = _two_masters(cluster, _ha_conf(zk_ensemble))
    app = tmp_path / "app.py"
    app.write_text("print('never runs')\n")
    only_standby = format_master_url([("127.0.0.1", standby.port)])
    result = cli("submit", "--deploy-mode", "cluster", "--master", only_standby, str(app))
    assert result.returncode == 2
    assert "no master answered as the leader" in result.stderr and "a standby" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_app_unknown_to_the_new_leader_gets_executors_with_fresh_ids(
    cluster: Cluster, zk_ensemble: Ensemble
) -> None:
    """A leader that never heard of a running application (its record was not persisted)
    takes it back when it re-registers; the executors it then grants must not reuse the ids
    of the ones the driver already had, or the driver mixes them up and the job stalls."""
    from kazoo.client import KazooClient

    conf = _ha_conf(zk_ensemble)
    root = next(c.split("=", 1)[1] for c in conf if c.startswith("spark.deploy.zookeeper.dir="))
    leader, standby, url = _two_masters(cluster, conf)
    workers = [cluster.worker(url, cores=1, memory="1g") for _ in range(2)]
    cluster.wait_registered(leader, 2)
    with SparkContext(conf=_app_conf(url)) as sc:
        old_ids = {e.exec_id for e in sc.wait_for_executors(2)}
        zk = KazooClient(hosts=zk_ensemble.connect_string)
        zk.start(timeout=10)
        try:
            zk.delete(f"{root}/master_status/app_{sc.applicationId}")
        finally:
            zk.stop()
            zk.close()
        leader.signal(signal.SIGKILL)
        wait_for(lambda: _alive_with_workers(standby, 2), "the standby to lead with 2 workers")
        # The workers go away with the executors the new leader never knew, as in a roll.
        for worker in workers:
            worker.signal(signal.SIGKILL)
        for _ in range(2):
            cluster.worker(url, cores=1, memory="1g")
        result: list[int] = []
        job = threading.Thread(target=lambda: result.append(sc.parallelize(range(100), 4).sum()))
        job.start()
        job.join(timeout=120)
        assert result == [4950], "the job did not finish on the new executors"
        new_ids = {e.exec_id for e in sc.executors()}
        assert new_ids and not new_ids & old_ids, (old_ids, new_ids)

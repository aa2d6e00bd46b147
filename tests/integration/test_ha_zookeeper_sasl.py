"""Masters that log in to a SASL ensemble: they elect and fail over, keep their tree to
themselves, take over a tree left open by masters from before, and a wrong password stops
a master with one line."""

from __future__ import annotations

import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kazoo.client import KazooClient
from kazoo.exceptions import NoAuthError

from tests.zk import launch
from tests.zk.ensemble import Ensemble

from .harness import Cluster, wait_for
from .test_ha_zookeeper import _alive_with_workers, _status, _two_masters

pytestmark = pytest.mark.zookeeper

USER, PASSWORD = "spark", "masters-password"


@pytest.fixture
def sasl_ensemble(tmp_path: Path) -> Iterator[Ensemble]:
    problem = launch.problem()
    if problem is not None:
        pytest.fail(problem, pytrace=False)
    sasl = launch.Sasl(clients={USER: PASSWORD}, quorum_password="members-password")
    ensemble = Ensemble(tmp_path / "zk", sasl=sasl)
    try:
        ensemble.start()
        yield ensemble
    finally:
        ensemble.stop()


def _conf(zk: Ensemble, root: str, password_file: Path | None) -> tuple[str, ...]:
    login = (
        (f"spark.deploy.zookeeper.sasl.username={USER}",
         f"spark.deploy.zookeeper.sasl.passwordFile={password_file}")
        if password_file else ()
    )  # fmt: skip
    return (
        "spark.deploy.recoveryMode=ZOOKEEPER",
        f"spark.deploy.zookeeper.url={zk.connect_string}",
        f"spark.deploy.zookeeper.dir={root}",
        "minispark.zookeeper.sessionTimeout=3s",
        *login,
    )


def _password(tmp_path: Path, text: str) -> Path:
    path = tmp_path / f"zk-{uuid.uuid4().hex[:6]}.secret"
    path.write_text(text + "\n")
    path.chmod(0o600)
    return path


def _anonymous_refused(zk: Ensemble, root: str) -> bool:
    client = KazooClient(hosts=zk.connect_string)
    client.start(timeout=30)
    try:
        for attempt in (lambda: client.get_children(root), lambda: client.create(f"{root}/x")):
            with pytest.raises(NoAuthError):
                attempt()
        return True
    finally:
        client.stop()
        client.close()


def test_sasl_masters_elect_fail_over_and_close_the_tree(
    cluster: Cluster, sasl_ensemble: Ensemble, tmp_path: Path
) -> None:
    root = f"/spark-{uuid.uuid4().hex[:8]}"
    leader, standby, url = _two_masters(
        cluster, _conf(sasl_ensemble, root, _password(tmp_path, PASSWORD))
    )
    cluster.worker(url)
    cluster.wait_registered(leader, 1)
    assert _anonymous_refused(sasl_ensemble, root)
    assert _anonymous_refused(sasl_ensemble, f"{root}/master_status")
    leader.signal(signal.SIGKILL)
    wait_for(lambda: _alive_with_workers(standby, 1), "the standby to lead with the worker")


def test_open_tree_is_taken_over_and_its_records_recovered(
    cluster: Cluster, sasl_ensemble: Ensemble, tmp_path: Path
) -> None:
    root = f"/spark-{uuid.uuid4().hex[:8]}"
    # Deployed before this change: no SASL, open ACLs, a worker's record persisted.
    old = cluster.master(*_conf(sasl_ensemble, root, None))
    wait_for(lambda: _status(old) == "ALIVE", "the old master to lead")
    url = f"minispark://127.0.0.1:{old.port}"
    cluster.worker(url)
    cluster.wait_registered(old, 1)
    old.signal(signal.SIGKILL)
    new = cluster.master(*_conf(sasl_ensemble, root, _password(tmp_path, PASSWORD)))
    # The worker's record survived the take-over: the new leader reads it and recovers it.
    wait_for(lambda: "recovering 1 workers" in new.log(), "the SASL master to read the record")
    assert "took over" in new.log()
    assert _anonymous_refused(sasl_ensemble, root)
    assert _anonymous_refused(sasl_ensemble, f"{root}/master_status")


def test_wrong_password_stops_the_master_with_one_line(
    cluster: Cluster, sasl_ensemble: Ensemble, tmp_path: Path
) -> None:
    root = f"/spark-{uuid.uuid4().hex[:8]}"
    master = cluster.master(*_conf(sasl_ensemble, root, _password(tmp_path, "not-it")))
    assert master.proc.wait(60) == 1
    refusals = [line for line in master.log().splitlines() if "refused the SASL login" in line]
    assert len(refusals) == 1 and "passwordFile" in refusals[0]
    assert "Traceback" not in master.log()


def test_missing_password_file_is_one_line(cluster: Cluster, sasl_ensemble: Ensemble,
                                           tmp_path: Path) -> None:  # fmt: skip
    missing = tmp_path / "absent.secret"
    master = cluster.master(*_conf(sasl_ensemble, "/spark", missing), wait=False)
    assert master.proc.wait(60) == 2
    lines = [line for line in master.log().splitlines() if line.strip()]
    assert any(str(missing) in line and "does not exist" in line for line in lines), lines

"""The ensemble behaves like a real one: it elects, serves kazoo, survives a lost leader and
stops serving without a majority. Timeouts here guard against hangs; none is a speed limit.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from kazoo.client import KazooClient
from kazoo.exceptions import KazooException
from kazoo.handlers.threading import KazooTimeoutError
from kazoo.retry import KazooRetry

from tests.zk import launch
from tests.zk.ensemble import Ensemble

pytestmark = pytest.mark.zookeeper

HANG_GUARD = 60.0
# Long enough for a write to reach a quorum that exists; a write without one never completes.
NO_QUORUM_WAIT = 5.0


@contextlib.contextmanager
def kazoo(hosts: str) -> Iterator[Any]:
    """A started kazoo client that keeps trying the hosts it is given until the guard runs out."""
    client = KazooClient(
        hosts=hosts,
        timeout=4.0,
        connection_retry=KazooRetry(max_tries=-1, max_delay=1.0, deadline=HANG_GUARD),
    )
    client.start(timeout=HANG_GUARD)
    try:
        yield client
    finally:
        client.stop()
        client.close()


def wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + HANG_GUARD
    while not condition():
        assert time.monotonic() < deadline, "condition still false after the hang guard"
        time.sleep(0.1)


def test_config_names_only_loopback_and_distinct_ports(tmp_path: Path) -> None:
    ensemble = Ensemble(tmp_path, size=3)
    ports = [p for m in ensemble.members for p in (m.ports.client, m.ports.peer, m.ports.election)]
    assert len(set(ports)) == 9
    expected = ",".join(f"127.0.0.1:{m.ports.client}" for m in ensemble.members)
    assert ensemble.connect_string == expected
    for member in ensemble.members:
        assert (member.directory / "data" / "myid").read_text().strip() == str(member.myid)
        cfg = (member.directory / "zoo.cfg").read_text()
        servers = [line for line in cfg.splitlines() if line.startswith("server.")]
        assert len(servers) == 3
        assert all("=127.0.0.1:" in line for line in servers)
        assert f"clientPortAddress={launch.LOOPBACK}" in cfg


def test_elects_one_leader_and_two_followers(zk_ensemble: Ensemble) -> None:
    modes = zk_ensemble.modes()
    assert sorted(m or "down" for m in modes) == ["follower", "follower", "leader"]
    assert modes[zk_ensemble.leader()] == "leader"


def test_members_listen_on_loopback_only(zk_ensemble: Ensemble) -> None:
    for member in zk_ensemble.members:
        assert member.pid is not None
        listening = [
            conn.laddr
            for conn in psutil.Process(member.pid).net_connections(kind="inet")
            if conn.status == psutil.CONN_LISTEN
        ]
        # Client port and election port on every member; the leader also has its peer port.
        assert {member.ports.client, member.ports.election} <= {addr.port for addr in listening}
        assert {addr.ip for addr in listening} == {launch.LOOPBACK}


def test_kazoo_creates_and_reads_a_znode(zk_ensemble: Ensemble) -> None:
    with kazoo(zk_ensemble.connect_string) as client:
        client.create("/minispark/master", b"spark://m1:7077", makepath=True)
    # Every member serves the committed write, not just the one that took it.
    for member in zk_ensemble.members:
        with kazoo(member.address) as client:
            client.sync("/minispark/master")
            assert client.get("/minispark/master")[0] == b"spark://m1:7077"


def test_killing_the_leader_elects_another_and_keeps_data(zk_ensemble: Ensemble) -> None:
    with kazoo(zk_ensemble.connect_string) as client:
        client.create("/minispark/state", b"before", makepath=True)
    old_leader = zk_ensemble.leader()
    zk_ensemble.member(old_leader).kill()

    new_leader = zk_ensemble.wait_for_quorum(HANG_GUARD)

    assert new_leader != old_leader
    with kazoo(zk_ensemble.connect_string) as client:
        assert client.get("/minispark/state")[0] == b"before"
        client.set("/minispark/state", b"after")
    # The killed member rejoins as a follower and catches up with what it missed.
    zk_ensemble.member(old_leader).start()
    assert zk_ensemble.wait_for_quorum(HANG_GUARD) == new_leader
    assert zk_ensemble.member(old_leader).mode() == "follower"
    with kazoo(zk_ensemble.member(old_leader).address) as client:
        client.sync("/minispark/state")
        assert client.get("/minispark/state")[0] == b"after"


def test_no_writes_without_a_majority_until_one_member_returns(zk_ensemble: Ensemble) -> None:
    with kazoo(zk_ensemble.connect_string) as client:
        client.create("/minispark/before", b"1", makepath=True)
        stopped = zk_ensemble.stop_majority()
        assert len(stopped) == 2
        with pytest.raises((KazooException, KazooTimeoutError)):
            client.create_async("/minispark/during", b"2").get(timeout=NO_QUORUM_WAIT)
    # The survivor is up but, without a quorum, does not serve (a leader notices within
    # syncLimit ticks that its followers are gone).
    wait_until(lambda: zk_ensemble.modes() == [None, None, None])

    zk_ensemble.member(stopped[0]).start()
    zk_ensemble.wait_for_quorum(HANG_GUARD)

    with kazoo(zk_ensemble.connect_string) as client:
        client.create("/minispark/after", b"3")
        assert client.get("/minispark/before")[0] == b"1"
        assert client.get("/minispark/after")[0] == b"3"


def test_stop_is_idempotent_and_leaves_no_process(tmp_path: Path) -> None:
    ensemble = Ensemble(tmp_path, size=1)
    with ensemble:
        assert ensemble.modes() == ["leader"]
        pid = ensemble.member(0).pid
        assert pid is not None
    ensemble.stop()
    assert not psutil.pid_exists(pid)
    assert ensemble.modes() == [None]

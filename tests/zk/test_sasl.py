"""A SASL ensemble: members authenticate to each other, clients log in with DIGEST-MD5, and
nodes made with a `sasl:<user>` ACL are closed to anonymous clients and wrong passwords.
Timeouts here guard against hangs; none is a speed limit.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kazoo.client import KazooClient
from kazoo.exceptions import (
    AuthFailedError,
    ConnectionClosedError,
    KazooException,
    NoAuthError,
)
from kazoo.retry import KazooRetry
from kazoo.security import make_acl

from tests.zk import launch
from tests.zk.ensemble import Ensemble
from tests.zk.test_ensemble import HANG_GUARD, wait_until

pytestmark = pytest.mark.zookeeper

USER, PASSWORD = "spark", "masters-password"
SASL = launch.Sasl(clients={USER: PASSWORD}, quorum_password="members-password")
REFUSED = "Failed to authenticate using SASL"  # what a member logs for a wrong quorum password


@contextlib.contextmanager
def client(hosts: str, login: tuple[str, str] | None = None) -> Iterator[Any]:
    """A started kazoo client, logged in as `login` (user, password) if given."""
    sasl = None
    if login is not None:
        sasl = {"mechanism": "DIGEST-MD5", "username": login[0], "password": login[1]}
    zk = KazooClient(
        hosts=hosts,
        timeout=4.0,
        connection_retry=KazooRetry(max_tries=-1, max_delay=1.0, deadline=HANG_GUARD),
        sasl_options=sasl,
        default_acl=[make_acl("sasl", login[0], all=True)] if login else None,
    )
    zk.start(timeout=HANG_GUARD)
    try:
        yield zk
    finally:
        zk.stop()
        zk.close()


def started(tmp_path: Path, sasl: launch.Sasl) -> Ensemble:
    problem = launch.problem()
    if problem is not None:
        pytest.fail(problem, pytrace=False)
    ensemble = Ensemble(tmp_path / "zk", sasl=sasl)
    ensemble.start()
    return ensemble


@pytest.fixture
def sasl_ensemble(tmp_path: Path) -> Iterator[Ensemble]:
    ensemble = started(tmp_path, SASL)
    try:
        yield ensemble
    finally:
        ensemble.stop()


def test_jaas_and_config_carry_both_sides(tmp_path: Path) -> None:
    ensemble = Ensemble(tmp_path, size=3, sasl=SASL)
    member = ensemble.member(0)
    jaas = member.directory / "jaas.conf"
    assert jaas.stat().st_mode & 0o777 == 0o600
    text = jaas.read_text()
    for section in ("Server {", "QuorumServer {", "QuorumLearner {"):
        assert section in text
    assert f'user_{USER}="{PASSWORD}"' in text
    cfg = (member.directory / "zoo.cfg").read_text()
    assert "quorum.auth.learnerRequireSasl=true" in cfg
    assert "quorum.auth.serverRequireSasl=true" in cfg
    assert any(arg.endswith("jaas.conf") for arg in launch.argv(member.directory, sasl=True))


def test_members_with_quorum_sasl_form_a_quorum(sasl_ensemble: Ensemble) -> None:
    modes = sasl_ensemble.modes()  # srvr answers without a login: health probes keep working
    assert sorted(m or "down" for m in modes) == ["follower", "follower", "leader"]
    # The members really authenticated each other, rather than ignoring the settings.
    logs = "".join(m.log_file.read_text() for m in sasl_ensemble.members)
    assert "Successfully completed the authentication using SASL" in logs


def test_a_member_with_the_wrong_quorum_password_cannot_join(tmp_path: Path) -> None:
    ensemble = Ensemble(tmp_path / "zk", sasl=SASL)
    ensemble.configure(2, launch.Sasl(SASL.clients, quorum_password="not-the-members"))
    try:
        ensemble.member(0).start()
        ensemble.member(1).start()
        ensemble.wait_for_quorum(HANG_GUARD)
        ensemble.member(2).start()
        # Polled until the others have refused it: it never serves meanwhile.
        logs = [ensemble.member(i).log_file for i in (0, 1)]
        wait_until(lambda: any(REFUSED in f.read_text(errors="replace") for f in logs))
        assert ensemble.member(2).mode() is None
        assert sorted(str(m) for m in ensemble.modes()[:2]) == ["follower", "leader"]
    finally:
        ensemble.stop()


def test_sasl_acl_closes_the_tree_to_others(sasl_ensemble: Ensemble) -> None:
    hosts = sasl_ensemble.connect_string
    with client(hosts, (USER, PASSWORD)) as zk:
        zk.create("/spark/master_status/worker_1", b"record", makepath=True)
        acls, _ = zk.get_acls("/spark")
        assert [(a.id.scheme, a.id.id, a.perms) for a in acls] == [("sasl", USER, 31)]
        assert zk.get("/spark/master_status/worker_1")[0] == b"record"
    with client(hosts) as anonymous:
        attempts: list[Callable[[], object]] = [
            lambda: anonymous.get("/spark"),
            lambda: anonymous.get_children("/spark"),
            lambda: anonymous.create("/spark/intruder", b""),
            lambda: anonymous.set("/spark", b"x"),
            lambda: anonymous.delete("/spark", recursive=True),
        ]
        for attempt in attempts:
            with pytest.raises(NoAuthError):
                attempt()
    assert_refused(hosts, (USER, "wrong-password"))
    assert_refused(hosts, ("mallory", PASSWORD))


def assert_refused(hosts: str, login: tuple[str, str]) -> None:
    """A session that logs in as `login` can read nothing under /spark.

    kazoo reports the session connected before it authenticates, so start() returns, or
    times out when the refusal came first. The server answers a wrong password with
    AUTH_FAILED, which ends the session; for an unknown user it sometimes lets the exchange
    end without an error and the session goes on as an anonymous one (NoAuthError).
    """
    zk = KazooClient(
        hosts=hosts,
        sasl_options={"mechanism": "DIGEST-MD5", "username": login[0], "password": login[1]},
    )
    try:
        zk.start_async().wait(HANG_GUARD)
        for _ in range(2):  # the first request may race the refusal; the second may not pass
            with pytest.raises((AuthFailedError, NoAuthError, ConnectionClosedError)):
                zk.get("/spark")
    finally:
        zk.stop()
        zk.close()


def test_enforcing_ensemble_refuses_anonymous_sessions_everywhere(tmp_path: Path) -> None:
    ensemble = started(tmp_path, launch.Sasl(SASL.clients, SASL.quorum_password, enforce=True))
    try:
        with client(ensemble.connect_string, (USER, PASSWORD)) as zk:
            zk.create("/allowed", b"")
        assert ensemble.modes().count("leader") == 1  # four-letter words need no session
        with client(ensemble.connect_string) as anonymous, pytest.raises(KazooException):
            anonymous.create("/elsewhere", b"")
    finally:
        ensemble.stop()

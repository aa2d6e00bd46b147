"""ZooKeeper's rolling switch to quorum SASL, as the zookeeper role performs it: three phases
(enableSasl; then learnerRequireSasl; then serverRequireSasl), one member restarted at a time
in each, and the ensemble keeps a leader and serves writes after every restart. Jumping one
member straight to the last phase leaves it outside the ensemble, which is why the role steps.
Timeouts here guard against hangs; none is a speed limit.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.zk import launch
from tests.zk.ensemble import Ensemble
from tests.zk.test_ensemble import HANG_GUARD, kazoo, wait_until

pytestmark = pytest.mark.zookeeper

CLIENTS = {"spark": "masters-password"}
QUORUM_PASSWORD = "members-password"
# The phases the role numbers 1-3 (roles/zookeeper/vars/main.yml); phase 0 is no SASL at all.
PHASES: dict[int, launch.Sasl | None] = {
    0: None,
    1: launch.Sasl(CLIENTS, QUORUM_PASSWORD, learner_required=False, server_required=False),
    2: launch.Sasl(CLIENTS, QUORUM_PASSWORD, learner_required=True, server_required=False),
    3: launch.Sasl(CLIENTS, QUORUM_PASSWORD, learner_required=True, server_required=True),
}
AUTHENTICATED = "Successfully completed the authentication using SASL"


def unsecured(tmp_path: Path) -> Ensemble:
    problem = launch.problem()
    if problem is not None:
        pytest.fail(problem, pytrace=False)
    ensemble = Ensemble(tmp_path / "zk")
    ensemble.start()
    return ensemble


def assert_serves(ensemble: Ensemble, through: int, label: str) -> None:
    """One leader, every running member serving under it, and a write through member
    `through` read back through another running member."""
    ensemble.wait_for_quorum(HANG_GUARD)
    assert ensemble.modes().count("leader") == 1, (label, ensemble.modes())
    reader = next(m.index for m in ensemble.members if m.running and m.index != through)
    write_and_read(ensemble, through, reader, label)


def write_and_read(ensemble: Ensemble, writer: int, reader: int, label: str) -> None:
    path = "/rollout/" + label.replace(" ", "-")
    with kazoo(ensemble.member(writer).address) as client:
        client.create(path, label.encode(), makepath=True)
    with kazoo(ensemble.member(reader).address) as client:
        client.sync(path)
        assert client.get(path)[0] == label.encode(), label


def test_three_rolling_restarts_switch_on_quorum_sasl_without_losing_quorum(
    tmp_path: Path,
) -> None:
    ensemble = unsecured(tmp_path)
    try:
        for phase in (1, 2, 3):
            leader = ensemble.leader()
            # Followers first and the leader last, as upgrade.yml orders them.
            order = [i for i in range(ensemble.size) if i != leader] + [leader]
            for index in order:
                ensemble.configure(index, PHASES[phase])
                member = ensemble.member(index)
                member.stop()
                # The two members left still make a quorum while this one is down.
                assert_serves(ensemble, order[0] if index != order[0] else order[1],
                              f"phase {phase} without member {index}")  # fmt: skip
                member.start()
                assert_serves(ensemble, index, f"phase {phase} member {index} restarted")
        for member in ensemble.members:
            cfg = (member.directory / "zoo.cfg").read_text()
            assert "quorum.auth.serverRequireSasl=true" in cfg, member
        # The members really authenticate each other now.
        logs = "".join(m.log_file.read_text(errors="replace") for m in ensemble.members)
        assert AUTHENTICATED in logs
    finally:
        ensemble.stop()


def test_a_member_jumping_straight_to_the_last_phase_cannot_join(tmp_path: Path) -> None:
    ensemble = unsecured(tmp_path)
    try:
        jumper = next(i for i in range(ensemble.size) if i != ensemble.leader())
        ensemble.configure(jumper, PHASES[3])
        member = ensemble.member(jumper)
        member.stop()
        log_before = member.log_file.read_text(errors="replace")
        member.start()
        # Polled until the jumper has tried and failed to authenticate with the leader, which
        # does not speak SASL; meanwhile and after, it never serves, and the others do.
        wait_until(lambda: _refused(member.log_file, len(log_before)))
        assert member.running and member.mode() is None
        others = [i for i in range(ensemble.size) if i != jumper]
        assert sorted(str(ensemble.member(i).mode()) for i in others) == ["follower", "leader"]
        write_and_read(ensemble, others[0], others[1], "without the jumper")
        assert member.mode() is None
    finally:
        ensemble.stop()


def _refused(log_file: Path, offset: int) -> bool:
    text = log_file.read_text(errors="replace")[offset:]
    return "Failed to authenticate using SASL" in text or "SaslException" in text

"""The fab tasks' logic with fake hosts: dry runs touch nothing, unhealthy clusters are not
rolled, failover reports its downtime, and the small tasks do what they say."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
from pathlib import Path

import pytest

from minispark.ops import commands
from minispark.ops.certs import Expiry
from minispark.ops.commands import RollRequest, Session
from minispark.ops.errors import RemoteError, UsageError
from tests.unit.opsfakes import FakeActions, FakeCluster, FakeTime, touched
from tests.unit.test_ops_wheel import make_wheelhouse

REPO = Path(__file__).resolve().parents[2]


class Harness:
    def __init__(self, cluster: FakeCluster | None = None, answer: bool = True) -> None:
        self.cluster = cluster or FakeCluster()
        self.actions = FakeActions(self.cluster)
        self.said: list[str] = []
        self.time = FakeTime()
        self.questions: list[str] = []

        def confirm(question: str) -> bool:
            self.questions.append(question)
            return answer

        self.session = Session(
            self.cluster.inventory,
            self.cluster,
            self.actions,
            say=self.said.append,
            confirm=confirm,
            clock=self.time.clock,
            sleep=self.time.sleep,
        )

    @property
    def text(self) -> str:
        return "\n".join(self.said)


# ---- dry runs -----------------------------------------------------------------------------


def test_a_dry_run_prints_the_plan_and_touches_nothing() -> None:
    h = Harness()
    code = commands.rolling_restart(h.session, RollRequest("all", dry_run=True))
    assert code == 0
    assert touched(h.actions.calls) == []
    assert h.said[0] == "Plan: rolling restart of all, 9 steps:"
    assert "  3. m2           zookeeper         leader" in h.said[1]
    assert h.said[-1] == "Dry run: nothing was changed."
    assert h.questions == []


def test_every_changing_task_has_a_dry_run_that_touches_nothing(tmp_path: Path) -> None:
    h = Harness()
    wheelhouse = str(make_wheelhouse(tmp_path / "wh"))
    request = RollRequest("all", dry_run=True)
    assert commands.upgrade(h.session, request, wheelhouse, build=False) == 0
    assert commands.upgrade(h.session, request, None, build=True) == 0  # nothing is built
    assert commands.failover(h.session, dry_run=True, timeout=10, consecutive=1) == 0
    assert commands.decommission(h.session, "w1", dry_run=True, drain_timeout=5) == 0
    assert commands.recommission(h.session, "w1", dry_run=True, consecutive=1, timeout=5) == 0
    assert touched(h.actions.calls) == []
    assert h.actions.installed == {}
    assert "A real run would build the wheelhouse" in h.text
    assert "ZooKeeper members are not upgraded by a wheel: skipping them." in h.text


# ---- rolls --------------------------------------------------------------------------------


def test_an_unhealthy_cluster_is_not_rolled_without_force() -> None:
    cluster = FakeCluster()
    cluster.workers["w2"]["state"] = "DEAD"
    h = Harness(cluster)
    assert commands.rolling_restart(h.session, RollRequest("workers", yes=True)) == 1
    assert touched(h.actions.calls) == []
    assert "Refusing to roll: the cluster is not healthy (fix it, or pass --force):" in h.text
    assert "- 2 of 3 workers are ALIVE" in h.text
    forced = Harness(cluster)
    request = RollRequest("masters", yes=True, force=True, consecutive=1)
    assert commands.rolling_restart(forced.session, request) == 0
    assert "rolling anyway (--force)" in forced.text
    assert len(touched(forced.actions.calls)) == 3


def test_the_operator_is_asked_before_a_roll() -> None:
    h = Harness(answer=False)
    assert commands.rolling_restart(h.session, RollRequest("workers")) == 1
    assert h.questions == ["Roll 3 steps?"]
    assert touched(h.actions.calls) == []
    yes = Harness(answer=True)
    assert commands.rolling_restart(yes.session, RollRequest("workers", consecutive=1)) == 0
    assert len(touched(yes.actions.calls)) == 6


def test_a_stopped_roll_says_how_to_resume() -> None:
    h = Harness()
    h.actions.fail = {"w2"}
    code = commands.rolling_restart(h.session, RollRequest("all", yes=True, consecutive=1))
    assert code == 1
    last = h.said[-1]
    assert last.startswith("Stopped after 7 steps in ")
    assert "w2 failed: hosts after it were not touched." in last
    assert "resume with: fab rolling-restart ... --skip 7 (or --from w2)" in last
    assert not [c for c in h.actions.calls if "w3" in c]


def test_a_full_roll_reports_the_time_without_a_leader() -> None:
    h = Harness()
    assert commands.rolling_restart(h.session, RollRequest("all", yes=True, consecutive=2)) == 0
    assert re.search(
        r"^Done: 9 steps in [\d.]+s; longest time without a leader: \d+ ms\.$", h.said[-1]
    )


def test_upgrade_installs_masters_and_workers_before_their_restart(tmp_path: Path) -> None:
    h = Harness()
    wheelhouse = str(make_wheelhouse(tmp_path / "wh"))
    request = RollRequest("all", yes=True, consecutive=1)
    assert commands.upgrade(h.session, request, wheelhouse, build=False) == 0
    calls = touched(h.actions.calls)
    assert not [c for c in calls if c.endswith("zookeeper")]
    assert calls[:2] == ["install m1", "restart m1 minispark-master"]
    assert calls[-3:] == ["decommission w3", "install w3", "restart w3 minispark-worker"]
    assert set(h.actions.installed) == {"m1", "m2", "m3", "w1", "w2", "w3"}


def test_roll_options_are_checked_before_anything_happens(tmp_path: Path) -> None:
    h = Harness()
    for request, message in [
        (RollRequest("all", consecutive=0), "--consecutive 0: give at least 1"),
        (RollRequest("all", batch=0), "--batch 0: give at least 1"),
        (RollRequest("all", skip=2, start="w1"), "give --skip or --from, not both"),
        (RollRequest("brokers"), "unknown group 'brokers'"),
    ]:
        with pytest.raises(UsageError, match=re.escape(message)):
            commands.rolling_restart(h.session, request)
    with pytest.raises(UsageError, match="give --wheel PATH or --build"):
        commands.upgrade(h.session, RollRequest("all"), None, build=False)
    with pytest.raises(UsageError, match="not upgraded by a wheel"):
        commands.upgrade(h.session, RollRequest("zookeeper"), str(tmp_path), build=False)
    assert h.actions.calls == []


# ---- failover, decommission, recommission, logs, status ---------------------------------


def test_failover_hands_over_and_reports_milliseconds() -> None:
    h = Harness()
    assert commands.failover(h.session, dry_run=False, timeout=30, consecutive=2) == 0
    assert h.said[0] == "Leader: m3; standbys: m1, m2."
    assert re.fullmatch(r"Leadership moved from m3 to m1: no leader for \d+ ms\.", h.said[1])
    assert h.said[2].startswith("m3 serves again as a standby")
    assert touched(h.actions.calls) == ["restart m3 minispark-master"]


def test_failover_needs_a_leader_and_a_standby() -> None:
    h = Harness(FakeCluster(masters={"m1": "ALIVE", "m2": "UNREACHABLE", "m3": "UNREACHABLE"}))
    with pytest.raises(RemoteError, match=r"no STANDBY master could take over \(m1 ALIVE, m2 UNR"):
        commands.failover(h.session, dry_run=False, timeout=30, consecutive=1)
    h = Harness(FakeCluster(masters={"m1": "STANDBY", "m2": "STANDBY", "m3": "STANDBY"}))
    with pytest.raises(RemoteError, match="no master is ALIVE"):
        commands.failover(h.session, dry_run=False, timeout=30, consecutive=1)
    assert touched(h.actions.calls) == []


def test_decommission_waits_for_the_drain_and_says_when_it_did_not_end() -> None:
    h = Harness()
    assert commands.decommission(h.session, "w2", dry_run=False, drain_timeout=5) == 0
    assert h.said[0] == (
        "Decommissioned worker-w2-0 on w2 through m3: no new executors land there."
    )
    assert h.said[1].startswith("No executor runs on w2 any more")
    busy = Harness(FakeCluster(busy={"w1"}))
    assert commands.decommission(busy.session, "w1", dry_run=False, drain_timeout=5) == 0
    assert busy.said[-1] == (
        "After 5s executors still use 1 cores on w1; they finish with their applications."
    )
    with pytest.raises(UsageError, match="m1 is not a worker"):
        commands.decommission(h.session, "m1", dry_run=False, drain_timeout=5)


def test_recommission_restarts_the_worker_until_it_registers_afresh() -> None:
    cluster = FakeCluster()
    cluster.workers["w1"]["state"] = "DECOMMISSIONED"
    h = Harness(cluster)
    assert commands.recommission(h.session, "w1", dry_run=False, consecutive=2, timeout=10) == 0
    assert touched(h.actions.calls) == ["restart w1 minispark-worker"]
    assert cluster.workers["w1"]["state"] == "ALIVE"
    assert "worker-w1-1" in h.said[-1]


def test_logs_default_to_the_units_the_host_runs() -> None:
    h = Harness()
    assert commands.logs(h.session, "m1", None, None, 20) == 0
    assert h.actions.calls == ["journal m1 zookeeper minispark-master"]
    assert commands.logs(h.session, "w1", "minispark-worker", "10 min ago", 5) == 0
    assert h.actions.calls[-1] == "journal w1 minispark-worker"
    with pytest.raises(UsageError, match="unknown host 'x'"):
        commands.logs(h.session, "x", None, None, 20)


def test_status_shows_host_names_beside_addresses() -> None:
    h = Harness()
    assert commands.status(h.session) == 0
    assert h.said[0].startswith("Inventory inventory/test: 3 ZooKeeper members, 3 masters")
    table = h.said[1]
    assert re.search(r"^m2 10\.77\.0\.12:2181 +leader$", table, re.M)
    assert re.search(r"^m3 10\.77\.0\.13:8080 +ALIVE$", table, re.M)
    assert "Leader: m3 10.77.0.13:8080" in table
    assert "w3 w3.internal:7078" in table
    assert h.said[-1] == "Healthy."


def test_errors_become_one_line_and_an_exit_code() -> None:
    def usage() -> int:
        raise UsageError("unknown host 'x'")

    def remote() -> int:
        raise RemoteError("w1: `systemctl restart minispark-worker` failed (exit 1): masked")

    assert commands.main_errors("fab logs", usage) == (2, "fab logs: error: unknown host 'x'")
    code, line = commands.main_errors("fab recommission", remote)
    assert code == 1 and line is not None and line.startswith("fab recommission: w1: `systemctl")
    assert commands.main_errors("fab status", lambda: 0) == (0, None)


def test_the_fab_logic_loads_only_the_standard_library() -> None:
    """Fabric comes in only when a host is contacted (remote.open_connection)."""
    code = f"""
import sys
sys.path.insert(0, {str(REPO)!r})
before = set(sys.modules)
from minispark.ops import cluster, commands, errors, handover, inventory, plan, remote, roll
from minispark.ops import sshargs, wheel
new = {{name.partition(".")[0] for name in set(sys.modules) - before}}
print(sorted(new - set(sys.stdlib_module_names) - {{"minispark"}}))
"""
    done = subprocess.run(
        [sys.executable, "-I", "-c", code], capture_output=True, text=True, check=True
    )
    assert done.stdout.splitlines() == ["[]"]


def test_status_shows_certificate_expiry_and_warns_thirty_days_ahead() -> None:
    now = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)
    h = Harness()
    h.session.now = lambda: now
    h.cluster.expiries = [
        Expiry("master m1", "10.77.0.11:8080", now + dt.timedelta(days=200, hours=1)),
        Expiry("worker w1", "10.77.0.14:8081", now + dt.timedelta(days=10, hours=1)),
        Expiry("worker w2", "w2.internal:8081", reason="cannot connect: Connection refused"),
    ]
    assert commands.status(h.session) == 0
    assert re.search(r"^master m1 +10\.77\.0\.11:8080 +2027-06-21 +200$", h.text, re.M)
    assert re.search(r"^worker w2 +w2\.internal:8081 +\? +\? +cannot connect", h.text, re.M)
    assert "WARNING: the certificate of worker w1 10.77.0.14:8081 expires in 10 days" in h.text
    assert h.said[-1] == "Healthy."


def test_an_expired_certificate_is_a_problem_in_status() -> None:
    now = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)
    h = Harness()
    h.session.now = lambda: now
    h.cluster.expiries = [Expiry("master m2", "10.77.0.12:18080", now - dt.timedelta(days=2))]
    assert commands.status(h.session) == 0
    assert re.search(r"^master m2 +10\.77\.0\.12:18080 +2026-12-01 +-2 +EXPIRED$", h.text, re.M)
    assert h.said[-1] == (
        "Problems:\n- the certificate of master m2 10.77.0.12:18080 expired on "
        "2026-12-01 12:00 UTC: run fab rotate-credentials"
    )

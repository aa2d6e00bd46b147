"""A roll through fake hosts: plan order, one leader change, and a stop at the first failure
that leaves every later host untouched."""

from __future__ import annotations

from minispark.ops.plan import Step
from minispark.ops.roll import Outcome, Roll, RollOptions
from tests.unit.opsfakes import FakeActions, FakeCluster, plan_of, touched

QUICK = RollOptions(interval=0.001, gate_timeout=0.3, drain_timeout=0.05, poll_interval=0.001)
ALL_RESTARTS = [
    "restart m1 zookeeper", "restart m3 zookeeper", "restart m2 zookeeper",
    "restart m1 minispark-master", "restart m2 minispark-master", "restart m3 minispark-master",
    "decommission w1", "restart w1 minispark-worker",
    "decommission w2", "restart w2 minispark-worker",
    "decommission w3", "restart w3 minispark-worker",
]  # fmt: skip


def roll(
    cluster: FakeCluster,
    actions: FakeActions,
    steps: list[Step],
    options: RollOptions = QUICK,
    **kwargs: object,
) -> tuple[Outcome, list[str]]:
    said: list[str] = []
    outcome = Roll(cluster, actions, options, say=said.append, **kwargs).run(steps)  # type: ignore[arg-type]
    return outcome, said


def test_a_full_roll_visits_every_host_in_plan_order() -> None:
    cluster = FakeCluster()
    actions = FakeActions(cluster)
    outcome, said = roll(cluster, actions, plan_of(cluster))
    assert outcome.ok and outcome.done == 9, said
    assert touched(actions.calls) == ALL_RESTARTS
    # One planned failover: the ALIVE master (m3) went last and m1 took over.
    assert [(h.old, h.new) for h in outcome.handovers] == [("m3", "m1")]
    assert cluster.masters == {"m1": "ALIVE", "m2": "STANDBY", "m3": "STANDBY"}
    assert outcome.longest_leaderless is not None and outcome.longest_leaderless < 5
    steps = [line for line in said if line.startswith("[")]
    assert len(steps) == 9
    assert steps[0].startswith("[1/9] m1 zookeeper: restarted in ")
    assert "leader m3 -> m1, no leader for" in steps[5]
    assert steps[6].startswith("[7/9] w1 minispark-worker: w1 drained in ")
    assert all(w["state"] == "ALIVE" for w in cluster.workers.values())


def test_a_failed_restart_stops_the_roll_there_and_shows_the_hosts_log() -> None:
    cluster = FakeCluster()
    actions = FakeActions(cluster, fail={"w2"})
    outcome, said = roll(cluster, actions, plan_of(cluster))
    assert not outcome.ok
    assert outcome.failed == Step("w2", "minispark_worker", "ALIVE")
    assert (outcome.position, outcome.done) == (8, 7)
    assert touched(actions.calls) == ALL_RESTARTS[:10]  # nothing of w3
    assert actions.calls[-1] == "journal w2 minispark-worker"
    text = "\n".join(said)
    assert "[8/9] w2 minispark-worker: FAILED on w2: w2: `systemctl restart" in text
    assert "Last 50 lines of minispark-worker on w2 (journalctl):" in text
    assert "    -- w2 minispark-worker said goodbye --" in text


def test_a_host_that_fails_its_health_gate_stops_the_roll() -> None:
    cluster = FakeCluster(broken={"m2"})
    actions = FakeActions(cluster)
    outcome, said = roll(cluster, actions, plan_of(cluster, "masters"))
    assert outcome.failed is not None and outcome.failed.host == "m2"
    assert touched(actions.calls) == ["restart m1 minispark-master", "restart m2 minispark-master"]
    assert cluster.masters["m3"] == "ALIVE"  # the leader was never touched
    failure = next(line for line in said if "FAILED" in line)
    assert "health gate (serve, one leader, 3 checks in a row) not passed within 0.3s" in failure
    assert "master m2 UNREACHABLE" in failure


def test_a_zookeeper_member_that_does_not_rejoin_stops_the_roll() -> None:
    cluster = FakeCluster(broken={"m1"})
    actions = FakeActions(cluster)
    outcome, _ = roll(cluster, actions, plan_of(cluster))
    assert outcome.failed is not None and outcome.failed.host == "m1"
    assert touched(actions.calls) == ["restart m1 zookeeper"]


def test_a_failed_leader_restart_stops_the_roll_before_the_workers() -> None:
    cluster = FakeCluster()
    actions = FakeActions(cluster, fail={"m3"})
    outcome, said = roll(
        cluster, actions, plan_of(cluster, "masters") + plan_of(cluster, "workers")
    )
    assert outcome.failed is not None and outcome.failed.host == "m3"
    assert touched(actions.calls)[-1] == "restart m3 minispark-master"
    assert not [c for c in actions.calls if "w1" in c]
    assert outcome.handovers == []
    assert "unit is masked" in "\n".join(said)


def test_workers_in_batches_drain_together_and_restart_anyway_after_the_bound() -> None:
    cluster = FakeCluster(busy={"w1"})
    actions = FakeActions(cluster)
    options = RollOptions(interval=0.001, gate_timeout=0.3, drain_timeout=0.05, batch=2)
    outcome, said = roll(cluster, actions, plan_of(cluster, "workers"), options)
    assert outcome.ok, said
    assert touched(actions.calls) == [
        "decommission w1", "decommission w2",
        "restart w1 minispark-worker", "restart w2 minispark-worker",
        "decommission w3", "restart w3 minispark-worker",
    ]  # fmt: skip
    assert any(line.startswith("    w1: not drained within 0.05s") for line in said)
    assert [line.split(":")[0] for line in said if line.startswith("[")] == [
        "[1-2/3] w1, w2 minispark-worker",
        "[3/3] w3 minispark-worker",
    ]


def test_a_batch_names_the_worker_that_failed() -> None:
    cluster = FakeCluster(broken={"w2"})
    actions = FakeActions(cluster)
    options = RollOptions(interval=0.001, gate_timeout=0.2, drain_timeout=0.0, batch=2)
    outcome, _ = roll(cluster, actions, plan_of(cluster, "workers"), options)
    assert outcome.failed is not None and outcome.failed.host == "w2"
    assert outcome.position == 2
    assert not [c for c in actions.calls if "w3" in c]
    assert actions.calls[-1] == "journal w2 minispark-worker"


def test_the_upgrade_hook_runs_once_per_host_after_the_drain_before_the_restart() -> None:
    cluster = FakeCluster()
    actions = FakeActions(cluster)
    steps = plan_of(cluster, "masters") + plan_of(cluster, "workers")

    def install(host: str) -> str:
        actions.calls.append(f"install {host}")
        return "installed"

    outcome, _ = roll(cluster, actions, steps, before_restart=install)
    assert outcome.ok
    calls = touched(actions.calls)
    assert calls[:6] == [
        "install m1", "restart m1 minispark-master",
        "install m2", "restart m2 minispark-master",
        "install m3", "restart m3 minispark-master",
    ]  # fmt: skip
    assert calls[6:9] == ["decommission w1", "install w1", "restart w1 minispark-worker"]
    assert sum(c.startswith("install") for c in calls) == 6


def test_a_leader_that_moved_since_the_plan_still_goes_last() -> None:
    cluster = FakeCluster(masters={"m1": "ALIVE", "m2": "STANDBY", "m3": "STANDBY"})
    steps = plan_of(cluster, "masters")
    assert [s.host for s in steps] == ["m2", "m3", "m1"]
    cluster.masters = {"m1": "STANDBY", "m2": "ALIVE", "m3": "STANDBY"}  # moved meanwhile
    actions = FakeActions(cluster)
    outcome, said = roll(cluster, actions, steps)
    assert outcome.ok
    assert touched(actions.calls) == [
        "restart m3 minispark-master", "restart m1 minispark-master",
        "restart m2 minispark-master",
    ]  # fmt: skip
    assert "m2 leads minispark-master now: it goes last" in said
    assert [(h.old, h.new) for h in outcome.handovers] == [("m2", "m1")]


def test_numbers_continue_from_the_skipped_steps() -> None:
    cluster = FakeCluster()
    actions = FakeActions(cluster)
    steps = plan_of(cluster)
    said: list[str] = []
    outcome = Roll(cluster, actions, QUICK, say=said.append).run(steps[7:], skipped=7)
    assert outcome.ok
    assert [line[:6] for line in said if line.startswith("[")] == ["[8/9] ", "[9/9] "]
    assert touched(actions.calls) == ALL_RESTARTS[8:]

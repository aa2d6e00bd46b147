"""The order a roll visits hosts in: leaders last, batches, resuming with --skip / --from."""

from __future__ import annotations

import pytest

from minispark.ops import plan
from minispark.ops.errors import UsageError
from minispark.ops.plan import Step
from tests.unit.opsfakes import FakeCluster, canned_inventory, plan_of

ZK, MASTERS, WORKERS = "zookeeper", "minispark_master", "minispark_worker"


def order(steps: list[Step]) -> list[str]:
    return [f"{s.host}/{s.unit}" for s in steps]


def test_all_is_zookeeper_then_masters_then_workers_each_leader_last() -> None:
    steps = plan_of()
    assert order(steps) == [
        "m1/zookeeper", "m3/zookeeper", "m2/zookeeper",  # m2 leads the ensemble
        "m1/minispark-master", "m2/minispark-master", "m3/minispark-master",  # m3 is ALIVE
        "w1/minispark-worker", "w2/minispark-worker", "w3/minispark-worker",
    ]  # fmt: skip
    assert [s.state for s in steps[:6]] == [
        "follower", "follower", "leader", "STANDBY", "STANDBY", "ALIVE",
    ]  # fmt: skip
    assert [s.leads for s in steps] == [False, False, True, False, False, True] + [False] * 3


def test_one_group_at_a_time() -> None:
    cluster = FakeCluster(masters={"m1": "ALIVE", "m2": "UNREACHABLE", "m3": "STANDBY"})
    # A master that does not answer goes with the standbys: it cannot be the leader.
    assert order(plan_of(cluster, "masters")) == [
        "m2/minispark-master", "m3/minispark-master", "m1/minispark-master",
    ]  # fmt: skip
    assert order(plan_of(cluster, "zookeeper"))[-1] == "m2/zookeeper"
    assert [s.host for s in plan_of(cluster, "workers")] == ["w1", "w2", "w3"]
    with pytest.raises(UsageError, match="unknown group 'brokers': use one of zookeeper, masters"):
        plan.groups_for("brokers")


def test_skip_and_from_resume_a_plan() -> None:
    steps = plan_of()
    assert plan.resume(steps, skip=4) == steps[4:]
    assert plan.resume(steps, start="w2") == steps[7:]
    assert plan.resume(steps, start="m3") == steps[1:]  # its first step: the ZooKeeper one
    assert plan.resume(steps) == steps
    with pytest.raises(UsageError, match="give --skip or --from, not both"):
        plan.resume(steps, skip=1, start="w2")
    with pytest.raises(UsageError, match=r"--skip 10: the plan has only 9 steps"):
        plan.resume(steps, skip=10)
    with pytest.raises(UsageError, match=r"--from w9: not in the plan \(its hosts: m1, m3, m2, w1"):
        plan.resume(steps, start="w9")


def test_workers_go_in_batches_and_other_steps_alone() -> None:
    steps = plan_of()
    grouped = plan.batches(steps, 2)
    assert [[s.host for s in batch] for batch in grouped] == [
        ["m1"], ["m3"], ["m2"], ["m1"], ["m2"], ["m3"], ["w1", "w2"], ["w3"],
    ]  # fmt: skip
    assert len(plan.batches(steps, 1)) == 9
    with pytest.raises(UsageError):
        plan.batches(steps, 0)


def test_a_leader_that_moved_still_goes_last() -> None:
    masters = plan_of(group="masters")  # m1, m2 standbys, m3 ALIVE
    moved = plan.leader_moved(masters, MASTERS, "m1")
    assert [(s.host, s.state) for s in moved] == [
        ("m2", "STANDBY"), ("m3", "was ALIVE"), ("m1", "ALIVE"),
    ]  # fmt: skip
    assert plan.leader_moved(masters, MASTERS, "m3") == masters
    assert plan.leader_moved(masters, MASTERS, None) == masters
    # Only that group's steps move; the steps around them stay in place.
    steps = plan_of()
    moved = plan.leader_moved(steps[3:], MASTERS, "m2")
    expected = [*order(steps[3:4]), "m3/minispark-master", "m2/minispark-master"]
    assert order(moved) == [*expected, *order(steps[6:])]


def test_the_printed_plan_numbers_steps_as_the_full_plan_does() -> None:
    steps = plan_of()
    text = plan.render(steps[7:], skipped=7)
    assert text.splitlines() == [
        "  8. w2           minispark-worker  ALIVE",
        "  9. w3           minispark-worker  ALIVE",
    ]
    assert plan.render([]) == "  (nothing to do)"


def test_inventory_order_decides_among_followers() -> None:
    inv = canned_inventory()
    steps = plan.leader_last(ZK, inv.zookeepers, {"m1": "leader"})
    assert [s.host for s in steps] == ["m2", "m3", "m1"]
    assert [s.state for s in steps] == ["UNREACHABLE", "UNREACHABLE", "leader"]

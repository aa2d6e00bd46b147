"""The history server in the operator's tools: the plan, the roll, the table, the problems.

The probes themselves run against a real history server in
tests/integration/test_ops_secure.py.
"""

from __future__ import annotations

import dataclasses
import json

from minispark.ops import plan, table
from minispark.ops.cluster import labelled, states
from minispark.ops.history import HistoryReading
from minispark.ops.inventory import HISTORY, Inventory, parse
from minispark.ops.probes import Snapshot
from minispark.ops.roll import Roll, RollOptions
from tests.unit.opsfakes import LISTING, FakeActions, FakeCluster, touched

QUICK = RollOptions(interval=0.001, gate_timeout=0.3, drain_timeout=0.05, poll_interval=0.001)


def with_history(port: int = 18080) -> Inventory:
    """The canned inventory with m1 in the minispark_history group."""
    listing = json.loads(LISTING.read_text())
    listing["all"]["children"].append(HISTORY)
    listing[HISTORY] = {"hosts": ["m1"]}
    listing["_meta"]["hostvars"]["m1"]["minispark_history_webui_port"] = port
    return parse(listing, "inventory/test")


def reading(state: str = "UP", reason: str = "") -> dict[str, object]:
    found = HistoryReading("10.77.0.11:18080", state, 3, 2, reason)
    return dataclasses.asdict(found)


def test_the_history_server_rolls_last_and_alone() -> None:
    inv = with_history()
    assert inv.host("m1").history_web == "10.77.0.11:18080"
    assert inv.host("m1").units == ["zookeeper", "minispark-master", "minispark-history"]
    cluster = FakeCluster(inventory=inv)
    steps = plan.make_plan(plan.groups_for("all"), inv, states(inv, cluster.snapshot()))
    assert [(s.host, s.unit, s.state) for s in steps[-2:]] == [
        ("w3", "minispark-worker", "ALIVE"),
        ("m1", "minispark-history", "UNREACHABLE"),  # the fake snapshot has no reading
    ]
    assert plan.groups_for("history") == [HISTORY]


def test_a_history_step_restarts_and_waits_for_the_gate() -> None:
    inv = with_history()
    cluster = FakeCluster(inventory=inv)
    actions = FakeActions(cluster)
    steps = plan.make_plan([HISTORY], inv, {})
    said: list[str] = []
    outcome = Roll(cluster, actions, QUICK, say=said.append).run(steps)
    assert outcome.ok, said
    assert touched(actions.calls) == ["restart m1 minispark-history"]
    cluster.broken.add("m1")
    outcome = Roll(cluster, actions, QUICK, say=said.append).run(steps)
    assert not outcome.ok
    assert "health gate (list its logs" in outcome.reason, outcome.reason


def test_the_table_and_the_problems_show_the_history_server() -> None:
    snap = Snapshot([], [], None, [], [], [], history=[reading()])
    text = table.render(labelled(with_history(), snap))
    assert "HISTORY SERVER" in text and "m1 10.77.0.11:18080  UP     3" in text, text
    assert snap.problems() == []
    down = dataclasses.replace(snap, history=[reading("UNREACHABLE", "cannot connect")])
    assert down.problems() == ["history server 10.77.0.11:18080 is UNREACHABLE (cannot connect)"]
    assert states(with_history(), snap)[HISTORY] == {"m1": "UP"}

"""The order a roll visits hosts in, from the cluster's live state. Pure functions, stdlib only.

ZooKeeper followers go first and the leader last, so the ensemble elects once; standby masters
first and the leading master last, so leadership moves once; workers in inventory order, in
batches; the history server last (nothing depends on it; drivers resend what it missed).
``--group all`` is ZooKeeper, then masters, workers and the history server: each tier
restarts on a healthy tier below it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from .errors import UsageError
from .inventory import HISTORY, MASTERS, UNITS, WORKERS, ZOOKEEPER, Host, Inventory
from .probes import ALIVE

ROLL_GROUPS = {"zookeeper": ZOOKEEPER, "masters": MASTERS, "workers": WORKERS, "history": HISTORY}
ALL = "all"
# The state of the host that leads its tier: ZooKeeper's mode, a master's status.
LEADER_STATE = {ZOOKEEPER: "leader", MASTERS: ALIVE}


@dataclass(frozen=True)
class Step:
    """One host's turn: restart ``group``'s unit there. ``state`` is what it was when planned."""

    host: str
    group: str
    state: str

    @property
    def unit(self) -> str:
        return UNITS[self.group]

    @property
    def leads(self) -> bool:
        """It led its tier when planned (workers have no leader)."""
        return self.state == LEADER_STATE.get(self.group)


def groups_for(name: str) -> list[str]:
    """The inventory groups that ``--group name`` rolls, in rolling order."""
    if name == ALL:
        return [ZOOKEEPER, MASTERS, WORKERS, HISTORY]
    if name not in ROLL_GROUPS:
        choices = ", ".join([*ROLL_GROUPS, ALL])
        raise UsageError(f"unknown group {name!r}: use one of {choices}")
    return [ROLL_GROUPS[name]]


def leader_last(group: str, hosts: Sequence[Host], states: Mapping[str, str]) -> list[Step]:
    """Hosts in inventory order, the one whose state says it leads moved to the end.

    A host with no state (it did not answer) goes with the followers: restarting it cannot
    cost the cluster its leader.
    """
    steps = [Step(h.name, group, states.get(h.name, "UNREACHABLE")) for h in hosts]
    return [s for s in steps if not s.leads] + [s for s in steps if s.leads]


def make_plan(
    groups: Iterable[str], inventory: Inventory, states: Mapping[str, Mapping[str, str]]
) -> list[Step]:
    """Every step of a roll over the inventory's ``groups``; ``states`` maps group, then host,
    to its ZooKeeper mode, master status or worker state."""
    steps: list[Step] = []
    for group in groups:
        own, hosts = states.get(group, {}), inventory.group(group)
        if group == WORKERS:
            steps += [Step(h.name, group, own.get(h.name, "UNREGISTERED")) for h in hosts]
        elif group == HISTORY:  # no leader: inventory order
            steps += [Step(h.name, group, own.get(h.name, "UNREACHABLE")) for h in hosts]
        else:
            steps += leader_last(group, hosts, own)
    return steps


def resume(steps: Sequence[Step], skip: int = 0, start: str | None = None) -> list[Step]:
    """The plan without its first ``skip`` steps, or from the first step on host ``start``."""
    if skip and start:
        raise UsageError("give --skip or --from, not both")
    if skip < 0:
        raise UsageError(f"--skip {skip}: give a number of steps, 0 or more")
    if skip > len(steps):
        raise UsageError(f"--skip {skip}: the plan has only {len(steps)} steps")
    if start is None:
        return list(steps[skip:])
    for index, step in enumerate(steps):
        if step.host == start:
            return list(steps[index:])
    names = ", ".join(dict.fromkeys(s.host for s in steps)) or "none"
    raise UsageError(f"--from {start}: not in the plan (its hosts: {names})")


def batches(steps: Sequence[Step], size: int) -> list[list[Step]]:
    """Consecutive worker steps in groups of ``size``; every other step alone."""
    if size < 1:
        raise UsageError(f"--batch {size}: give at least 1")
    out: list[list[Step]] = []
    for step in steps:
        last = out[-1] if out else []
        if step.group == WORKERS and last and last[0].group == WORKERS and len(last) < size:
            last.append(step)
        else:
            out.append([step])
    return out


def leader_moved(remaining: Sequence[Step], group: str, leader: str | None) -> list[Step]:
    """``remaining`` with the step of ``group`` on ``leader`` moved to the end of that group's
    steps: leadership may have moved since the plan was made, and the leader still goes last."""
    own = [s for s in remaining if s.group == group]
    if not own or leader is None or leader not in {s.host for s in own}:
        return list(remaining)
    others = [s for s in own if s.host != leader]
    reordered = [Step(s.host, group, "was " + s.state if s.leads else s.state) for s in others]
    reordered.append(Step(leader, group, LEADER_STATE[group]))
    first = next(i for i, s in enumerate(remaining) if s.group == group)
    rest = [s for s in remaining if s.group != group]
    return rest[:first] + reordered + rest[first:]


def render(steps: Sequence[Step], skipped: int = 0) -> str:
    """The plan as numbered lines, numbered as in the full plan (for --skip)."""
    width = len(str(len(steps) + skipped))
    lines = [
        f"  {index:>{width}}. {step.host:<12} {step.unit:<17} {step.state}"
        for index, step in enumerate(steps, start=skipped + 1)
    ]
    return "\n".join(lines) or "  (nothing to do)"

"""A pretend cluster and pretend hosts for the roll and the fab tasks: no SSH, no daemons.

``FakeActions.restart`` changes ``FakeCluster`` the way a real restart changes the real
cluster: a restarted leader hands over, a restarted worker registers with a new id. Hosts
can be told to fail their restart or never to come back, and every call is recorded in one
shared journal so that tests can check what was touched, and in which order.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from minispark.ops import plan
from minispark.ops.certs import Expiry
from minispark.ops.cluster import states
from minispark.ops.errors import RemoteError
from minispark.ops.gate import Check
from minispark.ops.inventory import Inventory, parse
from minispark.ops.plan import Step
from minispark.ops.probes import Reading, Snapshot
from minispark.ops.tls import Tls
from minispark.ops.wheel import Wheelhouse

LISTING = Path(__file__).with_name("ansible_inventory_list.json")


def canned_inventory() -> Inventory:
    """Three masters that are the ZooKeeper ensemble, three workers (see the JSON file)."""
    return parse(json.loads(LISTING.read_text()), "inventory/test")


class FakeTime:
    """A clock that moves only when someone sleeps, or when a test says a call took a while."""

    def __init__(self, start: float = 100.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@dataclass
class FakeCluster:
    inventory: Inventory = field(default_factory=canned_inventory)
    zookeeper: dict[str, str] = field(
        default_factory=lambda: {"m1": "follower", "m2": "leader", "m3": "follower"}
    )
    masters: dict[str, str] = field(
        default_factory=lambda: {"m1": "STANDBY", "m2": "STANDBY", "m3": "ALIVE"}
    )
    workers: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Hosts whose daemon does not come back healthy after a restart.
    broken: set[str] = field(default_factory=set)
    # Hosts whose executors never end (a long application).
    busy: set[str] = field(default_factory=set)
    calls: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Each web certificate's expiry, as certificates() reports them (empty: TLS off).
    expiries: list[Expiry] = field(default_factory=list)
    # The secrets each daemon's web port accepts ("master m1", "worker w1", ...).
    accepted: dict[str, set[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for index, host in enumerate(["w1", "w2", "w3"]):
            self.workers.setdefault(host, {"id": f"worker-{host}-0", "state": "ALIVE"})
            self.workers[host]["n"] = index
        for daemon in self.daemons:
            self.accepted.setdefault(daemon, {"old-secret"})

    @property
    def daemons(self) -> list[str]:
        return [f"master {m}" for m in self.masters] + [f"worker {w}" for w in self.workers]

    def rotate(self, new: str, *, skip: Sequence[str] = (), keep_old: Sequence[str] = ()) -> None:
        """What the rotation playbook does: every daemon takes ``new`` and drops the rest,
        except ``skip`` (never reached) and ``keep_old`` (still accepting the old ones too)."""
        for daemon in self.daemons:
            if daemon in skip:
                continue
            self.accepted[daemon] = self.accepted[daemon] | {new} if daemon in keep_old else {new}

    # ---- what a restart does ---------------------------------------------------------------

    def restarted(self, host: str, unit: str) -> None:
        with self.lock:
            if unit == "zookeeper":
                self._zookeeper(host)
            elif unit == "minispark-master":
                self._master(host)
            elif unit == "minispark-history":
                pass  # it comes back (or not: history_serves reads ``broken``)
            else:
                old = self.workers[host]
                new_id = f"worker-{host}-{int(old['id'].rsplit('-', 1)[1]) + 1}"
                state = "DEAD" if host in self.broken else "ALIVE"
                self.workers[host] = {"id": new_id, "state": state, "n": old["n"]}

    def _zookeeper(self, host: str) -> None:
        if self.zookeeper[host] == "leader":
            heir = next(h for h in self.zookeeper if h != host)
            self.zookeeper[heir] = "leader"
        self.zookeeper[host] = "ERROR" if host in self.broken else "follower"

    def _master(self, host: str) -> None:
        if self.masters[host] == "ALIVE":
            standbys = [h for h, s in self.masters.items() if s == "STANDBY" and h != host]
            if standbys:
                self.masters[standbys[0]] = "ALIVE"
        self.masters[host] = "UNREACHABLE" if host in self.broken else "STANDBY"

    # ---- roll.ClusterView ------------------------------------------------------------------

    def leader(self, group: str) -> str | None:
        if group == "minispark_master":
            return self.leading_master()
        return next((h for h, mode in self.zookeeper.items() if mode == "leader"), None)

    def leading_master(self) -> str | None:
        alive = [h for h, s in self.masters.items() if s == "ALIVE"]
        return alive[0] if len(alive) == 1 else None

    def worker_ids(self, name: str) -> set[str]:
        return {self.workers[name]["id"]}

    def decommission(self, name: str) -> tuple[str, list[str]]:
        self.calls.append(f"decommission {name}")
        worker = self.workers[name]
        if worker["state"] != "ALIVE":
            return "m3", []
        worker["state"] = "DECOMMISSIONED"
        return "m3", [worker["id"]]

    def zookeeper_serves(self, name: str) -> Check:
        def check() -> tuple[bool, str]:
            modes = list(self.zookeeper.values())
            ok = self.zookeeper[name] != "ERROR" and modes.count("leader") == 1
            return ok, f"zookeeper {name} is {self.zookeeper[name]}"

        return check

    def master_serves(self, name: str) -> Check:
        def check() -> tuple[bool, str]:
            one = list(self.masters.values()).count("ALIVE") == 1
            return one and self.masters[
                name
            ] != "UNREACHABLE", f"master {name} {self.masters[name]}"

        return check

    def worker_serves(self, name: str, before: set[str]) -> Check:
        def check() -> tuple[bool, str]:
            worker = self.workers[name]
            fresh = worker["state"] == "ALIVE" and worker["id"] not in before
            return fresh, f"worker on {name} is {worker['state']} ({worker['id']})"

        return check

    def drained(self, name: str) -> Check:
        return lambda: (name not in self.busy, f"executors still use 1 cores on {name}")

    def history_serves(self, name: str) -> Check:
        return lambda: (name not in self.broken, f"history server {name} lists its logs")

    # ---- commands.Cluster ------------------------------------------------------------------

    def certificates(self) -> list[Expiry]:
        return list(self.expiries)

    def refusals(self, secret: str, tls: Tls | None) -> dict[str, str | None]:
        return {
            d: None if secret in self.accepted[d] else f"{d} refuses it (HTTP 401)"
            for d in self.daemons
        }

    def snapshot(self) -> Snapshot:
        inv = self.inventory
        zookeepers = [Reading(h.zookeeper_address, self.zookeeper[h.name]) for h in inv.zookeepers]
        masters = [Reading(h.master_web, self.masters[h.name]) for h in inv.masters]
        lead = self.leading_master()
        workers = [
            {
                "id": w["id"], "host": inv.host(name).advertise, "port": 7078,
                "state": w["state"], "cores": 2, "coresused": 0, "memory": 1024, "memoryused": 0,
            }
            for name, w in self.workers.items()
        ]  # fmt: skip
        return Snapshot(
            zookeepers=zookeepers,
            masters=masters,
            leader=inv.host(lead).master_web if lead else None,
            workers=workers if lead else [],
            apps=[],
            drivers=[],
        )


@dataclass
class FakeActions:
    """Host actions against a FakeCluster; ``fail`` hosts' restarts fail outright."""

    cluster: FakeCluster
    fail: set[str] = field(default_factory=set)
    installed: dict[str, str] = field(default_factory=dict)

    @property
    def calls(self) -> list[str]:
        return self.cluster.calls

    def restart(self, host: str, unit: str) -> None:
        self.calls.append(f"restart {host} {unit}")
        if host in self.fail:
            raise RemoteError(f"{host}: `systemctl restart {unit}` failed (exit 1): unit is masked")
        self.cluster.restarted(host, unit)

    def journal(
        self, host: str, units: Sequence[str], *, lines: int, since: str | None = None
    ) -> str:
        self.calls.append(f"journal {host} {' '.join(units)}")
        return f"-- {host} {' '.join(units)} said goodbye --\n-- and did not come back --"

    def install(self, host: str, wheelhouse: Wheelhouse) -> str:
        self.calls.append(f"install {host}")
        self.installed[host] = wheelhouse.digest
        return f"installed {wheelhouse.short}"

    def close(self) -> None:
        self.calls.append("close")


def touched(calls: Sequence[str]) -> list[str]:
    """The calls that change something (journal reads and close do not)."""
    return [c for c in calls if c.split()[0] in ("restart", "decommission", "install")]


def plan_of(cluster: FakeCluster | None = None, group: str = "all") -> list[Step]:
    """The plan a roll of ``group`` makes from the fake cluster's current state."""
    cluster = cluster or FakeCluster()
    inv = cluster.inventory
    return plan.make_plan(plan.groups_for(group), inv, states(inv, cluster.snapshot()))

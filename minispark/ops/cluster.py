"""The live cluster of an inventory, seen from the operator's machine. Stdlib only.

Everything a roll asks the cluster (who leads, is this host healthy again, decommission a
worker) goes through the probes and checks the playbooks use, addressed by inventory host
name: the roll never deals in addresses.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from . import certs, checks, history, probes
from .certs import Expiry
from .credentials import Credentials
from .gate import Check
from .inventory import HISTORY, MASTERS, WORKERS, ZOOKEEPER, Host, Inventory
from .probes import ALIVE, ProbeError, Reading, Snapshot
from .tls import Tls

# Polls during a handover must come often: a master that is restarting answers quickly
# (refused), one that is gone may not answer at all.
POLL_TIMEOUT = 1.0


def all_of(*parts: Check) -> Check:
    """A check that holds when every part does; the first part that fails says why."""

    def check() -> tuple[bool, str]:
        said = []
        for part in parts:
            ok, reason = part()
            if not ok:
                return False, reason
            said.append(reason)
        return True, "; ".join(said)

    return check


@dataclass
class EnsembleServes:
    """Every member serves in one quorum with exactly one leader (a lone member: standalone)."""

    members: list[str]
    timeout: float = probes.DEFAULT_TIMEOUT

    def __call__(self) -> tuple[bool, str]:
        modes = {m: probes.zookeeper_mode(m, self.timeout) for m in self.members}
        wanted = ("standalone",) if len(self.members) == 1 else checks.QUORUM_MODES
        odd = [f"{m} runs {mode}" for m, mode in modes.items() if mode not in wanted]
        if odd:
            return False, "zookeeper " + ", ".join(odd)
        leaders = [m for m, mode in modes.items() if mode in ("leader", "standalone")]
        if len(leaders) != 1:
            return False, f"the ensemble has {len(leaders)} leaders"
        return True, f"zookeeper ensemble serves, {leaders[0]} leads"


@dataclass
class FreshWorker:
    """The leader lists an ALIVE worker on the host that was not there before the restart."""

    alive: checks.WorkerAlive
    before: set[str] = field(default_factory=set)

    def __call__(self) -> tuple[bool, str]:
        ok, reason = self.alive()
        worker = self.alive.worker or {}
        if ok and worker.get("id") in self.before:
            return False, f"worker {worker.get('id')} on {self.alive.host} has not re-registered"
        return ok, reason


@dataclass
class LiveCluster:
    """The cluster behind ``inventory``; ``secret`` for daemons with spark.authenticate,
    ``tls`` (the cluster CA) for web ports that speak HTTPS (or ``loader`` for both)."""

    inventory: Inventory
    secret: str | None = None
    timeout: float = probes.DEFAULT_TIMEOUT
    tls: Tls | None = None
    # Where secret and tls come from instead, read on first use: a task that only reads the
    # inventory (or fails on a bad host name) does not need the credentials to exist.
    loader: Callable[[], Credentials] | None = None

    @functools.cached_property
    def auth(self) -> Credentials:
        return self.loader() if self.loader else Credentials(self.secret, self.tls)

    @property
    def master_webs(self) -> list[str]:
        return [h.master_web for h in self.inventory.masters]

    @property
    def zookeeper_addresses(self) -> list[str]:
        return [h.zookeeper_address for h in self.inventory.zookeepers]

    @property
    def web_daemons(self) -> list[tuple[str, str]]:
        """("master m1", address), ("worker w1", address) and ("history m1", address) of every
        web port, masters first."""
        return (
            [(f"master {h.name}", h.master_web) for h in self.inventory.masters]
            + [(f"worker {h.name}", h.worker_web) for h in self.inventory.workers]
            + [(f"history {h.name}", h.history_web) for h in self.inventory.history]
        )

    def _host(self, name: str) -> Host:
        return self.inventory.host(name)

    def _name_of(self, address: str | None, hosts: Iterable[Host], attribute: str) -> str | None:
        return next((h.name for h in hosts if getattr(h, attribute) == address), None)

    # ---- state --------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        found = probes.cluster_snapshot(
            self.master_webs,
            self.zookeeper_addresses,
            self.timeout,
            secret=self.auth.secret,
            tls=self.auth.tls,
        )
        webs = [h.history_web for h in self.inventory.history]
        return history.with_history(
            found, webs, self.timeout, secret=self.auth.secret, tls=self.auth.tls
        )

    def certificates(self) -> list[Expiry]:
        """Every master's, worker's and history server's web certificate expiry (empty without
        TLS)."""
        if self.auth.tls is None:
            return []
        daemons = dict(self.web_daemons)
        found = probes.in_parallel(lambda d: certs.expiry(d, daemons[d], self.timeout), daemons)
        return list(found.values())

    def refusals(self, secret: str, tls: Tls | None) -> dict[str, str | None]:
        """Per daemon, why its web port refuses ``secret`` (None: it accepts it), trusting
        ``tls`` (a rotation may have brought a new CA, so not necessarily ours)."""
        daemons = dict(self.web_daemons)

        def refusal(daemon: str) -> str | None:
            # A page that needs the secret: the history server has no /json.
            path = history.APPLICATIONS if daemon.startswith("history ") else "/json"
            try:
                status, _ = probes.web_call(
                    daemons[daemon], path, what=f"{daemon} {daemons[daemon]}",
                    secret=secret, timeout=self.timeout, tls=tls,
                )  # fmt: skip
            except ProbeError as exc:
                return str(exc)
            if status == 200:
                return None
            if status == 401:
                return f"{daemon} {daemons[daemon]} refuses it (HTTP 401)"
            return f"{daemon} {daemons[daemon]}: GET {path} answered HTTP {status}"

        return probes.in_parallel(refusal, daemons)

    def leader(self, group: str) -> str | None:
        """The host that leads ``group`` (ZooKeeper or masters) now; None if none does."""
        if group == MASTERS:
            return self.leading_master()
        for host in self.inventory.zookeepers:
            try:
                if probes.zookeeper_mode(host.zookeeper_address, self.timeout) == "leader":
                    return host.name
            except ProbeError:
                continue
        return None

    def leading_master(self) -> str | None:
        try:
            web = probes.leader(
                self.master_webs, POLL_TIMEOUT, secret=self.auth.secret, tls=self.auth.tls
            )
        except ProbeError:  # several ALIVE: none of them is *the* leader
            return None
        return self._name_of(web, self.inventory.masters, "master_web")

    def worker_ids(self, name: str) -> set[str]:
        """Ids of every worker the leader lists on the host (none if no master leads)."""
        host = self._host(name)
        try:
            _, state = probes.leading_state(
                self.master_webs, self.timeout, secret=self.auth.secret, tls=self.auth.tls
            )
        except ProbeError:
            return set()
        return {
            str(w.get("id")) for w in state.get("workers", []) if w.get("host") == host.advertise
        }

    # ---- changes ------------------------------------------------------------------------

    def decommission(self, name: str) -> tuple[str, list[str]]:
        """Decommission the host's workers through the leader: (leader host, worker ids)."""
        host = self._host(name)
        web, _ = probes.leading_state(
            self.master_webs, self.timeout, secret=self.auth.secret, tls=self.auth.tls
        )
        ids = probes.decommission_worker(
            web, host.advertise, secret=self.auth.secret, tls=self.auth.tls
        )
        return self._name_of(web, self.inventory.masters, "master_web") or web, ids

    # ---- health checks for gate.wait_until ----------------------------------------------

    def zookeeper_serves(self, name: str) -> Check:
        host = self._host(name)
        alone = len(self.inventory.zookeepers) == 1
        member = checks.ZookeeperServes(host.zookeeper_address, allow_standalone=alone)
        return all_of(member, EnsembleServes(self.zookeeper_addresses))

    def master_serves(self, name: str) -> Check:
        host = self._host(name)
        answers = checks.MasterStatus(
            host.master_web, checks.ANY, secret=self.auth.secret, tls=self.auth.tls
        )
        return all_of(
            answers,
            checks.SingleLeader(self.master_webs, secret=self.auth.secret, tls=self.auth.tls),
        )

    def worker_serves(self, name: str, before: set[str]) -> Check:
        host = self._host(name)
        alive = checks.WorkerAlive(
            self.master_webs, host.advertise, secret=self.auth.secret, tls=self.auth.tls
        )
        return FreshWorker(alive, before)

    def history_serves(self, name: str) -> Check:
        host = self._host(name)
        return history.HistoryServes(host.history_web, secret=self.auth.secret, tls=self.auth.tls)

    def drained(self, name: str) -> Check:
        host = self._host(name)
        return checks.WorkerDrained(
            self.master_webs, host.advertise, secret=self.auth.secret, tls=self.auth.tls
        )


# ---- reading a snapshot by inventory host ----------------------------------------------


def problems(inventory: Inventory, snap: Snapshot) -> list[str]:
    """The snapshot's problems, counting the inventory's workers as expected."""
    return snap.problems(len(inventory.workers) if inventory.masters else None)


def states(inventory: Inventory, snap: Snapshot) -> dict[str, dict[str, str]]:
    """Per group, each host's ZooKeeper mode, master status, worker state or history state."""
    zk = {r.address: r.state for r in snap.zookeepers}
    masters = {r.address: r.state for r in snap.masters}
    workers: dict[str, str] = {}
    for entry in snap.workers:  # an ALIVE entry wins over older ones on the same host
        host = str(entry.get("host"))
        if workers.get(host) != ALIVE:
            workers[host] = str(entry.get("state"))
    served = {str(h.get("address")): str(h.get("state")) for h in snap.history}
    return {
        HISTORY: {h.name: served.get(h.history_web, "UNREACHABLE") for h in inventory.history},
        ZOOKEEPER: {h.name: zk.get(h.zookeeper_address, "ERROR") for h in inventory.zookeepers},
        MASTERS: {h.name: masters.get(h.master_web, "UNREACHABLE") for h in inventory.masters},
        WORKERS: {h.name: workers.get(h.advertise, "UNREGISTERED") for h in inventory.workers},
    }


def labelled(inventory: Inventory, snap: Snapshot) -> Snapshot:
    """The snapshot with each daemon shown as "name address": operators type host names."""

    def label(readings: list[Reading], hosts: list[Host], attribute: str) -> list[Reading]:
        names = {getattr(h, attribute): h.name for h in hosts}
        return [
            Reading(
                f"{names[r.address]} {r.address}" if r.address in names else r.address,
                r.state,
                r.reason,
            )
            for r in readings
        ]

    worker_names = {h.advertise: h.name for h in inventory.workers}
    workers = [
        {**w, "host": f"{worker_names[w['host']]} {w['host']}"}
        if w.get("host") in worker_names
        else w
        for w in snap.workers
    ]
    history_names = {h.history_web: h.name for h in inventory.history}
    served = [
        {**h, "address": f"{history_names[h['address']]} {h['address']}"}
        if h.get("address") in history_names
        else h
        for h in snap.history
    ]
    leader = next(
        (f"{h.name} {h.master_web}" for h in inventory.masters if h.master_web == snap.leader),
        snap.leader,
    )
    return replace(
        snap,
        zookeepers=label(snap.zookeepers, inventory.zookeepers, "zookeeper_address"),
        masters=label(snap.masters, inventory.masters, "master_web"),
        leader=leader,
        workers=workers,
        history=served,
    )

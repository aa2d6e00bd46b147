"""The conditions deployments wait for, as checks for ``gate.wait_until``.

Each check is called again and again; it answers (ok, reason) and keeps what it saw last
(the mode, the state, the leader, the worker entry) so that the caller can report it once the
gate has passed. A probe that fails raises ProbeError, which the gate counts as a "no".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .probes import (
    ALIVE,
    DEFAULT_TIMEOUT,
    STANDBY,
    alive_workers,
    describe_masters,
    leader_of,
    leading_state,
    master_state,
    probe_masters,
    zookeeper_mode,
)
from .tls import Tls

# Modes of a member that serves clients as part of a quorum (an observer follows a leader
# too; it just does not vote).
QUORUM_MODES = ("leader", "follower", "observer")
# What ``MasterStatus.wanted`` may be: one status, or ANY for "serving, leading or not".
ANY = "ANY"
MASTER_WANTED = (ALIVE, STANDBY, ANY)


@dataclass
class ZookeeperServes:
    """The member serves in a quorum (or, if allowed, standalone)."""

    member: str
    allow_standalone: bool = False
    timeout: float = DEFAULT_TIMEOUT
    mode: str | None = None

    def __call__(self) -> tuple[bool, str]:
        self.mode = None
        mode = zookeeper_mode(self.member, self.timeout)
        self.mode = mode
        if mode in QUORUM_MODES or (self.allow_standalone and mode == "standalone"):
            return True, f"zookeeper {self.member} serves as {mode}"
        return False, f"zookeeper {self.member} runs {mode}, not in a quorum"


@dataclass
class MasterStatus:
    """The master reports ``wanted`` (ALIVE, STANDBY, or ANY of the two)."""

    master: str
    wanted: str = ANY
    timeout: float = DEFAULT_TIMEOUT
    secret: str | None = None
    tls: Tls | None = None
    state: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.wanted not in MASTER_WANTED:
            raise ValueError(f"wanted must be one of {', '.join(MASTER_WANTED)}, not {self.wanted}")

    def __call__(self) -> tuple[bool, str]:
        self.state = None
        state = master_state(self.master, self.timeout, secret=self.secret, tls=self.tls)
        self.state = state
        status = state["status"]
        ok = status == self.wanted or (self.wanted == ANY and status in (ALIVE, STANDBY))
        return ok, f"master {self.master} is {status}"


@dataclass
class SingleLeader:
    """Exactly one of the masters is ALIVE, and it is the same one as at the last check."""

    masters: list[str]
    timeout: float = DEFAULT_TIMEOUT
    secret: str | None = None
    tls: Tls | None = None
    leader: str | None = None

    def __call__(self) -> tuple[bool, str]:
        previous, self.leader = self.leader, None
        states = probe_masters(self.masters, self.timeout, secret=self.secret, tls=self.tls)
        self.leader = leader_of(states)
        if self.leader is None:
            return False, f"no master is ALIVE: {describe_masters(states)}"
        # A leadership that moves between checks is not settled: the streak starts over.
        if previous is not None and previous != self.leader:
            return False, f"leadership moved from {previous} to {self.leader}"
        return True, f"{self.leader} leads"


@dataclass
class WorkerAlive:
    """The leader lists an ALIVE worker on ``host``, offering exactly the cores and memory
    asked for (when asked)."""

    masters: list[str]
    host: str
    cores: int | None = None
    memory_mb: int | None = None
    timeout: float = DEFAULT_TIMEOUT
    secret: str | None = None
    tls: Tls | None = None
    worker: dict[str, Any] | None = None
    leader: str | None = None

    def __call__(self) -> tuple[bool, str]:
        self.worker = self.leader = None
        lead, state = leading_state(self.masters, self.timeout, secret=self.secret, tls=self.tls)
        self.leader = lead
        found = alive_workers(state, self.host)
        if not found:
            return False, f"master {lead} lists no ALIVE worker on {self.host}"
        fitting = [w for w in found if self._fits(w)]
        if not fitting:
            return False, f"the worker on {self.host} {self._offer(found[0])}"
        self.worker = fitting[0]
        return True, f"worker {self.worker.get('id')} on {self.host} is ALIVE at {lead}"

    def _fits(self, worker: dict[str, Any]) -> bool:
        return (self.cores is None or worker.get("cores") == self.cores) and (
            self.memory_mb is None or worker.get("memory") == self.memory_mb
        )

    def _offer(self, worker: dict[str, Any]) -> str:
        wanted = []
        if self.cores is not None:
            wanted.append(f"{self.cores} cores")
        if self.memory_mb is not None:
            wanted.append(f"{self.memory_mb} MiB")
        return (
            f"offers {worker.get('cores')} cores and {worker.get('memory')} MiB, "
            f"not {' and '.join(wanted)}"
        )


@dataclass
class WorkerDrained:
    """No worker on ``host`` runs executors any more (a decommissioned worker's executors
    finish their applications; none is placed there again)."""

    masters: list[str]
    host: str
    timeout: float = DEFAULT_TIMEOUT
    secret: str | None = None
    tls: Tls | None = None
    busy: int = 0

    def __call__(self) -> tuple[bool, str]:
        _, state = leading_state(self.masters, self.timeout, secret=self.secret, tls=self.tls)
        on_host = [w for w in state.get("workers", []) if w.get("host") == self.host]
        self.busy = sum(int(w.get("coresused", 0)) for w in on_host)
        if self.busy:
            return False, f"executors still use {self.busy} cores on {self.host}"
        return True, f"no executor runs on {self.host}"

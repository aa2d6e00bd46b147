"""Restart a plan's hosts one at a time (workers in batches), each behind a health gate.

The roll stops at the first host that fails: its restart, its drain's decommission, or its
gate. It then shows that host's recent log and touches nothing after it, so the operator
finds the cluster as the failure left it and resumes once the host is fixed. The cluster and
the hosts come in through two small interfaces, so tests drive a roll with fakes and no SSH.
Standard library only.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from . import handover
from .errors import RemoteError
from .gate import Check, wait_until
from .handover import Handover
from .inventory import HISTORY, MASTERS, WORKERS, ZOOKEEPER
from .plan import Step, batches, leader_moved
from .probes import ProbeError, one_line

Say = Callable[[str], None]


class ClusterView(Protocol):
    """What a roll asks the live cluster, by inventory host name (see cluster.LiveCluster)."""

    def leader(self, group: str) -> str | None: ...
    def leading_master(self) -> str | None: ...
    def worker_ids(self, name: str) -> set[str]: ...
    def decommission(self, name: str) -> tuple[str, list[str]]: ...
    def zookeeper_serves(self, name: str) -> Check: ...
    def master_serves(self, name: str) -> Check: ...
    def worker_serves(self, name: str, before: set[str]) -> Check: ...
    def drained(self, name: str) -> Check: ...
    def history_serves(self, name: str) -> Check: ...


class HostActions(Protocol):
    """What a roll does on hosts (see remote.FabricActions); failures raise RemoteError."""

    def restart(self, host: str, unit: str) -> None: ...
    def journal(
        self, host: str, units: Sequence[str], *, lines: int, since: str | None = None
    ) -> str: ...


@dataclass(frozen=True)
class RollOptions:
    consecutive: int = 3
    interval: float = 1.0
    gate_timeout: float = 180.0
    drain_timeout: float = 60.0
    batch: int = 1
    poll_interval: float = handover.POLL_INTERVAL
    journal_lines: int = 50


@dataclass
class Outcome:
    """How a roll ended: ``failed`` is the step it stopped at (None: it finished)."""

    done: int = 0
    failed: Step | None = None
    position: int = 0
    reason: str = ""
    seconds: float = 0.0
    handovers: list[Handover] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.failed is None

    @property
    def longest_leaderless(self) -> float | None:
        return max((h.leaderless for h in self.handovers), default=None)


class StepFailed(Exception):
    def __init__(self, step: Step, reason: str) -> None:
        super().__init__(reason)
        self.step = step
        self.reason = reason


def restart_leader(
    cluster: ClusterView,
    actions: HostActions,
    step: Step,
    *,
    timeout: float,
    interval: float = handover.POLL_INTERVAL,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Handover:
    """Restart the leading master on ``step.host`` and watch a standby take over.

    The restart runs in a thread because it returns only once the old leader serves again
    (as a standby); the time without a leader is measured meanwhile. RemoteError if the
    restart fails; the Handover's ``new`` is None if no master took over in time.
    """
    failures: list[BaseException] = []
    finished = threading.Event()

    def restart() -> None:
        try:
            actions.restart(step.host, step.unit)
        except BaseException as exc:  # reported by the caller's thread
            failures.append(exc)
        finally:
            finished.set()

    def aborted() -> str | None:
        return str(failures[0]) if failures else None

    since = clock()
    worker = threading.Thread(target=restart, name=f"restart-{step.host}", daemon=True)
    worker.start()
    seen = handover.watch(
        step.host,
        cluster.leading_master,
        since=since,
        timeout=timeout,
        interval=interval,
        aborted=aborted,
        clock=clock,
        sleep=sleep,
    )
    finished.wait()
    if failures:
        failure = failures[0]
        raise failure if isinstance(failure, RemoteError) else RemoteError(str(failure))
    return seen


class Roll:
    """One roll through a plan. ``before_restart`` runs once per host, after its drain and
    before its first restart (the upgrade installs the new wheelhouse there)."""

    def __init__(
        self,
        cluster: ClusterView,
        actions: HostActions,
        options: RollOptions,
        *,
        say: Say = print,
        before_restart: Callable[[str], str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.cluster = cluster
        self.actions = actions
        self.options = options
        self.say = say
        self.before_restart = before_restart
        self.prepared: set[str] = set()
        self.clock = clock
        self.sleep = sleep
        self.outcome = Outcome()

    # ---- the roll -----------------------------------------------------------------------

    def run(self, steps: Sequence[Step], *, skipped: int = 0) -> Outcome:
        """Every step in order; stops at the first failure. Numbers count ``skipped`` steps."""
        started = self.clock()
        total = skipped + len(steps)
        remaining = list(steps)
        position = skipped
        while remaining:
            remaining = self._leader_last(remaining)
            batch = batches(remaining, self.options.batch)[0]
            label = self._label(batch, position, total)
            try:
                self.say(f"{label}: {self._do(batch)}")
            except StepFailed as failure:
                self._stop(failure, label, position + batch.index(failure.step) + 1)
                break
            position += len(batch)
            self.outcome.done += len(batch)
            remaining = remaining[len(batch) :]
        self.outcome.seconds = self.clock() - started
        return self.outcome

    def _label(self, batch: list[Step], position: int, total: int) -> str:
        width = len(str(total))
        first, last = position + 1, position + len(batch)
        where = f"{first:>{width}}" if first == last else f"{first}-{last}"
        hosts = ", ".join(s.host for s in batch)
        return f"[{where}/{total}] {hosts} {batch[0].unit}"

    def _leader_last(self, remaining: list[Step]) -> list[Step]:
        """Leadership may have moved since the plan was made: the leader still goes last."""
        group = remaining[0].group
        if group == WORKERS:
            return remaining
        try:
            leader = self.cluster.leader(group)
        except ProbeError:
            return remaining
        reordered = leader_moved(remaining, group, leader)
        if reordered != remaining:
            self.say(f"{leader} leads {remaining[0].unit} now: it goes last")
        return reordered

    def _do(self, batch: list[Step]) -> str:
        group = batch[0].group
        if group == ZOOKEEPER:
            return self._zookeeper(batch[0])
        if group == MASTERS:
            return self._master(batch[0])
        if group == HISTORY:
            return self._history(batch[0])
        return self._workers(batch)

    def _stop(self, failure: StepFailed, label: str, position: int) -> None:
        step = failure.step
        self.outcome.failed, self.outcome.position = step, position
        self.outcome.reason = failure.reason
        self.say(f"{label}: FAILED on {step.host}: {failure.reason}")
        lines = self.options.journal_lines
        try:
            log = self.actions.journal(step.host, [step.unit], lines=lines)
        except RemoteError as exc:
            log = f"(cannot read it: {exc})"
        self.say(f"Last {lines} lines of {step.unit} on {step.host} (journalctl):")
        self.say("\n".join("    " + line for line in log.rstrip().splitlines()) or "    (empty)")

    # ---- one step per tier --------------------------------------------------------------

    def _zookeeper(self, step: Step) -> str:
        restarted = self._restart(step)
        healthy = self._gate(step, self.cluster.zookeeper_serves(step.host), "serve in quorum")
        return f"restarted in {restarted:.1f}s, serving after {healthy:.1f}s"

    def _master(self, step: Step) -> str:
        self._prepare(step)
        if self.cluster.leader(MASTERS) == step.host:
            started = self.clock()
            seen = self._handover(step)
            restarted = self.clock() - started
            moved = f"; leader {seen.old} -> {seen.new}, no leader for {seen.millis} ms"
        else:
            restarted, moved = self._restart(step), ""
        healthy = self._gate(step, self.cluster.master_serves(step.host), "serve, one leader")
        return f"restarted in {restarted:.1f}s, healthy after {healthy:.1f}s{moved}"

    def _history(self, step: Step) -> str:
        self._prepare(step)
        restarted = self._restart(step)
        healthy = self._gate(step, self.cluster.history_serves(step.host), "list its logs")
        return f"restarted in {restarted:.1f}s, serving after {healthy:.1f}s"

    def _workers(self, batch: list[Step]) -> str:
        before = {s.host: self.cluster.worker_ids(s.host) for s in batch}
        for step in batch:
            self._decommission(step)
        # One bound for the whole batch: its workers drain at the same time.
        deadline = self.clock() + self.options.drain_timeout
        notes = [self._drain(step, deadline) for step in batch]
        restarted = 0.0
        for step in batch:
            self._prepare(step)
            restarted += self._restart(step)
        gate = BatchCheck(
            batch, [self.cluster.worker_serves(s.host, before[s.host]) for s in batch]
        )
        healthy = self._gate(batch[0], gate, "register as ALIVE")
        return f"{'; '.join(notes)}; restarted in {restarted:.1f}s, ALIVE after {healthy:.1f}s"

    # ---- pieces -------------------------------------------------------------------------

    def _prepare(self, step: Step) -> None:
        if self.before_restart is None or step.host in self.prepared:
            return
        try:
            note = self.before_restart(step.host)
        except RemoteError as exc:
            raise StepFailed(step, str(exc)) from None
        self.prepared.add(step.host)
        self.say(f"    {step.host}: {note}")

    def _restart(self, step: Step) -> float:
        started = self.clock()
        try:
            self.actions.restart(step.host, step.unit)
        except RemoteError as exc:
            raise StepFailed(step, str(exc)) from None
        return self.clock() - started

    def _handover(self, step: Step) -> Handover:
        try:
            seen = restart_leader(
                self.cluster,
                self.actions,
                step,
                timeout=self.options.gate_timeout,
                interval=self.options.poll_interval,
                clock=self.clock,
                sleep=self.sleep,
            )
        except RemoteError as exc:
            raise StepFailed(step, str(exc)) from None
        if seen.new is None:
            raise StepFailed(step, f"no master took over from {step.host}: {seen.reason}")
        self.outcome.handovers.append(seen)
        return seen

    def _gate(self, step: Step, check: Check, goal: str) -> float:
        """The check's streak within the gate timeout; StepFailed on ``step`` (on a batch, on
        the host whose check failed last) if it does not come."""
        options = self.options
        result = wait_until(
            check,
            consecutive=options.consecutive,
            interval=options.interval,
            timeout=options.gate_timeout,
            clock=self.clock,
            sleep=self.sleep,
        )
        if not result.passed:
            failing = check.failing if isinstance(check, BatchCheck) else None
            raise StepFailed(
                failing or step,
                f"health gate ({goal}, {options.consecutive} checks in a row) not passed "
                f"within {options.gate_timeout:g}s: {result.reason}",
            )
        return result.elapsed

    def _decommission(self, step: Step) -> None:
        try:
            self.cluster.decommission(step.host)
        except ProbeError as exc:
            raise StepFailed(step, f"cannot decommission: {exc}") from None

    def _drain(self, step: Step, deadline: float) -> str:
        """Wait (until ``deadline``) for the worker's executors to end; past it, say so."""
        bound = self.options.drain_timeout
        result = wait_until(
            self.cluster.drained(step.host),
            consecutive=1,
            interval=self.options.interval,
            timeout=max(0.0, deadline - self.clock()),
            clock=self.clock,
            sleep=self.sleep,
        )
        if result.passed:
            return f"{step.host} drained in {result.elapsed:.1f}s"
        busy = one_line(result.reason, 100)
        self.say(
            f"    {step.host}: not drained within {bound:g}s ({busy}); restarting anyway, "
            "its tasks run again on other executors"
        )
        return f"{step.host} drain timed out ({bound:g}s)"


class BatchCheck:
    """All of a batch's gates; remembers which host failed last, for the failure report."""

    def __init__(self, batch: list[Step], gates: list[Check]) -> None:
        self.parts = list(zip(batch, gates, strict=True))
        self.failing: Step | None = None

    def __call__(self) -> tuple[bool, str]:
        said = []
        for step, gate in self.parts:
            self.failing = step
            ok, reason = gate()
            if not ok:
                return False, reason if len(self.parts) == 1 else f"{step.host}: {reason}"
            said.append(reason)
        self.failing = None
        return True, "; ".join(said)

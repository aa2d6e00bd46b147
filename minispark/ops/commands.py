"""What each ``fab`` task does, given a session (the inventory, the live cluster, the hosts).

fabfile.py only parses options and calls these; each returns the exit code and writes
through ``session.say``. Bad input raises UsageError before anything changes; every task
that changes something prints what it would do and stops there under ``dry_run``.
Standard library only (the session's host actions bring Fabric in).
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from . import credentials, plan, table, wheel
from .certs import Expiry
from .cluster import LiveCluster, labelled, problems, states
from .credentials import Credentials
from .errors import RemoteError, UsageError
from .gate import wait_until
from .inventory import MASTERS, WORKERS, ZOOKEEPER, Inventory, choose_source, load
from .probes import ALIVE, STANDBY, ProbeError, Snapshot
from .remote import FabricActions
from .roll import ClusterView, HostActions, Outcome, Roll, RollOptions, Say, restart_leader
from .tls import Tls
from .wheel import Wheelhouse

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
# The checkout fab runs from: the playbooks are beside the package.
CHECKOUT = Path(__file__).resolve().parents[2]
ROTATE_PLAYBOOK = Path("playbooks", "rotate_credentials.yml")


def echo(text: str) -> None:
    """Print at once: a roll runs for minutes, often into a pipe (tee, CI logs)."""
    print(text, flush=True)


class Cluster(ClusterView, Protocol):
    """The roll's view of the cluster, plus what the tasks read before they start."""

    def snapshot(self) -> Snapshot: ...
    def certificates(self) -> list[Expiry]: ...
    def refusals(self, secret: str, tls: Tls | None) -> dict[str, str | None]: ...


class Actions(HostActions, Protocol):
    def install(self, host: str, wheelhouse: Wheelhouse) -> str: ...
    def close(self) -> None: ...


def run_playbook(argv: Sequence[str]) -> int:
    """Run ansible-playbook with its output going straight to ours (it runs for minutes)."""
    if not Path(argv[1]).exists():
        raise UsageError(f"{argv[1]} does not exist: run fab from a minispark checkout")
    try:
        return subprocess.run(list(argv), check=False).returncode
    except FileNotFoundError:
        raise UsageError(
            f"{argv[0]} is not installed: pip install 'minispark[deploy]' (or ansible-core)"
        ) from None


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Session:
    inventory: Inventory
    cluster: Cluster
    actions: Actions
    say: Say = echo
    confirm: Callable[[str], bool] = field(default_factory=lambda: ask)
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    # The secret and CA as they are now (a rotation changes them on disk).
    credentials: Callable[[], Credentials] = lambda: Credentials(None, None)
    # SSH keys given to fab's -i, handed on to ansible-playbook.
    keys: Sequence[str] = ()
    playbook: Callable[[Sequence[str]], int] = run_playbook
    now: Callable[[], datetime] = utc_now


def ask(question: str) -> bool:
    """A yes/no question on the terminal; without one, the operator must have said --yes."""
    if not sys.stdin.isatty():
        raise UsageError("stdin is not a terminal: pass --yes to go ahead without a prompt")
    return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")


@contextlib.contextmanager
def session(
    option: str | None, identities: Sequence[str] = (), say: Say = echo
) -> Iterator[Session]:
    """The real session: the inventory Ansible reads, its live cluster, SSH to its hosts."""
    inventory = load(choose_source(option, identities))
    keys = [p for p in identities if p != inventory.source]
    actions = FabricActions(inventory, extra_keys=keys)

    def found() -> Credentials:
        return credentials.find(inventory)

    cluster = LiveCluster(inventory, loader=found)
    try:
        yield Session(inventory, cluster, actions, say, credentials=found, keys=keys)
    finally:
        actions.close()


# ---- status and logs ----------------------------------------------------------------------


def status(s: Session) -> int:
    """The cluster as one table; the problems a roll would refuse to start with."""
    inv = s.inventory
    s.say(
        f"Inventory {inv.source}: {len(inv.zookeepers)} ZooKeeper members, "
        f"{len(inv.masters)} masters, {len(inv.workers)} workers, "
        f"{len(inv.history)} history servers\n"
    )
    snapshot = labelled(inv, s.cluster.snapshot())
    s.say(table.render(snapshot).rstrip("\n"))
    found = problems(inv, snapshot) + _certificates(s)
    s.say("")
    s.say("Healthy." if not found else "Problems:\n" + "\n".join(f"- {p}" for p in found))
    return EXIT_OK


def _certificates(s: Session) -> list[str]:
    """Show every web certificate's expiry; warn 30 days ahead; expired ones are problems."""
    expiries = s.cluster.certificates()
    if not expiries:
        return []
    now = s.now()
    s.say("")
    s.say(table.render_certificates(expiries, now))
    for expiry in expiries:
        warning = expiry.warning(now)
        if warning and not expiry.expired(now):
            s.say(f"WARNING: {warning}")
    return [str(e.warning(now)) for e in expiries if e.expired(now)]


def logs(s: Session, host: str, unit: str | None, since: str | None, lines: int) -> int:
    target = s.inventory.host(host)
    units = [unit] if unit else target.units
    if not units:
        raise UsageError(f"{target.name} runs no minispark unit by its groups: pass --unit")
    if lines < 1:
        raise UsageError(f"--lines {lines}: give at least 1")
    s.say(s.actions.journal(target.name, units, lines=lines, since=since).rstrip("\n"))
    return EXIT_OK


# ---- rolls --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RollRequest:
    """The options every roll takes (rolling-restart and upgrade)."""

    group: str
    batch: int = 1
    consecutive: int = 3
    drain_timeout: float = 60.0
    gate_timeout: float = 180.0
    skip: int = 0
    start: str | None = None
    yes: bool = False
    dry_run: bool = False
    force: bool = False

    def options(self) -> RollOptions:
        if self.consecutive < 1:
            raise UsageError(f"--consecutive {self.consecutive}: give at least 1")
        if self.drain_timeout < 0 or self.gate_timeout <= 0:
            raise UsageError("--drain-timeout must be 0 or more and --gate-timeout above 0")
        if self.batch < 1:
            raise UsageError(f"--batch {self.batch}: give at least 1")
        return RollOptions(
            consecutive=self.consecutive,
            drain_timeout=self.drain_timeout,
            gate_timeout=self.gate_timeout,
            batch=self.batch,
        )


def _plan(
    s: Session, groups: list[str], request: RollRequest, snapshot: Snapshot
) -> tuple[list[plan.Step], list[plan.Step]]:
    """The whole plan from live state, and what is left of it after --skip / --from."""
    steps = plan.make_plan(groups, s.inventory, states(s.inventory, snapshot))
    return steps, plan.resume(steps, request.skip, request.start)


def _healthy_enough(s: Session, request: RollRequest, snapshot: Snapshot) -> bool:
    found = problems(s.inventory, labelled(s.inventory, snapshot))
    if not found:
        s.say("The cluster is healthy: ZooKeeper serves, one master leads, all workers ALIVE.")
        return True
    listed = "\n".join(f"- {p}" for p in found)
    if request.force:
        s.say(f"WARNING: the cluster is not healthy; rolling anyway (--force):\n{listed}")
        return True
    s.say(f"Refusing to roll: the cluster is not healthy (fix it, or pass --force):\n{listed}")
    return False


def _summary(s: Session, outcome: Outcome, task: str, steps: list[plan.Step]) -> int:
    longest = outcome.longest_leaderless
    leaderless = (
        "the leader did not change"
        if longest is None
        else f"longest time without a leader: {round(longest * 1000)} ms"
    )
    if outcome.ok:
        s.say(f"Done: {outcome.done} steps in {outcome.seconds:.1f}s; {leaderless}.")
        return EXIT_OK
    failed = outcome.failed
    assert failed is not None
    hint = f"--skip {outcome.position - 1}"
    if sum(step.host == failed.host for step in steps) == 1:
        hint += f" (or --from {failed.host})"
    s.say(
        f"Stopped after {outcome.done} steps in {outcome.seconds:.1f}s; {leaderless}. "
        f"{failed.host} failed: hosts after it were not touched. Fix {failed.host}, then "
        f"resume with: fab {task} ... {hint} (check the plan it prints)."
    )
    return EXIT_FAILED


def _roll(
    s: Session,
    task: str,
    groups: list[str],
    request: RollRequest,
    *,
    title: str,
    before_restart: Callable[[str], str] | None = None,
    dry_note: str = "",
) -> int:
    options = request.options()
    snapshot = s.cluster.snapshot()
    steps, todo = _plan(s, groups, request, snapshot)
    skipped = len(steps) - len(todo)
    batching = f"; workers in batches of {request.batch}" if request.batch > 1 else ""
    s.say(f"Plan: {title}, {len(todo)} steps{batching}:")
    if skipped:
        s.say(f"  (the first {skipped} steps are skipped)")
    s.say(plan.render(todo, skipped))
    healthy = _healthy_enough(s, request, snapshot)
    if request.dry_run:
        s.say(f"Dry run: nothing was changed.{dry_note}")
        return EXIT_OK if healthy else EXIT_FAILED
    if not healthy:
        return EXIT_FAILED
    if not todo:
        return EXIT_OK
    if not request.yes and not s.confirm(f"Roll {len(todo)} steps?"):
        s.say("Nothing was changed.")
        return EXIT_FAILED
    roll = Roll(
        s.cluster,
        s.actions,
        options,
        say=s.say,
        before_restart=before_restart,
        clock=s.clock,
        sleep=s.sleep,
    )
    outcome = roll.run(todo, skipped=skipped)
    return _summary(s, outcome, task, steps)


def rolling_restart(s: Session, request: RollRequest) -> int:
    groups = plan.groups_for(request.group)
    return _roll(s, "rolling-restart", groups, request, title=f"rolling restart of {request.group}")


def upgrade(s: Session, request: RollRequest, wheel_path: str | None, build: bool) -> int:
    """The roll, installing the wheelhouse on each minispark host before its restart."""
    if bool(wheel_path) == bool(build):
        raise UsageError("give --wheel PATH or --build (one of them)")
    asked = plan.groups_for(request.group)
    groups = [g for g in asked if g != ZOOKEEPER]
    if not groups:
        raise UsageError(
            "ZooKeeper members are not upgraded by a wheel: use --group masters, workers or all"
        )
    if ZOOKEEPER in asked and s.inventory.zookeepers:
        s.say("ZooKeeper members are not upgraded by a wheel: skipping them.")
    if build and request.dry_run:
        note = f" A real run would build the wheelhouse into {wheel.BUILD_DIR} first."
        return _roll(s, "upgrade", groups, request, title="upgrade", dry_note=note)
    house = wheel.build() if build else wheel.locate(str(wheel_path))
    s.say(f"Wheelhouse {house.archive} ({house.minispark_wheel}, digest {house.short}).")

    def install(host: str) -> str:
        return s.actions.install(host, house)

    title = f"upgrade to wheelhouse {house.short}"
    note = " Each host would get the wheelhouse before its restart."
    return _roll(s, "upgrade", groups, request, title=title, before_restart=install, dry_note=note)


# ---- one master, one worker ---------------------------------------------------------------


def failover(s: Session, dry_run: bool, timeout: float, consecutive: int) -> int:
    """The leading master hands over to a standby; report how long there was no leader."""
    masters = s.inventory.masters
    if len(masters) < 2:
        raise UsageError(f"failover needs two or more masters; the inventory has {len(masters)}")
    status = states(s.inventory, s.cluster.snapshot())[MASTERS]
    described = ", ".join(f"{h} {state}" for h, state in status.items())
    leader = next((h for h, state in status.items() if state == ALIVE), None)
    standbys = [h for h, state in status.items() if state == STANDBY]
    if leader is None:
        raise RemoteError(f"no master is ALIVE ({described}): there is no leader to hand over")
    if not standbys:
        raise RemoteError(f"no STANDBY master could take over ({described})")
    s.say(f"Leader: {leader}; standbys: {', '.join(standbys)}.")
    if dry_run:
        s.say(
            f"Dry run: would restart minispark-master on {leader} (SIGTERM releases "
            "leadership at once) and wait for a standby to lead. Nothing was changed."
        )
        return EXIT_OK
    step = plan.Step(leader, MASTERS, ALIVE)
    started = s.clock()
    seen = restart_leader(s.cluster, s.actions, step, timeout=timeout, clock=s.clock, sleep=s.sleep)
    if seen.new is None:
        s.say(f"FAILED: no master took over from {leader}: {seen.reason}")
        return EXIT_FAILED
    s.say(f"Leadership moved from {leader} to {seen.new}: no leader for {seen.millis} ms.")
    result = wait_until(
        s.cluster.master_serves(leader),
        consecutive=consecutive,
        timeout=timeout,
        clock=s.clock,
        sleep=s.sleep,
    )
    if not result.passed:
        s.say(f"FAILED: {leader} did not come back as a standby: {result.reason}")
        return EXIT_FAILED
    s.say(f"{leader} serves again as a standby ({s.clock() - started:.1f}s after the stop).")
    return EXIT_OK


def decommission(s: Session, host: str, dry_run: bool, drain_timeout: float) -> int:
    """No new executors on the host's worker; wait (bounded) for the running ones to end."""
    target = s.inventory.in_group(host, WORKERS, "worker")
    if dry_run:
        s.say(
            f"Dry run: would decommission the worker on {target.name} through the leading "
            f"master and wait up to {drain_timeout:g}s for its executors. Nothing was changed."
        )
        return EXIT_OK
    try:
        leader, ids = s.cluster.decommission(target.name)
    except ProbeError as exc:
        raise RemoteError(f"cannot decommission {target.name}: {exc}") from None
    if not ids:
        s.say(f"{leader} lists no ALIVE worker on {target.name} (already decommissioned or down).")
    else:
        s.say(
            f"Decommissioned {', '.join(ids)} on {target.name} through {leader}: "
            "no new executors land there."
        )
    if drain_timeout <= 0:
        return EXIT_OK
    result = wait_until(
        s.cluster.drained(target.name),
        consecutive=1,
        timeout=drain_timeout,
        clock=s.clock,
        sleep=s.sleep,
    )
    if result.passed:
        s.say(
            f"No executor runs on {target.name} any more ({result.elapsed:.1f}s): "
            "it is ready for maintenance."
        )
        return EXIT_OK
    s.say(f"After {drain_timeout:g}s {result.reason}; they finish with their applications.")
    return EXIT_OK


def recommission(s: Session, host: str, dry_run: bool, consecutive: int, timeout: float) -> int:
    """Restart the host's worker so it registers afresh, ALIVE, and takes executors again."""
    target = s.inventory.in_group(host, WORKERS, "worker")
    if dry_run:
        s.say(
            f"Dry run: would restart minispark-worker on {target.name} and wait until the "
            "leader lists it ALIVE. Nothing was changed."
        )
        return EXIT_OK
    before = s.cluster.worker_ids(target.name)
    started = s.clock()
    s.actions.restart(target.name, "minispark-worker")
    check = s.cluster.worker_serves(target.name, before)
    result = wait_until(
        check, consecutive=consecutive, timeout=timeout, clock=s.clock, sleep=s.sleep
    )
    if not result.passed:
        s.say(
            f"FAILED: the worker on {target.name} is not ALIVE after {timeout:g}s: {result.reason}"
        )
        return EXIT_FAILED
    s.say(f"{result.reason} ({s.clock() - started:.1f}s after the restart).")
    return EXIT_OK


# ---- credentials --------------------------------------------------------------------------


def rotate_command(s: Session) -> list[str]:
    """The ansible-playbook command line: the session's inventory and SSH key."""
    argv = ["ansible-playbook", str(CHECKOUT / ROTATE_PLAYBOOK), "-i", s.inventory.source]
    if s.keys:
        # ansible-playbook takes one key; the inventory's own keys still apply per host.
        argv += ["--private-key", s.keys[0]]
    return argv


def rotate_credentials(s: Session, dry_run: bool) -> int:
    """Replace the secret and certificates host by host, then prove every daemon took them."""
    argv = rotate_command(s)
    if dry_run:
        s.say(f"Dry run: would run {' '.join(argv)} and then check every master and worker.")
        return EXIT_OK
    old = s.credentials().secret
    s.say(f"Running {' '.join(argv)}")
    code = s.playbook(argv)
    if code != 0:
        s.say(
            f"FAILED: the playbook exited {code}. Hosts it reached may accept the old and the "
            "new secret side by side; fix the failure and run fab rotate-credentials again."
        )
        return EXIT_FAILED
    return _check_rotation(s, old)


def _check_rotation(s: Session, old: str | None) -> int:
    fresh = s.credentials()
    found: list[str] = []
    new = fresh.secret
    if new is None:
        s.say("Authentication is off (minispark_auth_enabled: false): no secret to check.")
    else:
        answers = s.cluster.refusals(new, fresh.tls)
        refused = [reason for reason in answers.values() if reason]
        found += [f"refuses the new secret: {reason}" for reason in refused]
        if old is not None and old == new:
            s.say(
                f"WARNING: the secret did not change (it comes from {fresh.secret_source}); "
                "only the certificates were replaced."
            )
        elif old is not None:
            still = [
                d for d, reason in s.cluster.refusals(old, fresh.tls).items() if reason is None
            ]
            found += [f"{daemon} still accepts the old secret" for daemon in still]
        if not refused:
            s.say(f"All {len(answers)} masters and workers answer with the new secret.")
    found += _certificates(s)
    if found:
        s.say("FAILED:\n" + "\n".join(f"- {p}" for p in found))
        return EXIT_FAILED
    s.say("Rotation done.")
    return EXIT_OK


def main_errors(prefix: str, run: Callable[[], int]) -> tuple[int, str | None]:
    """Run a task; (exit code, one-line error or None): never a traceback for our errors."""
    try:
        return run(), None
    except UsageError as exc:
        return EXIT_USAGE, f"{prefix}: error: {exc}"
    except (RemoteError, ProbeError) as exc:
        return EXIT_FAILED, f"{prefix}: {exc}"
    except KeyboardInterrupt:
        return 130, f"{prefix}: interrupted"

"""Day-2 operations on a deployed minispark cluster, from the repository root:

    fab --list
    fab status -i inventory/<site>
    fab rolling-restart -i inventory/<site> --group all
    fab upgrade -i inventory/<site> --build
    fab failover | decommission HOST | recommission HOST | logs HOST
    fab rotate-credentials -i inventory/<site>

Hosts, groups and SSH settings come from the Ansible inventory the playbooks use (-i PATH on
each task, or MINISPARK_INVENTORY); the cluster secret and CA from its credentials directory
(minispark_credentials_dir, default <inventory dir>/credentials), or MINISPARK_SECRET_FILE and
MINISPARK_CA_FILE. This file only reads options and prints; the logic is in
minispark/ops (commands.py, roll.py, ...), shared with the playbooks' probes and gates.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from invoke.context import Context
from invoke.exceptions import Exit, ParseError
from invoke.parser.argument import Argument
from invoke.tasks import Task, task

from minispark.ops import commands
from minispark.ops.commands import RollRequest, Session

# Only these options get a one-letter form: the ones typed often (invoke would otherwise
# hand out letters by argument order, so -d could mean --drain-timeout or --dry-run).
SHORT_FLAGS = {"inventory": "i", "group": "g", "yes": "y", "unit": "u", "lines": "n"}

INVENTORY_HELP = "the Ansible inventory (default: $MINISPARK_INVENTORY)"
DRY_RUN_HELP = "print what would be done and change nothing"
ROLL_HELP = {
    "inventory": INVENTORY_HELP,
    "group": "what to roll: workers, masters, zookeeper, history, or all (ZooKeeper, masters, "
    "workers, the history server)",
    "batch": "workers restarted together (default 1)",
    "consecutive": "good health checks in a row before the next host (default 3)",
    "drain-timeout": "seconds to wait for a worker's executors to end (default 60); "
    "after that it restarts anyway",
    "gate-timeout": "seconds a restarted host has to pass its health gate (default 180)",
    "skip": "skip the first N steps of the printed plan (to resume a stopped roll)",
    "from": "start at the first step on HOST (to resume a stopped roll)",
    "yes": "do not ask for confirmation",
    "dry-run": DRY_RUN_HELP,
    "force": "roll even when the cluster is not healthy before it starts",
}


class CheckedArgument(Argument):
    """An option whose bad value is a one-line error, not invoke's traceback."""

    def set_value(self, value: Any, cast: bool = True) -> None:
        try:
            super().set_value(value, cast)
        except ValueError:
            raise ParseError(
                f"fab: error: --{self.names[0]}: {value!r} is not a whole number"
            ) from None


class OpsTask(Task[Any]):
    """An invoke task whose one-letter flags are the ones in SHORT_FLAGS, and no others."""

    def arg_opts(self, name: str, default: str, taken_names: set[str]) -> dict[str, Any]:
        opts = super().arg_opts(name, default, taken_names)
        opts["names"] = [opts["names"][0], *([SHORT_FLAGS[name]] if name in SHORT_FLAGS else [])]
        return opts

    def get_arguments(self, ignore_unknown_help: bool | None = None) -> list[Argument]:
        arguments = super().get_arguments(ignore_unknown_help)
        # invoke builds plain Arguments and offers no hook for their class.
        for argument in arguments:
            argument.__class__ = CheckedArgument
        return arguments


def _identities(c: Context) -> list[str]:
    """Paths given to fab's own -i (`fab -i INVENTORY task` names the inventory too)."""
    found = c.config.get("connect_kwargs", {}).get("key_filename") or []
    return [str(path) for path in found]


def _run(c: Context, name: str, inventory: str | None, body: Callable[[Session], int]) -> None:
    def go() -> int:
        with commands.session(inventory, _identities(c)) as session:
            return body(session)

    code, error = commands.main_errors(f"fab {name}", go)
    if error is not None:
        raise Exit(error, code)
    if code:
        raise Exit(code=code)


# The roll tasks' parameters that are RollRequest fields by the same name (--from is "start").
ROLL_OPTIONS = [f.name for f in dataclasses.fields(RollRequest) if f.name != "start"]


def _request(task: dict[str, Any]) -> RollRequest:
    """The RollRequest of a roll task, from its parameters (the task passes its ``locals()``)."""
    if not task["group"]:
        raise Exit(
            "fab: error: give --group workers|masters|zookeeper|history|all", commands.EXIT_USAGE
        )
    return RollRequest(start=task["from_"], **{name: task[name] for name in ROLL_OPTIONS})


@task(klass=OpsTask, help={"inventory": INVENTORY_HELP})
def status(c: Context, inventory: str | None = None) -> None:
    """Show ZooKeeper modes, masters, workers, applications, drivers and the history server.

    With TLS on (the default) also the days left on each master's and worker's web
    certificate: a warning under 30 days, a problem once expired.
    """
    _run(c, "status", inventory, commands.status)


@task(klass=OpsTask, help=ROLL_HELP)
def rolling_restart(
    c: Context,
    *,
    inventory: str | None = None,
    group: str | None = None,
    batch: int = 1,
    consecutive: int = 3,
    drain_timeout: int = 60,
    gate_timeout: int = 180,
    skip: int = 0,
    from_: str | None = None,
    yes: bool = False,
    dry_run: bool = False,
    force: bool = False,
) -> None:
    """Restart a tier host by host (leaders last, workers drained), each behind a health gate."""
    request = _request(locals())
    _run(c, "rolling-restart", inventory, lambda s: commands.rolling_restart(s, request))


@task(
    klass=OpsTask,
    help={
        **ROLL_HELP,
        "group": "what to upgrade: masters, workers or all (default; ZooKeeper is skipped)",
        "wheel": "a wheelhouse tar (python3 -m minispark.deploy.wheelhouse --out DIR), "
        "or the directory holding it",
        "build": "build the wheelhouse from this checkout into build/wheelhouse first",
    },
)
def upgrade(
    c: Context,
    *,
    inventory: str | None = None,
    wheel: str | None = None,
    build: bool = False,
    group: str = "all",
    batch: int = 1,
    consecutive: int = 3,
    drain_timeout: int = 60,
    gate_timeout: int = 180,
    skip: int = 0,
    from_: str | None = None,
    yes: bool = False,
    dry_run: bool = False,
    force: bool = False,
) -> None:
    """Roll a new wheelhouse onto masters and workers, installing each host before its restart."""
    request = _request(locals())
    _run(c, "upgrade", inventory, lambda s: commands.upgrade(s, request, wheel, build))


@task(
    klass=OpsTask,
    help={
        "inventory": INVENTORY_HELP,
        "dry-run": DRY_RUN_HELP,
        "timeout": "seconds for a standby to take over and the old leader to return (default 120)",
        "consecutive": "good health checks in a row that end the wait (default 3)",
    },
)
def failover(
    c: Context,
    *,
    inventory: str | None = None,
    dry_run: bool = False,
    timeout: int = 120,
    consecutive: int = 3,
) -> None:
    """Hand leadership from the ALIVE master to a standby; report the time without a leader."""
    _run(c, "failover", inventory, lambda s: commands.failover(s, dry_run, timeout, consecutive))


@task(
    klass=OpsTask,
    help={
        "host": "the worker's inventory host name",
        "inventory": INVENTORY_HELP,
        "dry-run": DRY_RUN_HELP,
        "drain-timeout": "seconds to wait for its executors to end (default 60; 0: do not wait)",
    },
)
def decommission(
    c: Context,
    host: str,
    *,
    inventory: str | None = None,
    dry_run: bool = False,
    drain_timeout: int = 60,
) -> None:
    """Stop new executors landing on a worker (through the leader), then wait for it to drain."""
    _run(
        c,
        "decommission",
        inventory,
        lambda s: commands.decommission(s, host, dry_run, drain_timeout),
    )


@task(
    klass=OpsTask,
    help={
        "host": "the worker's inventory host name",
        "inventory": INVENTORY_HELP,
        "dry-run": DRY_RUN_HELP,
        "consecutive": "good health checks in a row that end the wait (default 3)",
        "timeout": "seconds for the worker to be ALIVE again (default 180)",
    },
)
def recommission(
    c: Context,
    host: str,
    *,
    inventory: str | None = None,
    dry_run: bool = False,
    consecutive: int = 3,
    timeout: int = 180,
) -> None:
    """Restart a worker so that it registers afresh as ALIVE and takes executors again."""
    _run(
        c,
        "recommission",
        inventory,
        lambda s: commands.recommission(s, host, dry_run, consecutive, timeout),
    )


@task(
    klass=OpsTask,
    help={
        "host": "an inventory host name",
        "inventory": INVENTORY_HELP,
        "unit": "the unit to show (default: every minispark unit the host runs by its groups)",
        "since": 'only entries since then, in journalctl\'s words (e.g. "10 min ago")',
        "lines": "how many of the last lines to show (default 50)",
    },
)
def logs(
    c: Context,
    host: str,
    *,
    inventory: str | None = None,
    unit: str | None = None,
    since: str | None = None,
    lines: int = 50,
) -> None:
    """Show a host's recent journal for its minispark units (journalctl over SSH)."""
    _run(c, "logs", inventory, lambda s: commands.logs(s, host, unit, since, lines))


@task(
    klass=OpsTask,
    help={"inventory": INVENTORY_HELP, "dry-run": "print the playbook command and run nothing"},
)
def rotate_credentials(c: Context, *, inventory: str | None = None, dry_run: bool = False) -> None:
    """Replace the secret and host certificates host by host, then check every daemon took them.

    Runs playbooks/rotate_credentials.yml with this inventory (and fab's -i key), showing its
    output. Every host first accepts the old and the new secret, then the new one alone, so
    running jobs keep going. Afterwards every master and worker must answer with the new
    secret and refuse the old one, and each web certificate's expiry is shown as in status.
    """
    _run(c, "rotate-credentials", inventory, lambda s: commands.rotate_credentials(s, dry_run))

"""``python3 -m minispark.ops CHECK ...``: probes and health gates for playbooks and Fabric.

Each run prints one JSON object on stdout (Ansible's ``from_json``) and exits 0; on failure
it prints one line on stderr and exits 1; on bad usage, one line and exit 2. Never a
traceback: the line is what the operator reads in the playbook's output.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

from . import certs, checks, history, table
from .credentials import first_secret
from .errors import UsageError
from .gate import Check, wait_until
from .probes import (
    ProbeError,
    cluster_snapshot,
    decommission_worker,
    in_parallel,
    leading_state,
    probe_master,
    split_address,
    web_url,
    zookeeper_mode,
)
from .tls import CA_ENV, Tls

PROG = "minispark.ops"
EXIT_FAILED = 1
EXIT_USAGE = 2

Output = dict[str, Any] | str


class OneLineParser(argparse.ArgumentParser):
    """A usage mistake is one line naming it and where the help is, not the whole usage."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


# ---- argument types: a bad value is a usage error (exit 2), caught before any probe ------


# Where the secret may come from instead of --secret-file.
SECRET_ENV = "MINISPARK_SECRET"


def _zookeeper(text: str) -> str:
    try:
        split_address(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _web(text: str) -> str:
    try:
        web_url(text, "/")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _webs(text: str) -> list[str]:
    addresses = [a.strip() for a in text.split(",") if a.strip()]
    if not addresses:
        raise argparse.ArgumentTypeError("give at least one master as HOST:WEBPORT")
    return [_web(a) for a in addresses]


def _optional_webs(text: str) -> list[str]:
    """HOST:WEBPORT,... or "" (an inventory without that group)."""
    return [_web(a.strip()) for a in text.split(",") if a.strip()]


def _zookeepers(text: str) -> list[str]:
    return [_zookeeper(a.strip()) for a in text.split(",") if a.strip()]


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds (e.g. 0.5, 120)")
    return value


def _secret_file(text: str) -> str:
    # The message names the file, never what is in it. During a rotation the file holds the
    # new secret above the old one: the first line is the one to present.
    try:
        secret = first_secret(Path(text).read_text())
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "unreadable"
        raise argparse.ArgumentTypeError(f"cannot read {text}: {reason}") from None
    if not secret:
        raise argparse.ArgumentTypeError(f"{text} is empty")
    return secret


def _ca_file(text: str) -> Tls:
    try:
        return Tls.load(text)
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


# ---- commands ---------------------------------------------------------------------------


def _gate(args: argparse.Namespace, check: Check, goal: str) -> float:
    """Run the gate with the command's options; ProbeError naming ``goal`` if it fails."""
    result = wait_until(
        check, consecutive=args.consecutive, interval=args.interval, timeout=args.timeout
    )
    if not result.passed:
        raise ProbeError(
            f"gave up waiting for {goal} after {result.elapsed:.1f}s and {result.attempts} "
            f"checks: {result.reason}"
        )
    return round(result.elapsed, 3)


def run_zk_mode(args: argparse.Namespace) -> Output:
    return {"member": args.member, "mode": zookeeper_mode(args.member)}


def run_wait_zk(args: argparse.Namespace) -> Output:
    check = checks.ZookeeperServes(args.member, allow_standalone=args.allow_standalone)
    elapsed = _gate(args, check, f"zookeeper {args.member} to serve in a quorum")
    return {"member": args.member, "mode": check.mode, "elapsed": elapsed}


def run_master_state(args: argparse.Namespace) -> Output:
    return {"master": args.master, **probe_master(args.master, secret=args.secret, tls=args.tls)}


def run_wait_master(args: argparse.Namespace) -> Output:
    check = checks.MasterStatus(args.master, args.status, secret=args.secret, tls=args.tls)
    wanted = "ALIVE or STANDBY" if args.status == checks.ANY else args.status
    elapsed = _gate(args, check, f"master {args.master} to be {wanted}")
    state = check.state or {}
    return {"master": args.master, "status": state.get("status"), "elapsed": elapsed}


def run_wait_history(args: argparse.Namespace) -> Output:
    check = history.HistoryServes(args.server, secret=args.secret, tls=args.tls)
    elapsed = _gate(args, check, f"history server {args.server} to list its logs")
    return {"history": args.server, "elapsed": elapsed}


def run_wait_leader(args: argparse.Namespace) -> Output:
    check = checks.SingleLeader(args.masters, secret=args.secret, tls=args.tls)
    elapsed = _gate(args, check, "exactly one ALIVE master")
    return {"leader": check.leader, "elapsed": elapsed}


def run_wait_worker(args: argparse.Namespace) -> Output:
    check = checks.WorkerAlive(
        args.masters, args.host, args.cores, args.memory_mb, secret=args.secret, tls=args.tls
    )
    _gate(args, check, f"an ALIVE worker on {args.host}")
    return check.worker or {}


def run_wait_drained(args: argparse.Namespace) -> Output:
    check = checks.WorkerDrained(args.masters, args.host, secret=args.secret, tls=args.tls)
    elapsed = _gate(args, check, f"the executors on {args.host} to end")
    return {"host": args.host, "elapsed": elapsed}


def run_decommission(args: argparse.Namespace) -> Output:
    master = leading_state(args.masters, secret=args.secret, tls=args.tls)[0]
    ids = decommission_worker(master, args.host, secret=args.secret, tls=args.tls)
    return {"master": master, "host": args.host, "decommissioned": ids}


def run_snapshot(args: argparse.Namespace) -> Output:
    snapshot = cluster_snapshot(args.masters, args.zookeepers, secret=args.secret, tls=args.tls)
    snapshot = history.with_history(snapshot, args.history, secret=args.secret, tls=args.tls)
    if args.format == "table":
        return table.render(snapshot)
    # The playbooks' health report shows the table and asserts on the problems.
    return {
        **snapshot.to_json(),
        "problems": snapshot.problems(args.expect_workers),
        "table": table.render(snapshot),
    }


def run_certs(args: argparse.Namespace) -> Output:
    now = datetime.now(UTC)
    found = in_parallel(lambda a: certs.expiry("web port", a), args.ports)
    rows = [
        {
            "address": e.address,
            "expires": e.expires.isoformat() if e.expires else None,
            "days_left": e.days(now),
            "reason": e.reason,
        }
        for e in found.values()
    ]
    notes = [(e, e.warning(now, args.warn_days)) for e in found.values()]
    return {
        "certificates": rows,
        "warnings": [w for e, w in notes if w and not e.expired(now)],
        "problems": [w for e, w in notes if w and e.expired(now)],
    }


# ---- the parser -------------------------------------------------------------------------

Runner = Callable[[argparse.Namespace], Output]

GATE_HELP = (
    "Checks every --interval seconds and succeeds once the condition held on --consecutive "
    "checks in a row; fails after --timeout seconds with what the last check saw."
)


def _secret_option(parser: argparse.ArgumentParser, default: Any) -> None:
    parser.add_argument(
        "--ca-file",
        dest="tls",
        type=_ca_file,
        default=default,
        metavar="PATH",
        help="the cluster's ca.pem: web addresses without a scheme are then https://, their "
        f"certificates checked against it and their host names (default: ${CA_ENV})",
    )
    parser.add_argument(
        "--secret-file",
        dest="secret",
        type=_secret_file,
        default=default,
        metavar="PATH",
        help="file holding the cluster secret (spark.authenticate.secret), sent to the "
        f"masters' web ports as a bearer token; never printed (default: ${SECRET_ENV})",
    )


def _masters(parser: argparse.ArgumentParser, name: str = "masters", **extra: Any) -> None:
    parser.add_argument(
        name, type=_webs, metavar="MASTERS", help="HOST:WEBPORT,HOST:WEBPORT,...", **extra
    )


def _masters_and_host(parser: argparse.ArgumentParser) -> None:
    """The arguments of the commands about one worker host, as the leader sees it."""
    _masters(parser)
    parser.add_argument("host", metavar="HOST", help="the host the worker registered with")


def _gate_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--consecutive",
        type=_positive_int,
        default=3,
        metavar="N",
        help="good checks in a row needed (default 3)",
    )
    parser.add_argument(
        "--interval",
        type=_seconds,
        default=1.0,
        metavar="S",
        help="seconds between checks (default 1)",
    )
    parser.add_argument(
        "--timeout",
        type=_seconds,
        default=120.0,
        metavar="S",
        help="seconds before giving up (default 120)",
    )


def _command(
    subparsers: Any, name: str, run: Runner, summary: str, details: str, *, gate: bool = False
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name, help=summary, description=f"{summary} {details}{' ' + GATE_HELP if gate else ''}"
    )
    parser.set_defaults(run=run, command=name)
    # Also accepted after the command name; SUPPRESS keeps the global value when absent.
    _secret_option(parser, argparse.SUPPRESS)
    if gate:
        _gate_options(parser)
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog=PROG,
        description="Probe a running minispark cluster from the operator's machine. Each "
        "command prints one JSON object and exits 0, or prints one line on stderr and exits 1 "
        "(2 for a usage mistake). Addresses are HOST:PORT; a master's is its web port "
        "(8080 by default), optionally with http:// or https://.",
    )
    _secret_option(parser, None)
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="CHECK", parser_class=OneLineParser
    )

    p = _command(
        sub,
        "zk-mode",
        run_zk_mode,
        "Ask one ZooKeeper member its mode.",
        "Prints leader, follower, standalone or observer; fails if the member cannot "
        "be reached or does not serve (no quorum).",
    )
    p.add_argument("member", type=_zookeeper, metavar="HOST:PORT", help="client port")

    p = _command(
        sub,
        "wait-zk",
        run_wait_zk,
        "Wait until a ZooKeeper member serves in a quorum.",
        "Serving means mode leader, follower or observer.",
        gate=True,
    )
    p.add_argument("member", type=_zookeeper, metavar="HOST:PORT", help="client port")
    p.add_argument(
        "--allow-standalone",
        action="store_true",
        help="a member running standalone (a one-server setup) counts as serving",
    )

    p = _command(
        sub,
        "master-state",
        run_master_state,
        "Print a master's state (its /json).",
        "A master that cannot be reached is reported as status UNREACHABLE with the "
        "reason, with exit 0: treat it like a standby.",
    )
    p.add_argument("master", type=_web, metavar="HOST:WEBPORT")

    p = _command(
        sub,
        "wait-master",
        run_wait_master,
        "Wait until a master reports a status.",
        "ALIVE is the leader, STANDBY a master waiting to lead, ANY either of the two "
        "(the master serves).",
        gate=True,
    )
    p.add_argument("master", type=_web, metavar="HOST:WEBPORT")
    p.add_argument(
        "--status",
        choices=checks.MASTER_WANTED,
        default=checks.ANY,
        help="the status to wait for (default ANY)",
    )

    p = _command(
        sub,
        "wait-history",
        run_wait_history,
        "Wait until a history server has listed its event log directory.",
        "Its /readyz answers 200 once the first listing is done; until then, or if the "
        "directory cannot be listed, it answers 503 with the reason.",
        gate=True,
    )
    p.add_argument("server", type=_web, metavar="HOST:WEBPORT")

    p = _command(
        sub,
        "wait-leader",
        run_wait_leader,
        "Wait until exactly one of the masters leads (is ALIVE).",
        "Masters that cannot be reached count as not leading; the same master must "
        "lead on every check of the streak.",
        gate=True,
    )
    _masters(p)

    p = _command(
        sub,
        "wait-worker",
        run_wait_worker,
        "Wait until the leading master lists an ALIVE worker on a host.",
        "Prints the leader's entry for that worker; with --cores or --memory-mb the "
        "worker must offer exactly that much.",
        gate=True,
    )
    _masters_and_host(p)
    p.add_argument("--cores", type=_positive_int, metavar="N")
    p.add_argument("--memory-mb", type=_positive_int, metavar="M")

    p = _command(
        sub,
        "wait-drained",
        run_wait_drained,
        "Wait until no executor runs on a host's workers.",
        "Use after decommission: running applications keep their executors there until "
        "they end; a restart before that makes their tasks run again elsewhere.",
        gate=True,
    )
    _masters_and_host(p)

    p = _command(
        sub,
        "decommission",
        run_decommission,
        "Decommission the workers on a host, through the leading master.",
        "They take no new executors; running ones finish. Prints the ids of the "
        "workers decommissioned: none if there was no ALIVE worker on the host.",
    )
    _masters_and_host(p)

    p = _command(
        sub,
        "snapshot",
        run_snapshot,
        "Show the whole cluster at once: ZooKeeper modes, master statuses, and the "
        "leader's workers, applications and drivers.",
        "Never fails because a daemon is down: its line says why. --format table "
        "prints a text table for people instead of JSON.",
    )
    _masters(p, "--masters", default=[])
    p.add_argument(
        "--expect-workers",
        type=int,
        metavar="N",
        help="count it as a problem unless exactly N workers are ALIVE (JSON's problems list)",
    )
    p.add_argument(
        "--zookeepers",
        type=_zookeepers,
        default=[],
        metavar="MEMBERS",
        help="HOST:PORT,HOST:PORT,...",
    )
    p.add_argument(
        "--history",
        type=_optional_webs,
        default=[],
        metavar="SERVERS",
        help="history servers' HOST:WEBPORT,...: whether each is up, and the applications it "
        "lists (one not up is a problem)",
    )
    p.add_argument("--format", choices=("json", "table"), default="json")

    p = _command(
        sub,
        "certs",
        run_certs,
        "Show when the certificates served on TLS ports expire.",
        "Reads each certificate in a handshake (without trusting it, so an expired one "
        "still shows its date). Never fails because a port is down: its entry says why. "
        "warnings lists those expiring within --warn-days, problems the expired ones.",
    )
    p.add_argument("ports", type=_webs, metavar="PORTS", help="HOST:PORT,HOST:PORT,...")
    p.add_argument(
        "--warn-days",
        type=_positive_int,
        default=certs.WARN_DAYS,
        metavar="N",
        help=f"warn this many days ahead (default {certs.WARN_DAYS})",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "snapshot" and not (args.masters or args.zookeepers or args.history):
        parser.error("snapshot: give --masters, --zookeepers, --history or several")
    if getattr(args, "secret", None) is None:
        # The playbooks pass the secret in the environment: never on a command line, where
        # `ps` and Ansible's output would show it.
        args.secret = first_secret(os.environ.get(SECRET_ENV) or "")
    if getattr(args, "tls", None) is None and os.environ.get(CA_ENV):
        try:
            args.tls = Tls.load(os.environ[CA_ENV])
        except UsageError as exc:
            parser.error(f"{CA_ENV}: {exc}")
    prefix = f"{PROG} {args.command}"
    try:
        output = args.run(args)
    except ProbeError as exc:
        print(f"{prefix}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print(f"{prefix}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug of ours: still one line, so the playbook output stays legible
        print(f"{prefix}: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if isinstance(output, str):
        sys.stdout.write(output)
    else:
        print(json.dumps(output))
    return 0


if __name__ == "__main__":
    sys.exit(main())

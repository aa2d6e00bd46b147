"""Command line of the lab: `python -m tests.lab --help` (run from the repository root)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import sys
import time
from collections.abc import Callable, Sequence

from tests.lab import image, preflight, ssh
from tests.lab.errors import LabError
from tests.lab.lab import READY_TIMEOUT, Lab
from tests.lab.layout import HostSpec, spec_from_option, specs_from_json, specs_from_rows

DESCRIPTION = """\
Real systemd hosts for minispark's tests, booted with systemd-nspawn from a cached Debian
image, on the bridge mslab0 (10.77.0.0/24), each with its own address, SSH key access for
root and optional CPU and memory limits. Without --host/--hosts-json, `up` starts the default
six hosts: m1-m3 (zookeeper, minispark_master) and w1-w3 (minispark_worker, with different
CPU and memory limits)."""

EPILOG = """\
environment:
  MINISPARK_LAB_CACHE   image and SSH key cache (default /var/cache/minispark-lab)
  MINISPARK_LAB_STATE   state of the running lab (default $MINISPARK_LAB_CACHE/run)
  MINISPARK_LAB_MIRROR  Debian mirror for debootstrap (default: read from /etc/apt)

needs: root, cgroup memory+cpuset controllers, and
  apt-get install -y systemd-container debootstrap iptables iproute2 openssh-client

examples:
  python -m tests.lab up
  python -m tests.lab up --host a,groups=zookeeper,memory=2G --host b,cpus=1,memory=2G
  python -m tests.lab ssh w1 nproc
  python -m tests.lab fault cut w2 && python -m tests.lab fault heal w2
  python -m tests.lab down
"""

FAULTS: dict[str, tuple[str, list[str]]] = {
    "kill": ("kill every process of the host (power failure)", []),
    "start": ("boot a stopped host again on its old disk and wait for it", []),
    "poweroff": ("systemctl poweroff inside the host, wait until it is gone", []),
    "stop-unit": ("systemctl stop UNIT on the host", ["unit"]),
    "kill-unit": ("send SIGKILL to UNIT's processes on the host", ["unit"]),
    "cut": ("take the host off the network (its bridge link goes down)", []),
    "heal": ("bring the host's link back and wait until it answers", []),
    "delay": ("delay traffic to the host by MS milliseconds", ["ms"]),
    "undelay": ("remove the delay", []),
}


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="python -m tests.lab",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    top.add_argument("-v", "--verbose", action="store_true", help="also show every command run")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    up = commands.add_parser("up", help="start a lab and write its Ansible inventory")
    up.add_argument(
        "--host",
        action="append",
        default=[],
        metavar="SPEC",
        help="NAME[,groups=A+B][,cpus=N][,memory=SIZE][,address=IP]; repeatable",
    )
    up.add_argument(
        "--hosts-json",
        metavar="JSON",
        help='list of {"name", "groups", "cpus", "memory", "address"} objects',
    )
    up.add_argument(
        "--timeout",
        type=float,
        default=READY_TIMEOUT,
        help="seconds to wait for the hosts to be ready (default %(default)s)",
    )
    up.add_argument(
        "--json",
        action="store_true",
        help="print molecule's instance config and the inventory path as JSON",
    )
    commands.add_parser("down", help="stop and remove the lab (safe to repeat)")
    status = commands.add_parser("status", help="show the hosts and their state")
    status.add_argument("--json", action="store_true")
    commands.add_parser("inventory", help="print the path of the lab's Ansible inventory")
    build = commands.add_parser("image", help="build the image now (normally done by up)")
    build.add_argument("--rebuild", action="store_true", help="build even if cached")
    shell = commands.add_parser("ssh", help="run a command on a host (or open a shell)")
    shell.add_argument("name")
    shell.add_argument("remote", nargs=argparse.REMAINDER, help="command and arguments")
    fault = commands.add_parser("fault", help="inject a fault: " + ", ".join(FAULTS))
    kinds = fault.add_subparsers(dest="fault", required=True, metavar="FAULT")
    for kind, (text, extra) in FAULTS.items():
        sub = kinds.add_parser(kind, help=text, description=text)
        sub.add_argument("name", help="host name")
        for arg in extra:
            sub.add_argument(arg, type=int if arg == "ms" else str)
    return top


def host_specs(args: argparse.Namespace, lab: Lab) -> list[HostSpec] | None:
    network = lab.settings.network
    if args.hosts_json:
        return specs_from_json(args.hosts_json, network)
    if args.host:
        return specs_from_rows([spec_from_option(opt, network) for opt in args.host], network)
    return None


def cmd_up(args: argparse.Namespace, lab: Lab) -> int:
    lab.up(host_specs(args, lab), timeout=args.timeout)
    if args.json:
        print(json.dumps({"instances": lab.instances(), "inventory": str(lab.inventory)}))
    else:
        print(f"lab is up; inventory: {lab.inventory}")
    return 0


def cmd_down(_args: argparse.Namespace, lab: Lab) -> int:
    lab.down()
    return 0


def cmd_status(args: argparse.Namespace, lab: Lab) -> int:
    if not lab.is_up():
        print("no lab is up")
        return 0
    rows = lab.status()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'HOST':12} {'ADDRESS':12} {'SYSTEM':12} {'LINK':10} {'CPUS':6} {'MEMORY':7} GROUPS")
    for row in rows:
        memory = f"{row['memory'] / 2**30:g}G" if row["memory"] else "-"
        cpus = ",".join(map(str, row["cpus"])) if row["cpus"] else "-"
        link = f"{row['link']}+{row['delay_ms']}ms" if row["delay_ms"] else row["link"]
        print(
            f"{row['name']:12} {row['address']:12} {row['system']:12} {link:10} {cpus:6} "
            f"{memory:7} {','.join(row['groups'])}"
        )
    return 0


def cmd_inventory(_args: argparse.Namespace, lab: Lab) -> int:
    lab.state()  # fails with a clear message when no lab is up
    print(lab.inventory)
    return 0


def cmd_image(args: argparse.Namespace, lab: Lab) -> int:
    preflight.check()
    started = time.monotonic()
    root = image.ensure_image(lab.settings, rebuild=args.rebuild)
    print(f"{root} ({time.monotonic() - started:.0f}s)")
    return 0


def cmd_ssh(args: argparse.Namespace, lab: Lab) -> int:
    remote = args.remote[1:] if args.remote[:1] == ["--"] else args.remote
    if not remote:
        # An interactive shell: hand the terminal over to ssh.
        os.execvp("ssh", ssh.argv(lab.key, lab.host(args.name).address, None))
    result = lab.ssh(args.name, shlex.join(remote), check=False, timeout=3600)
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    return result.returncode


def cmd_fault(args: argparse.Namespace, lab: Lab) -> int:
    actions: dict[str, Callable[[], None]] = {
        "kill": lambda: lab.kill_host(args.name),
        "start": lambda: lab.start_host(args.name),
        "poweroff": lambda: lab.poweroff(args.name),
        "stop-unit": lambda: lab.stop_unit(args.name, args.unit),
        "kill-unit": lambda: lab.kill_unit(args.name, args.unit),
        "cut": lambda: lab.cut(args.name),
        "heal": lambda: lab.heal(args.name),
        "delay": lambda: lab.delay(args.name, args.ms),
        "undelay": lambda: lab.undelay(args.name),
    }
    actions[args.fault]()
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace, Lab], int]] = {
    "up": cmd_up,
    "down": cmd_down,
    "status": cmd_status,
    "inventory": cmd_inventory,
    "image": cmd_image,
    "ssh": cmd_ssh,
    "fault": cmd_fault,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="lab: %(message)s",
        stream=sys.stderr,
    )
    try:
        return COMMANDS[args.command](args, Lab())
    except LabError as exc:
        print(f"lab: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("lab: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

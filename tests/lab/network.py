"""The lab bridge, the NAT that lets hosts reach Debian's packages, and per-host link faults.

All changes here touch only the lab bridge, the hosts' links on it and rules that match the
lab subnet; each one is recorded in the lab state so teardown can undo exactly it.
"""

from __future__ import annotations

import time
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

from tests.lab import shell
from tests.lab.errors import LabError

# How long a dead host's link may linger before teardown deletes it itself.
LINGER_S = 5.0
IP_FORWARD = Path("/proc/sys/net/ipv4/ip_forward")
RULE_COMMENT = "minispark-lab"


def veth(host: str) -> str:
    """The bridge side of a host's link, as systemd-nspawn names it."""
    return f"vb-{host}"


def link_exists(name: str) -> bool:
    return Path("/sys/class/net", name).exists()


def link_up(name: str) -> bool:
    """Whether the link exists and is administratively up (a cut host's link is not)."""
    flags = Path("/sys/class/net", name, "flags")
    return flags.exists() and int(flags.read_text(), 16) & 1 == 1


def wait_link_gone(name: str, timeout: float) -> None:
    """Wait for a dead host's link to go, deleting it if it lingers.

    The kernel frees a network namespace (and the veth end inside it, which takes the
    bridge end along) in a work queue after the namespace's last process has died, so the
    link can outlive the host by a moment; booting the host again meanwhile fails in nspawn
    with "Failed to add new veth interfaces: File exists".
    """
    deadline = time.monotonic() + min(timeout, LINGER_S)
    while link_exists(name) and time.monotonic() < deadline:
        time.sleep(0.05)
    if link_exists(name):
        # "Cannot find device" here means the kernel freed it between the check and the call.
        shell.run(["ip", "link", "del", name], check=False)
    if link_exists(name):
        raise LabError(f"link {name} of a stopped host stays; remove it: ip link del {name}")


def create_bridge(bridge: str, gateway: IPv4Address, network: IPv4Network) -> None:
    shell.run(["ip", "link", "add", bridge, "type", "bridge"])
    shell.run(["ip", "addr", "add", f"{gateway}/{network.prefixlen}", "dev", bridge])
    shell.run(["ip", "link", "set", bridge, "up"])


def delete_link(name: str) -> None:
    if link_exists(name):
        shell.run(["ip", "link", "del", name])


def route_conflict(network: IPv4Network, bridge: str) -> str | None:
    """A route for the lab subnet that is not the lab bridge's, if there is one."""
    routes = shell.run(["ip", "-4", "route", "show", "to", "match", str(network[1])]).stdout
    for line in routes.splitlines():
        words = line.split()
        if words and words[0] != "default" and "dev" in words:
            device = words[words.index("dev") + 1]
            if device != bridge:
                return line
    return None


def default_interface() -> str | None:
    """The interface of the default route: where NAT sends the hosts' package traffic."""
    routes = shell.run(["ip", "-4", "route", "show", "default"]).stdout.split()
    return routes[routes.index("dev") + 1] if "dev" in routes else None


def nat_rules(network: IPv4Network, bridge: str, out: str) -> list[list[str]]:
    """iptables rules (table, chain, match...) that let the lab subnet out through `out`."""
    tag = ["-m", "comment", "--comment", RULE_COMMENT]
    return [
        [
            "nat",
            "POSTROUTING",
            "-s",
            str(network),
            "!",
            "-d",
            str(network),
            "-o",
            out,
            *tag,
            "-j",
            "MASQUERADE",
        ],
        # Only needed where FORWARD drops by default; harmless elsewhere and removed with the lab.
        ["filter", "FORWARD", "-i", bridge, "-o", out, *tag, "-j", "ACCEPT"],
        [
            "filter",
            "FORWARD",
            "-i",
            out,
            "-o",
            bridge,
            "-m",
            "conntrack",
            "--ctstate",
            "RELATED,ESTABLISHED",
            *tag,
            "-j",
            "ACCEPT",
        ],
    ]


def _iptables(action: str, rule: list[str]) -> list[str]:
    table, chain, *spec = rule
    return ["iptables", "-w", "10", "-t", table, action, chain, *spec]


def rule_present(rule: list[str]) -> bool:
    return shell.run(_iptables("-C", rule), check=False).returncode == 0


def add_rule(rule: list[str], first: bool = False) -> None:
    """Append the rule (or put it `first` in its chain), unless it is there already."""
    if not rule_present(rule):
        shell.run(_iptables("-I" if first else "-A", rule))


def delete_rule(rule: list[str]) -> None:
    # A rule added twice by an interrupted run is deleted until none is left.
    for _ in range(10):
        if not rule_present(rule):
            return
        shell.run(_iptables("-D", rule))
    raise LabError(f"iptables rule keeps coming back: {rule}")


def read_ip_forward() -> str:
    return IP_FORWARD.read_text().strip()


def write_ip_forward(value: str) -> None:
    IP_FORWARD.write_text(f"{value}\n")


def set_link(name: str, up: bool) -> None:
    if not link_exists(name):
        raise LabError(f"no link {name}: is the host running?")
    shell.run(["ip", "link", "set", name, "up" if up else "down"])


def delay_rules(address: str, queue: int) -> list[list[str]]:
    """Rules handing every packet *to* `address` to NFQUEUE `queue` (see delayer.py).

    OUTPUT catches the controller's packets; FORWARD catches routed ones and, with the
    bridge netfilter hook on, those of the other lab hosts. --queue-bypass lets packets pass
    undelayed whenever no delayer listens, so a dead delayer never cuts a host off.
    """
    tag = ["-m", "comment", "--comment", RULE_COMMENT]
    target = ["-j", "NFQUEUE", "--queue-num", str(queue), "--queue-bypass"]
    return [["filter", chain, "-d", address, *tag, *target] for chain in ("OUTPUT", "FORWARD")]

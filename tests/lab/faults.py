"""Faults to inject into a running lab. Every wait is bounded; nothing here runs on its own.

Link faults act outside the host (its veth "vb-<name>" on the bridge, or iptables rules for
its address), so the host sees an ordinary network failure and nothing inside it changes.
"""

from __future__ import annotations

import logging
import shlex
from pathlib import Path
from typing import TYPE_CHECKING

from tests.lab import hosts, latency, network
from tests.lab.errors import LabError

if TYPE_CHECKING:
    from tests.lab.lab import Lab

log = logging.getLogger("minispark.lab")


def kill_host(lab: Lab, name: str) -> None:
    """Kill every process of the host at once (a power failure); its disk is kept."""
    with lab.changing() as current:
        hosts.power_cut(current.host(name))
    log.info("host %s killed", name)


def start_host(lab: Lab, name: str, timeout: float) -> None:
    """Boot a stopped host again, on the disk it had, and wait until it is ready."""
    with lab.changing() as current:
        host = current.host(name)
        if hosts.is_running(host):
            raise LabError(f"host {name} is running; kill it or power it off first")
        hosts.power_cut(host)  # leftovers of a host that stopped by itself
        lab.boot(current, host)
    hosts.wait_ready([host], Path(current.key), timeout)
    log.info("host %s started", name)


def poweroff(lab: Lab, name: str, timeout: float) -> None:
    """Shut the host down from inside (`systemctl poweroff`) and wait until it is gone."""
    # --no-block: the SSH session would otherwise be cut in the middle of the shutdown.
    lab.ssh(name, "systemctl poweroff --no-block", timeout=30)
    with lab.changing() as current:
        hosts.wait_stopped(current.host(name), timeout)
    log.info("host %s powered off", name)


def stop_unit(lab: Lab, name: str, unit: str) -> None:
    lab.ssh(name, f"systemctl stop {shlex.quote(unit)}", timeout=120)


def kill_unit(lab: Lab, name: str, unit: str, signal_name: str) -> None:
    """Send a signal (default KILL) to the unit's processes, as a crash would."""
    lab.ssh(name, f"systemctl kill --signal={shlex.quote(signal_name)} {shlex.quote(unit)}")


def cut(lab: Lab, name: str) -> None:
    """Take the host off the network: its link on the bridge goes down."""
    lab.host(name)  # refuses unknown names before touching any link
    network.set_link(network.veth(name), up=False)
    log.info("host %s cut off", name)


def heal(lab: Lab, name: str, timeout: float) -> None:
    """Bring the host's link back up and wait until it answers SSH again."""
    host = lab.host(name)
    network.set_link(network.veth(name), up=True)
    hosts.wait_ready([host], lab.key, timeout)
    log.info("host %s healed", name)


def delay(lab: Lab, name: str, millis: int) -> None:
    """Delay every packet towards the host by `millis` milliseconds (replaces an earlier delay)."""
    if millis < 0:
        raise LabError("a delay cannot be negative")
    with lab.changing() as current:
        host = current.host(name)
        latency.add(host, millis, Path(host.upper).parent / "delayer.log")
    log.info("host %s: packets to it are delayed by %dms", name, millis)


def undelay(lab: Lab, name: str) -> None:
    with lab.changing() as current:
        latency.remove(current.host(name))
    log.info("host %s: delay removed", name)

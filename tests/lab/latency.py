"""The "slow link" fault: every packet towards a host is held back by a fixed delay.

Done with iptables NFQUEUE and delayer.py rather than `tc netem`, which these machines'
kernels lack. The delayer is a process of ours, recorded by pid and start time in the host's
state and ended by that pid.
"""

from __future__ import annotations

import signal
import sys
import time
from ipaddress import IPv4Address
from pathlib import Path

from tests.lab import network, procs
from tests.lab.errors import LabError
from tests.lab.state import HostState

DELAYER = Path(__file__).with_name("delayer.py")
# NFQUEUE numbers are machine-wide; this range is unlikely to be used by anything else.
QUEUE_BASE = 17700
READY_TIMEOUT = 10.0


def queue_of(host: HostState) -> int:
    return QUEUE_BASE + int(IPv4Address(host.address)) % 256


def add(host: HostState, millis: int, log_file: Path) -> None:
    """Start the delayer for the host, wait until it listens, then route its packets to it."""
    remove(host)
    queue = queue_of(host)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    log_file.write_text("")
    proc = procs.spawn([sys.executable, str(DELAYER), str(queue), str(millis)], log_file)
    host.delayer_pid, host.delayer_start, host.delay_ms = proc.pid, proc.start, millis
    _wait_listening(proc, log_file)
    for rule in network.delay_rules(host.address, queue):
        host.delay_rules.append(rule)
        network.add_rule(rule, first=True)


def _wait_listening(proc: procs.ProcRef, log_file: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while "delaying queue" not in log_file.read_text():
        if not procs.is_alive(proc) or time.monotonic() > deadline:
            raise LabError(f"the packet delayer did not start: {log_file.read_text()[-500:]}")
        time.sleep(0.05)


def remove(host: HostState, timeout: float = 10.0) -> None:
    """Remove the rules first (no packet is queued after that), then end the delayer."""
    for rule in host.delay_rules:
        network.delete_rule(rule)
    host.delay_rules = []
    if host.delayer is not None:
        procs.send(host.delayer, signal.SIGTERM)  # it releases the packets it holds
        if not procs.wait_gone(host.delayer, timeout):
            procs.send(host.delayer, signal.SIGKILL)
            procs.wait_dead(host.delayer, timeout)
    host.delayer_pid = host.delayer_start = host.delay_ms = None

"""Lab hosts: an overlay with the host's identity over the shared image, booted by nspawn.

A host is the nspawn process plus the cgroups it was started in; the container's processes
all live in those cgroups (killing nspawn alone would leave the container running), so a
host is stopped by killing every process in its cgroups.
"""

from __future__ import annotations

import logging
import shutil
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from ipaddress import IPv4Address
from pathlib import Path

from tests.lab import aptsource, cgroups, files, latency, network, procs, ssh
from tests.lab.errors import LabError
from tests.lab.state import HostState

log = logging.getLogger("minispark.lab")

READY = {"running", "degraded"}
# nspawn keeps a per-machine directory here and leaves it behind when killed.
NSPAWN_PROPAGATE = Path("/run/systemd/nspawn/propagate")
# Moves the shell into the host's cgroups, then becomes nspawn (same pid), so the container
# is created inside the groups and no process of it escapes the limits.
ENTER_CGROUPS = 'while [ "$1" != -- ]; do echo $$ > "$1" || exit 97; shift; done; shift; exec "$@"'


def prepare_overlay(
    host: HostState,
    everyone: Sequence[HostState],
    gateway: IPv4Address,
    prefix: int,
    public_key: str,
) -> None:
    """Write the host's identity into its overlay (once: a restarted host keeps its disk)."""
    upper = Path(host.upper)
    if upper.exists():
        return
    etc = upper / "etc"
    hosts_lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback"]
    # Every host resolves every other by name, and its own name to its lab address (not
    # 127.0.1.1, which would make ZooKeeper and the master bind to loopback).
    hosts_lines += [f"{other.address}\t{other.name}" for other in everyone]
    files.write(etc / "hostname", f"{host.name}\n")
    files.write(etc / "hosts", "\n".join(hosts_lines) + "\n")
    files.write(etc / "machine-id", f"{uuid.uuid4().hex}\n", mode=0o444)
    files.write(
        etc / "systemd" / "network" / "10-host0.network",  # sorts before the image's 80-*
        f"[Match]\nName=host0\n\n[Network]\nAddress={host.address}/{prefix}\nGateway={gateway}\n",
    )
    files.write(upper / "root" / ".ssh" / "authorized_keys", public_key, mode=0o600)
    for source in aptsource.host_apt_files():
        target = upper / source.relative_to("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    _set_directory_modes(upper)


def _set_directory_modes(upper: Path) -> None:
    # A directory in the overlay hides the image's attributes for it, so it must carry the
    # usual ones whatever our umask was: /etc unreadable would break networkd and sshd.
    for directory in [upper, *(p for p in upper.rglob("*") if p.is_dir())]:
        directory.chmod(0o755)
    for private in (upper / "root", upper / "root" / ".ssh"):
        private.chmod(0o700)


def nspawn_argv(host: HostState, image: Path, bridge: str) -> list[str]:
    return [
        "systemd-nspawn",
        f"--directory={image}",
        f"--overlay={image}:{host.upper}:/",
        f"--machine={host.name}",
        # No machined and no system bus on these machines: nspawn must not try to register.
        "--register=no",
        "--keep-unit",
        f"--network-bridge={bridge}",
        "--resolv-conf=copy-host",
        # Never link the host's journal into the machine's /var/log/journal.
        "--link-journal=no",
        "--console=read-only",
        "--boot",
    ]


def boot(host: HostState, image: Path, bridge: str) -> None:
    """Start the host in its cgroups (made by the caller) and record its process."""
    argv = [
        "sh",
        "-c",
        ENTER_CGROUPS,
        "lab-boot",
        *cgroups.procs_files(host.cgroups),
        "--",
        *nspawn_argv(host, image, bridge),
    ]
    proc = procs.spawn(argv, Path(host.log))
    host.pid, host.start = proc.pid, proc.start


def is_running(host: HostState) -> bool:
    return host.proc is not None and procs.is_alive(host.proc)


def system_state(host: HostState, key: Path) -> str:
    """What `systemctl is-system-running` says on the host, or "unreachable"."""
    result = ssh.run(key, host.address, "systemctl is-system-running", timeout=15, check=False)
    return result.stdout.strip() or "unreachable"


def wait_ready(hosts: Sequence[HostState], key: Path, timeout: float) -> None:
    """Wait until every host answers SSH and its systemd is running (or degraded)."""
    deadline = time.monotonic() + timeout
    pending = {host.name: host for host in hosts}
    last: dict[str, str] = {}
    with ThreadPoolExecutor(max_workers=max(1, len(pending))) as pool:
        while pending:
            for host in pending.values():
                if not is_running(host):
                    raise LabError(f"host {host.name} stopped while booting:\n{console(host)}")
            states = pool.map(lambda h: system_state(h, key), list(pending.values()))
            last = dict(zip(list(pending), states, strict=True))
            for name, state in last.items():
                if state in READY:
                    log.info("host %s is up (%s)", name, state)
                    del pending[name]
            if pending and time.monotonic() > deadline:
                raise LabError(f"hosts not ready after {timeout:.0f}s: {last} (see console logs)")
            if pending:
                time.sleep(0.5)


def console(host: HostState, lines: int = 20) -> str:
    path = Path(host.log)
    text = path.read_text(errors="replace") if path.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


def power_cut(host: HostState, timeout: float = 30.0) -> None:
    """Kill every process of the host at once, as if its power failed; its disk stays."""
    cgroups.kill_all(host.cgroups, timeout)
    if host.proc:
        procs.wait_dead(host.proc, timeout)
    host.pid = host.start = None
    _remove_propagate_dir(host.name)
    network.wait_link_gone(network.veth(host.name), timeout)


def wait_stopped(host: HostState, timeout: float) -> None:
    """Wait for a host that shuts down by itself (poweroff inside) to be gone."""
    if host.proc and not procs.wait_gone(host.proc, timeout) and procs.is_alive(host.proc):
        raise LabError(f"host {host.name} did not power off within {timeout:.0f}s")
    power_cut(host)  # whatever is left (nothing, normally), and nspawn's leftovers


def remove(host: HostState) -> None:
    """Stop the host and its faults; remove its cgroups and overlay."""
    latency.remove(host)
    power_cut(host)
    cgroups.remove(host.cgroups)
    files.remove_tree(Path(host.upper).parent)


def _remove_propagate_dir(name: str) -> None:
    path = NSPAWN_PROPAGATE / name
    if path.is_dir() and not files.mounts_below(path):
        shutil.rmtree(path)

"""The lab: bring N systemd hosts up, inspect them, inject faults, tear everything down.

lab = Lab()
with lab.guarded():            # teardown on return, error, Ctrl-C, SIGTERM or exit
    lab.up()                   # the default six hosts, see layout.default_layout
    lab.ssh("w1", "nproc")
    lab.cut("w2"); lab.heal("w2")
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from types import FrameType
from typing import Any

from tests.lab import cgroups, faults, files, hosts, image, inventory, network, preflight, ssh
from tests.lab import state as lab_state
from tests.lab.errors import LabError
from tests.lab.layout import HostSpec, assign_cpusets, check_layout, default_layout
from tests.lab.settings import Settings
from tests.lab.state import HostState, LabState

log = logging.getLogger("minispark.lab")

READY_TIMEOUT = 180.0


class Lab:
    """One machine's lab, described by the state file in `settings.state_dir`."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings.from_env()
        # Seconds spent in the last image step and host start, for people and the test report.
        self.timings: dict[str, float] = {}

    # -- life cycle -------------------------------------------------------------------------

    def up(self, specs: Sequence[HostSpec] | None = None, timeout: float = READY_TIMEOUT) -> None:
        """Boot the hosts (default: the six-host layout) and wait until all are ready."""
        preflight.check()
        specs = list(specs or default_layout(self.settings.network))
        check_layout(specs, self.settings.network)
        with lab_state.locked(self.settings.lock_file):
            if (existing := lab_state.load(self.settings.state_file)) is not None:
                raise LabError(
                    f"a lab is already up ({', '.join(existing.hosts)}); "
                    "run `python -m tests.lab down` first"
                )
            key = ssh.ensure_key(self.settings.key_file)
            started = time.monotonic()
            root = image.ensure_image(self.settings)
            self.timings["image"] = time.monotonic() - started
            current = LabState(
                bridge=self.settings.bridge,
                network=str(self.settings.network),
                image=str(root),
                key=str(key),
            )
            started = time.monotonic()
            try:
                self._start(current, specs, timeout)
            except BaseException:
                log.error("lab start failed; tearing down what was started")
                self._teardown(current)
                raise
            self.timings["start"] = time.monotonic() - started
        log.info(
            "lab up: %d hosts in %.1fs; inventory %s",
            len(specs),
            self.timings["start"],
            current.inventory,
        )

    def down(self) -> None:
        """Remove the lab: hosts, overlays, cgroups, NAT rules, bridge. Does nothing if none."""
        preflight.check_root()
        with lab_state.locked(self.settings.lock_file):
            current = lab_state.load(self.settings.state_file)
            if current is None:
                log.info("no lab is up")
                return
            started = time.monotonic()
            self._teardown(current)
            self.timings["down"] = time.monotonic() - started
            log.info("lab down in %.1fs", self.timings["down"])

    @contextlib.contextmanager
    def guarded(self) -> Iterator[Lab]:
        """Tear the lab down however the block ends: normally, by an error, Ctrl-C or SIGTERM.

        The atexit hook covers the cases where the block is never finished (an interpreter
        shutting down under a suspended generator).
        """
        previous = _raise_on_termination()
        atexit.register(self._down_quietly)
        try:
            yield self
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            atexit.unregister(self._down_quietly)
            self.down()

    def _down_quietly(self) -> None:
        try:
            self.down()
        except LabError as exc:
            log.error("lab teardown at exit failed: %s", exc)

    # -- looking at a lab -------------------------------------------------------------------

    def is_up(self) -> bool:
        return self.settings.state_file.exists()

    def state(self) -> LabState:
        current = lab_state.load(self.settings.state_file)
        if current is None:
            raise LabError("no lab is up; start one with `python -m tests.lab up`")
        return current

    def host(self, name: str) -> HostState:
        return self.state().host(name)

    @property
    def key(self) -> Path:
        return self.settings.key_file

    @property
    def inventory(self) -> Path:
        return self.settings.inventory_file

    def ssh(
        self, name: str, command: str, *, timeout: float = 60.0, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run a shell command on host `name` as root."""
        return ssh.run(self.key, self.host(name).address, command, timeout=timeout, check=check)

    def status(self) -> list[dict[str, Any]]:
        """Per host: address, groups, limits, and what its systemd says (or "stopped")."""
        rows = []
        for host in self.state().hosts.values():
            running = hosts.is_running(host)
            rows.append(
                {
                    "name": host.name,
                    "address": host.address,
                    "groups": host.groups,
                    "cpus": host.cpus,
                    "memory": host.memory,
                    "pid": host.pid,
                    "system": hosts.system_state(host, self.key) if running else "stopped",
                    "link": "up" if network.link_up(network.veth(host.name)) else "down",
                    "delay_ms": host.delay_ms,
                }
            )
        return rows

    def instances(self) -> list[dict[str, Any]]:
        """The hosts as molecule's instance config: how Ansible reaches each of them."""
        return [
            {
                "instance": h.name,
                "address": h.address,
                "user": ssh.USER,
                "port": 22,
                "identity_file": str(self.key),
            }
            for h in self.state().hosts.values()
        ]

    # -- faults (see faults.py) -------------------------------------------------------------

    def kill_host(self, name: str) -> None:
        faults.kill_host(self, name)

    def start_host(self, name: str, timeout: float = READY_TIMEOUT) -> None:
        faults.start_host(self, name, timeout)

    def poweroff(self, name: str, timeout: float = 60.0) -> None:
        faults.poweroff(self, name, timeout)

    def stop_unit(self, name: str, unit: str) -> None:
        faults.stop_unit(self, name, unit)

    def kill_unit(self, name: str, unit: str, signal_name: str = "KILL") -> None:
        faults.kill_unit(self, name, unit, signal_name)

    def cut(self, name: str) -> None:
        faults.cut(self, name)

    def heal(self, name: str, timeout: float = 60.0) -> None:
        faults.heal(self, name, timeout)

    def delay(self, name: str, millis: int) -> None:
        faults.delay(self, name, millis)

    def undelay(self, name: str) -> None:
        faults.undelay(self, name)

    # -- used by faults.py ------------------------------------------------------------------

    @contextlib.contextmanager
    def changing(self) -> Iterator[LabState]:
        """The lab state, locked against other processes, saved when the block ends."""
        with lab_state.locked(self.settings.lock_file):
            current = self.state()
            try:
                yield current
            finally:
                self._save(current)

    def boot(self, current: LabState, host: HostState) -> None:
        """(Re)create the host's cgroups and start it; the caller waits for it."""
        host.cgroups = [
            str(h.mount / self.settings.cgroup_name(host.name)) for h in cgroups.hierarchies()
        ]
        self._save(current)  # recorded before they exist, so teardown finds them
        cgroups.create(self.settings.cgroup_name(host.name), host.cpus, host.memory)
        hosts.boot(host, Path(current.image), current.bridge)
        self._save(current)

    # -- internals --------------------------------------------------------------------------

    def _save(self, current: LabState) -> None:
        lab_state.save(self.settings.state_file, current)

    def _start(self, current: LabState, specs: Sequence[HostSpec], timeout: float) -> None:
        cpusets = assign_cpusets(specs, sorted(os.sched_getaffinity(0)))
        for spec in specs:
            directory = self.settings.hosts_dir / spec.name
            current.hosts[spec.name] = HostState.from_spec(spec, cpusets.get(spec.name), directory)
        self._save(current)
        self._network_up(current)
        public_key = Path(f"{current.key}.pub").read_text()
        everyone = list(current.hosts.values())
        log.info("booting %d hosts: %s", len(everyone), ", ".join(current.hosts))
        for host in everyone:
            hosts.prepare_overlay(
                host, everyone, self.settings.gateway, self.settings.network.prefixlen, public_key
            )
            self.boot(current, host)
        hosts.wait_ready(everyone, Path(current.key), timeout)
        current.inventory = str(self.settings.inventory_file)
        self._save(current)
        files.write(self.settings.inventory_file, inventory.text(everyone, Path(current.key)))

    def _network_up(self, current: LabState) -> None:
        bridge, net = self.settings.bridge, self.settings.network
        if network.link_exists(bridge):
            raise LabError(
                f"interface {bridge} exists but no lab is recorded; if it is left "
                f"over from a lab, remove it with `ip link del {bridge}`"
            )
        if conflict := network.route_conflict(net, bridge):
            raise LabError(f"the lab subnet {net} is already routed here: {conflict}")
        current.bridge_created = True
        self._save(current)
        network.create_bridge(bridge, self.settings.gateway, net)
        current.ip_forward_before = network.read_ip_forward()
        self._save(current)
        network.write_ip_forward("1")
        out = network.default_interface()
        if out is None:
            log.warning("no default route: hosts will not reach Debian's package mirror")
            return
        for rule in network.nat_rules(net, bridge, out):
            current.nat_rules.append(rule)
            self._save(current)
            # FORWARD accepts go first: they only matter where FORWARD drops by default.
            network.add_rule(rule, first=rule[1] == "FORWARD")

    def _teardown(self, current: LabState) -> None:
        """Undo everything recorded in `current`, continuing past failures, then forget it."""
        # Hosts in parallel: a killed nspawn takes a second or two to exit (its namespaces are
        # torn down), which adds up over six hosts.
        with ThreadPoolExecutor(max_workers=max(1, len(current.hosts))) as pool:
            errors = [e for e in pool.map(_attempt, current.hosts.values()) if e]
        steps: list[tuple[str, Callable[[], None]]] = [
            (f"rule {' '.join(rule)}", partial(network.delete_rule, rule))
            for rule in reversed(current.nat_rules)
        ]
        steps.append(("ip_forward", partial(_restore_ip_forward, current)))
        if current.bridge_created:
            steps.append((f"bridge {current.bridge}", partial(network.delete_link, current.bridge)))
        for what, step in steps:
            try:
                step()
            except (LabError, OSError) as exc:
                errors.append(f"{what}: {exc}")
        if errors:
            self._save(current)  # keep the record, so that `down` can be tried again
            raise LabError("lab teardown incomplete: " + "; ".join(errors))
        self.settings.inventory_file.unlink(missing_ok=True)
        files.remove_tree(self.settings.hosts_dir)
        self.settings.state_file.unlink(missing_ok=True)


def _attempt(host: HostState) -> str | None:
    try:
        hosts.remove(host)
    except (LabError, OSError) as exc:
        return f"host {host.name}: {exc}"
    return None


def _restore_ip_forward(current: LabState) -> None:
    before = current.ip_forward_before
    if before is not None and network.read_ip_forward() != before:
        network.write_ip_forward(before)


def _raise_on_termination() -> dict[int, Any]:
    """Turn SIGTERM and SIGHUP into KeyboardInterrupt so `finally` blocks tear the lab down."""
    if threading.current_thread() is not threading.main_thread():
        return {}

    def interrupt(signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")

    return {signum: signal.signal(signum, interrupt) for signum in (signal.SIGTERM, signal.SIGHUP)}

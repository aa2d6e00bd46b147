"""A cgroup per host in every mounted hierarchy, carrying its CPU and memory limits.

Works on cgroup v1 (with or without the v2 "unified" mount next to it, as on the machines this
was built on) and on pure cgroup v2. The host's nspawn process is moved into these groups
before it starts, so the container and everything in it inherit them; killing a host is
killing every process in its groups, and teardown is removing them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from tests.lab import procs
from tests.lab.errors import LabError
from tests.lab.layout import format_cpulist

LIMITED = ("memory", "cpuset")


@dataclass(frozen=True)
class Hierarchy:
    mount: Path
    version: int
    controllers: frozenset[str]


def hierarchies(mountinfo: Path = Path("/proc/self/mountinfo")) -> list[Hierarchy]:
    """The machine's cgroup hierarchies, one per set of controllers."""
    found: dict[tuple[int, frozenset[str]], Hierarchy] = {}
    for line in mountinfo.read_text().splitlines():
        before, _, after = line.partition(" - ")
        fstype, _source, options = after.split()[:3]
        mount = Path(before.split()[4])
        if fstype == "cgroup":
            controllers = frozenset(o for o in options.split(",") if _is_controller(o))
            found.setdefault((1, controllers), Hierarchy(mount, 1, controllers))
        elif fstype == "cgroup2":
            text = (mount / "cgroup.controllers").read_text()
            controllers = frozenset(text.split())
            found.setdefault((2, controllers), Hierarchy(mount, 2, controllers))
    return list(found.values())


def _is_controller(option: str) -> bool:
    # v1 super options mix controllers ("memory", "name=systemd") with flags.
    flags = {"rw", "ro", "xattr", "noprefix", "clone_children", "cpuset_v2_mode"}
    return option not in flags and not option.startswith("release_agent=")


def _limiting(controller: str, found: list[Hierarchy]) -> Hierarchy | None:
    """The hierarchy where `controller` is available (v1 wins: v2 then has it bound nowhere)."""
    ordered = sorted(found, key=lambda h: h.version)
    return next((h for h in ordered if controller in h.controllers), None)


def support_problem(found: list[Hierarchy] | None = None) -> str | None:
    """Why hosts cannot get CPU and memory limits here, or None if they can."""
    found = hierarchies() if found is None else found
    if not found:
        return "no cgroup filesystem is mounted under /sys/fs/cgroup"
    missing = [name for name in LIMITED if _limiting(name, found) is None]
    if missing:
        return f"the cgroup controllers {', '.join(missing)} are not available on this machine"
    return None


def create(name: str, cpus: list[int] | None, memory: int | None) -> list[str]:
    """Make the cgroup `name` in every hierarchy with the limits applied; return its paths."""
    found = hierarchies()
    paths: list[str] = []
    for hierarchy in found:
        group = hierarchy.mount / name
        if hierarchy.version == 2:
            _enable_v2_controllers(hierarchy, found)
        group.mkdir(exist_ok=True)
        paths.append(str(group))
        if _limiting("cpuset", found) == hierarchy:
            _limit_cpus(hierarchy, group, cpus)
        if _limiting("memory", found) == hierarchy and memory is not None:
            limit_file = "memory.limit_in_bytes" if hierarchy.version == 1 else "memory.max"
            (group / limit_file).write_text(str(memory))
    return paths


def _enable_v2_controllers(hierarchy: Hierarchy, found: list[Hierarchy]) -> None:
    # In pure v2 a child only gets the memory/cpuset files once the parent hands them down.
    wanted = [c for c in LIMITED if _limiting(c, found) == hierarchy]
    if wanted:
        control = hierarchy.mount / "cgroup.subtree_control"
        control.write_text(" ".join(f"+{c}" for c in wanted))


def _limit_cpus(hierarchy: Hierarchy, group: Path, cpus: list[int] | None) -> None:
    if hierarchy.version == 1:
        # v1 cpusets start empty and refuse processes until both files are filled in.
        (group / "cpuset.mems").write_text((hierarchy.mount / "cpuset.mems").read_text())
        everything = (hierarchy.mount / "cpuset.cpus").read_text()
        (group / "cpuset.cpus").write_text(format_cpulist(cpus) if cpus else everything)
    elif cpus:
        (group / "cpuset.cpus").write_text(format_cpulist(cpus))


def procs_files(paths: list[str]) -> list[str]:
    return [str(Path(path) / "cgroup.procs") for path in paths]


def pids(paths: list[str]) -> set[int]:
    """Every process in the groups or any group below them."""
    found: set[int] = set()
    for path in paths:
        for directory, _dirs, _files in os.walk(path):
            with contextlib.suppress(FileNotFoundError):
                text = (Path(directory) / "cgroup.procs").read_text()
                found.update(int(pid) for pid in text.split())
    return found


def kill_all(paths: list[str], timeout: float) -> None:
    """SIGKILL every process in the groups until none is left (a power cut for a host).

    Returns once the killed processes are gone from the process table too, not merely out of
    the group (a dead process stays a zombie until its parent, or init, collects it).
    """
    deadline = time.monotonic() + timeout
    killed: set[procs.ProcRef] = set()
    while left := pids(paths):
        if time.monotonic() > deadline:
            raise LabError(f"processes {sorted(left)} in {paths[0]} survive SIGKILL")
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                killed.add(procs.ref(pid))
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.05)
    for proc in killed:
        procs.wait_dead(proc, max(1.0, deadline - time.monotonic()))


def remove(paths: list[str], timeout: float = 10.0) -> None:
    """Remove the groups and the groups the host's systemd made below them."""
    for path in paths:
        if not Path(path).exists():
            continue
        for directory, _dirs, _files in sorted(os.walk(path, topdown=False), key=_depth):
            _rmdir(Path(directory), timeout)


def _depth(entry: tuple[str, list[str], list[str]]) -> int:
    return -len(Path(entry[0]).parts)


def _rmdir(directory: Path, timeout: float) -> None:
    # A group is busy for a moment after its last process exited.
    deadline = time.monotonic() + timeout
    while True:
        try:
            directory.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError as exc:
            if time.monotonic() > deadline:
                raise LabError(f"cannot remove cgroup {directory}: {exc}") from exc
            time.sleep(0.1)

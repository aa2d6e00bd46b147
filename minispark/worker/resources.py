"""Detect the cores and memory a worker on this host may use.

The host's own figures (``/proc/meminfo``, the online CPUs) are only an upper bound: inside a
container the process may be pinned to fewer CPUs and confined by cgroup limits, which the
kernel enforces but ``/proc`` does not show.  We therefore take the smallest of

* the host: online CPUs and ``MemTotal``;
* the CPU affinity (``Cpus_allowed_list``) and any cgroup cpuset;
* cgroup v1 and v2 CPU quotas and memory limits.

Every file is read relative to ``root`` so tests can point it at a fake tree.  A missing,
unreadable or garbled file means "no limit from that source", never an error.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath

MIB = 1024 * 1024
DEFAULT_RESERVE_MB = 1024
# Memory a worker offers even when the reserve would eat everything (see _usable_memory_mb).
MIN_MEMORY_MB = 512
# cgroup v1 says "unlimited" with a huge page-aligned number (9223372036854771712 on x86_64);
# anything at or beyond 1 EiB cannot be a real limit.
_UNLIMITED_BYTES = 1 << 60
# Linux supports at most 8192 CPUs; a bigger index means a garbled CPU list.
_MAX_CPU_INDEX = 1 << 16
_CGROUP_MOUNT = "sys/fs/cgroup"


@dataclass(frozen=True)
class Detected:
    """What a worker may offer, with the figures it was derived from."""

    cores: int  # what the worker offers
    memory_mb: int  # what the worker offers (after reserve/floor)
    host_cores: int  # online CPUs of the machine
    affinity_cores: int  # CPUs the process may run on: affinity, narrowed by any cgroup cpuset
    cgroup_cpu_limit: float | None  # smallest quota/period found, None if unlimited
    host_memory_mb: int  # MemTotal
    cgroup_memory_mb: int | None  # smallest cgroup memory limit found, None if unlimited
    reserve_mb: int  # left for the OS and the worker daemon itself

    def to_json(self) -> dict[str, object]:
        return asdict(self)

    def describe(self) -> str:
        quota = "none" if self.cgroup_cpu_limit is None else f"{self.cgroup_cpu_limit:g}"
        cgroup_mem = "none" if self.cgroup_memory_mb is None else _format_mb(self.cgroup_memory_mb)
        return (
            f"cores {self.cores} (host {self.host_cores}, affinity {self.affinity_cores}, "
            f"cgroup quota {quota})\n"
            f"memory {self.memory_mb} MiB (host {_format_mb(self.host_memory_mb)}, "
            f"cgroup {cgroup_mem}, reserve {self.reserve_mb} MiB)"
        )


def detect(root: Path = Path("/"), reserve_mb: int = DEFAULT_RESERVE_MB) -> Detected:
    """Detect the cores and memory available to this process under ``root``."""
    if reserve_mb < 0:
        raise ValueError(f"memory reserve must not be negative, got {reserve_mb} MiB")
    cgroups = _self_cgroups(root)

    host_cores = _host_cores(root)
    affinity_cores = _allowed_cores(root, cgroups, host_cores)
    cpu_limit = _cgroup_cpu_limit(root, cgroups)
    cores = min(host_cores, affinity_cores)
    if cpu_limit is not None:
        # A quota of 1.5 CPUs still lets two tasks make progress, so round up.
        cores = min(cores, math.ceil(cpu_limit))

    host_memory_mb = _host_memory_mb(root)
    cgroup_bytes = _cgroup_memory_bytes(root, cgroups)
    cgroup_memory_mb = None if cgroup_bytes is None else max(1, cgroup_bytes // MIB)
    total_mb = host_memory_mb if cgroup_memory_mb is None else min(host_memory_mb, cgroup_memory_mb)

    return Detected(
        cores=max(1, cores),
        memory_mb=_usable_memory_mb(total_mb, reserve_mb),
        host_cores=host_cores,
        affinity_cores=affinity_cores,
        cgroup_cpu_limit=cpu_limit,
        host_memory_mb=host_memory_mb,
        cgroup_memory_mb=cgroup_memory_mb,
        reserve_mb=reserve_mb,
    )


def _usable_memory_mb(total_mb: int, reserve_mb: int) -> int:
    # Spark offers max(total - 1024, 1024), which on a 1 GiB container promises memory that does
    # not exist.  We never offer more than the total, yet still offer up to 512 MiB on a small
    # host (e.g. a 1.5 GiB lab container) so it can run something rather than nothing.
    floor = min(MIN_MEMORY_MB, total_mb)
    return max(1, total_mb - reserve_mb, floor)


# --- host ------------------------------------------------------------------------------------


def _host_cores(root: Path) -> int:
    online = _parse_cpu_list(_read(root / "sys/devices/system/cpu/online"))
    if online:
        return len(online)
    return os.cpu_count() or 1


def _host_memory_mb(root: Path) -> int:
    for line in (_read(root / "proc/meminfo") or "").splitlines():
        key, _, value = line.partition(":")
        fields = value.split()
        if key == "MemTotal" and fields and fields[0].isdigit() and int(fields[0]) >= 1024:
            return int(fields[0]) // 1024  # reported in kB
    # No usable meminfo: ask the kernel for this machine's physical memory instead.
    return max(1, os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // MIB)


def _allowed_cores(root: Path, cgroups: list[_Cgroup], host_cores: int) -> int:
    allowed = _affinity(root)
    if allowed is None:
        return host_cores
    for cpuset in _cgroup_cpusets(root, cgroups):
        # The kernel keeps affinity inside the cpuset; an empty intersection means one of the
        # files is stale or fake, so trust the affinity rather than report zero CPUs.
        allowed = (allowed & cpuset) or allowed
    return len(allowed)


def _affinity(root: Path) -> frozenset[int] | None:
    # /proc/self/status rather than sched_getaffinity first, so tests can fake it.
    for line in (_read(root / "proc/self/status") or "").splitlines():
        key, _, value = line.partition(":")
        if key == "Cpus_allowed_list" and (cpus := _parse_cpu_list(value)):
            return cpus
    if root == Path("/") and hasattr(os, "sched_getaffinity"):
        return frozenset(os.sched_getaffinity(0))
    return None


# --- cgroups ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Cgroup:
    """One line of /proc/self/cgroup: v1 has controllers, v2 has none."""

    controllers: tuple[str, ...]
    path: str


def _self_cgroups(root: Path) -> list[_Cgroup]:
    cgroups = []
    for line in (_read(root / "proc/self/cgroup") or "").splitlines():
        fields = line.split(":", 2)  # the path itself may contain colons
        if len(fields) == 3:
            controllers = tuple(c for c in fields[1].split(",") if c)
            cgroups.append(_Cgroup(controllers, fields[2].strip()))
    return cgroups


def _v1_dirs(root: Path, cgroups: list[_Cgroup], controller: str) -> list[Path]:
    """Directories that may hold the v1 ``controller`` files of this process."""
    paths = [cg.path for cg in cgroups if controller in cg.controllers] or ["/"]
    dirs: list[Path] = []
    for cg in cgroups:
        if controller in cg.controllers:
            # Co-mounted controllers live in e.g. cpu,cpuacct/ with cpu/ as a symlink to it.
            dirs += _candidate_dirs(root / _CGROUP_MOUNT / ",".join(cg.controllers), paths)
    dirs += _candidate_dirs(root / _CGROUP_MOUNT / controller, paths)
    return _unique(dirs)


def _v2_dirs(root: Path, cgroups: list[_Cgroup]) -> list[Path]:
    """Directories that may hold this process's v2 files, on a pure or a hybrid host."""
    paths = [cg.path for cg in cgroups if not cg.controllers] or ["/"]
    mount = root / _CGROUP_MOUNT
    return _unique([*_candidate_dirs(mount, paths), *_candidate_dirs(mount / "unified", paths)])


def _candidate_dirs(mount: Path, paths: Iterable[str]) -> Iterator[Path]:
    # Inside a container the path in /proc/self/cgroup is the host's view and often does not
    # exist under the container's mount, whose root *is* the container's cgroup.  Limits are
    # also inherited from ancestors.  So try the path, each ancestor, and the mount root.
    for path in paths:
        parts = [p for p in PurePosixPath(path).parts if p not in ("/", ".", "..")]
        for depth in range(len(parts), -1, -1):
            yield mount.joinpath(*parts[:depth])


def _cgroup_memory_bytes(root: Path, cgroups: list[_Cgroup]) -> int | None:
    limits = [
        *(_read_limit(d / "memory.limit_in_bytes") for d in _v1_dirs(root, cgroups, "memory")),
        *(_read_limit(d / "memory.max") for d in _v2_dirs(root, cgroups)),
    ]
    return min((limit for limit in limits if limit is not None), default=None)


def _read_limit(path: Path) -> int | None:
    value = _parse_int(_read(path))  # v2 "max" fails to parse, which also means unlimited
    if value is None or value <= 0 or value >= _UNLIMITED_BYTES:
        return None
    return value


def _cgroup_cpu_limit(root: Path, cgroups: list[_Cgroup]) -> float | None:
    limits = [_read_v1_quota(d) for d in _v1_dirs(root, cgroups, "cpu")]
    limits += [_read_v2_quota(d / "cpu.max") for d in _v2_dirs(root, cgroups)]
    return min((limit for limit in limits if limit is not None), default=None)


def _read_v1_quota(directory: Path) -> float | None:
    quota = _parse_int(_read(directory / "cpu.cfs_quota_us"))
    period = _parse_int(_read(directory / "cpu.cfs_period_us"))
    return _quota(quota, period)  # quota -1 means unlimited


def _read_v2_quota(path: Path) -> float | None:
    fields = (_read(path) or "").split()  # "max 100000" or "200000 100000"
    if len(fields) != 2:
        return None
    return _quota(_parse_int(fields[0]), _parse_int(fields[1]))


def _quota(quota: int | None, period: int | None) -> float | None:
    if quota is None or period is None or quota <= 0 or period <= 0:
        return None
    return quota / period


def _cgroup_cpusets(root: Path, cgroups: list[_Cgroup]) -> Iterator[frozenset[int]]:
    files = [d / "cpuset.cpus" for d in _v1_dirs(root, cgroups, "cpuset")]
    files += [d / "cpuset.cpus.effective" for d in _v2_dirs(root, cgroups)]
    for path in files:
        cpus = _parse_cpu_list(_read(path))
        if cpus:
            yield cpus


# --- parsing ---------------------------------------------------------------------------------


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except (OSError, ValueError):  # missing, unreadable, or not text (UnicodeDecodeError)
        return None


def _parse_int(text: str | None) -> int | None:
    try:
        return None if text is None else int(text.strip())
    except ValueError:
        return None


def _parse_cpu_list(text: str | None) -> frozenset[int] | None:
    """Parse a kernel CPU list such as ``0-3,6``; None if empty or garbled."""
    cpus: set[int] = set()
    for item in (text or "").strip().split(","):
        low, sep, high = item.partition("-")
        first, last = _parse_int(low), _parse_int(high if sep else low)
        if first is None or last is None or not 0 <= first <= last < _MAX_CPU_INDEX:
            return None
        cpus.update(range(first, last + 1))
    return frozenset(cpus)


def _unique(paths: Iterable[Path]) -> list[Path]:
    return list(dict.fromkeys(paths))


def _format_mb(mb: int) -> str:
    if mb < 10 * 1024:
        return f"{mb} MiB"
    return f"{mb / 1024:.1f}".removesuffix(".0") + " GiB"

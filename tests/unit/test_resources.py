"""Resource detection against fake /proc and /sys/fs/cgroup trees."""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minispark.worker.resources import Detected, detect

GIB = 1024**3
V1_UNLIMITED = "9223372036854771712"
# The lab host: 2 CPUs and 23.5 GiB, as /proc/meminfo shows it inside the container too.
LAB_MEMINFO_KB = 24684096
LAB_MEMORY_MB = LAB_MEMINFO_KB // 1024


def write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def fake_host(
    root: Path,
    *,
    online: str = "0-1",
    allowed: str | None = None,
    meminfo_kb: int = LAB_MEMINFO_KB,
    cgroup: str = "0::/\n",
) -> Path:
    """A host with no cgroup limits; tests add the limit files they need."""
    write(root, "sys/devices/system/cpu/online", f"{online}\n")
    write(root, "proc/self/status", f"Name:\tpython\nCpus_allowed_list:\t{allowed or online}\n")
    write(root, "proc/meminfo", f"MemTotal:       {meminfo_kb} kB\nMemFree:  1000 kB\n")
    write(root, "proc/self/cgroup", cgroup)
    return root


V1_CGROUP = (
    "9:name=systemd:/system.slice/worker.service\n"
    "4:memory:/system.slice/worker.service\n"
    "3:cpuset:/\n"
    "2:cpu,cpuacct:/system.slice/worker.service\n"
    "0::/system.slice/worker.service\n"
)


def test_v1_nspawn_container_with_affinity_and_memory_limit(tmp_path: Path) -> None:
    # The lab case: the whole machine in /proc, but pinned to CPU 1 and a 3 GiB v1 limit at the
    # root of the container's memory mount; the unified mount carries no controllers.
    root = fake_host(tmp_path, online="0-1", allowed="1", cgroup=V1_CGROUP)
    write(root, "sys/fs/cgroup/memory/memory.limit_in_bytes", f"{3 * GIB}\n")
    write(root, "sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us", "-1\n")
    write(root, "sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us", "100000\n")
    write(root, "sys/fs/cgroup/cpuset/cpuset.cpus", "0-1\n")
    write(root, "sys/fs/cgroup/unified/cgroup.controllers", "\n")

    detected = detect(root)

    assert detected == Detected(
        cores=1,
        memory_mb=2048,
        host_cores=2,
        affinity_cores=1,
        cgroup_cpu_limit=None,
        host_memory_mb=LAB_MEMORY_MB,
        cgroup_memory_mb=3072,
        reserve_mb=1024,
    )


def test_v1_cfs_quota_rounds_up(tmp_path: Path) -> None:
    root = fake_host(tmp_path, online="0-3", cgroup="2:cpu,cpuacct:/\n")
    write(root, "sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us", "150000\n")
    write(root, "sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us", "100000\n")

    detected = detect(root)

    assert detected.cgroup_cpu_limit == 1.5
    assert detected.cores == 2


def test_v1_quota_found_through_single_controller_mount(tmp_path: Path) -> None:
    # Hosts that mount cpu on its own (no cpu,cpuacct directory).
    root = fake_host(tmp_path, online="0-7", cgroup="1:cpu:/\n2:cpuacct:/\n")
    write(root, "sys/fs/cgroup/cpu/cpu.cfs_quota_us", "300000\n")
    write(root, "sys/fs/cgroup/cpu/cpu.cfs_period_us", "100000\n")

    assert detect(root).cores == 3


def test_tiny_quota_still_gives_one_core(tmp_path: Path) -> None:
    root = fake_host(tmp_path, online="0-3")
    write(root, "sys/fs/cgroup/cpu.max", "1000 100000\n")

    detected = detect(root)

    assert detected.cgroup_cpu_limit == pytest.approx(0.01)
    assert detected.cores == 1


def test_v2_memory_max_and_cpu_max(tmp_path: Path) -> None:
    root = fake_host(tmp_path, online="0-7", cgroup="0::/user.slice/app.scope\n")
    write(root, "sys/fs/cgroup/user.slice/app.scope/memory.max", f"{4 * GIB}\n")
    write(root, "sys/fs/cgroup/user.slice/app.scope/cpu.max", "200000 100000\n")

    detected = detect(root)

    assert (detected.cores, detected.cgroup_cpu_limit) == (2, 2.0)
    assert (detected.memory_mb, detected.cgroup_memory_mb) == (3072, 4096)


def test_v2_on_hybrid_host_under_unified_mount(tmp_path: Path) -> None:
    root = fake_host(tmp_path, online="0-7", cgroup="4:memory:/\n0::/app\n")
    write(root, "sys/fs/cgroup/unified/app/memory.max", f"{2 * GIB}\n")
    write(root, "sys/fs/cgroup/unified/app/cpu.max", "400000 100000\n")

    detected = detect(root)

    assert (detected.cores, detected.memory_mb) == (4, 1024)


def test_v2_cpuset_effective_narrows_cores(tmp_path: Path) -> None:
    root = fake_host(tmp_path, online="0-7", cgroup="0::/app\n")
    write(root, "sys/fs/cgroup/app/cpuset.cpus.effective", "2-3,6\n")

    detected = detect(root)

    assert (detected.cores, detected.affinity_cores, detected.host_cores) == (3, 3, 8)


def test_v1_cpuset_narrows_cores(tmp_path: Path) -> None:
    root = fake_host(tmp_path, online="0-7", cgroup="3:cpuset:/\n")
    write(root, "sys/fs/cgroup/cpuset/cpuset.cpus", "0-1\n")

    assert detect(root).cores == 2


def test_unlimited_sentinels(tmp_path: Path) -> None:
    root = fake_host(tmp_path, online="0-3", cgroup="4:memory:/a\n2:cpu,cpuacct:/a\n0::/b\n")
    write(root, "sys/fs/cgroup/memory/a/memory.limit_in_bytes", f"{V1_UNLIMITED}\n")
    write(root, "sys/fs/cgroup/memory/memory.limit_in_bytes", f"{V1_UNLIMITED}\n")
    write(root, "sys/fs/cgroup/cpu,cpuacct/a/cpu.cfs_quota_us", "-1\n")
    write(root, "sys/fs/cgroup/cpu,cpuacct/a/cpu.cfs_period_us", "100000\n")
    write(root, "sys/fs/cgroup/b/memory.max", "max\n")
    write(root, "sys/fs/cgroup/b/cpu.max", "max 100000\n")

    detected = detect(root)

    assert detected.cgroup_cpu_limit is None
    assert detected.cgroup_memory_mb is None
    assert detected.cores == 4
    assert detected.memory_mb == LAB_MEMORY_MB - 1024


def test_limit_at_an_ancestor_of_a_nested_cgroup(tmp_path: Path) -> None:
    root = fake_host(tmp_path, online="0-7", cgroup="4:memory:/a/b/c\n0::/a/b/c\n")
    write(root, "sys/fs/cgroup/memory/a/b/c/memory.limit_in_bytes", f"{V1_UNLIMITED}\n")
    write(root, "sys/fs/cgroup/memory/a/memory.limit_in_bytes", f"{5 * GIB}\n")
    write(root, "sys/fs/cgroup/a/b/c/cpu.max", "max 100000\n")
    write(root, "sys/fs/cgroup/a/b/cpu.max", "600000 100000\n")
    write(root, "sys/fs/cgroup/a/cpu.max", "500000 100000\n")

    detected = detect(root)

    assert detected.cgroup_memory_mb == 5120
    assert detected.cgroup_cpu_limit == 5.0


def test_smallest_of_v1_and_v2_limits_wins(tmp_path: Path) -> None:
    root = fake_host(tmp_path, online="0-7", cgroup="4:memory:/\n0::/\n")
    write(root, "sys/fs/cgroup/memory/memory.limit_in_bytes", f"{6 * GIB}\n")
    write(root, "sys/fs/cgroup/unified/memory.max", f"{4 * GIB}\n")

    assert detect(root).cgroup_memory_mb == 4096


def test_container_path_missing_under_mount_uses_mount_root(tmp_path: Path) -> None:
    # /proc/self/cgroup shows the host's path, but the container's mount root is that cgroup.
    cgroup = "4:memory:/machine.slice/machine-lab.scope/payload\n0::/machine.slice/lab\n"
    root = fake_host(tmp_path, online="0-3", cgroup=cgroup)
    write(root, "sys/fs/cgroup/memory/memory.limit_in_bytes", f"{2 * GIB}\n")
    write(root, "sys/fs/cgroup/cpu.max", "100000 100000\n")

    detected = detect(root)

    assert (detected.cgroup_memory_mb, detected.memory_mb) == (2048, 1024)
    assert detected.cores == 1


def test_no_proc_self_cgroup_still_checks_hierarchy_roots(tmp_path: Path) -> None:
    root = fake_host(tmp_path)
    (root / "proc/self/cgroup").unlink()
    write(root, "sys/fs/cgroup/memory/memory.limit_in_bytes", f"{3 * GIB}\n")

    assert detect(root).memory_mb == 2048


@pytest.mark.parametrize(
    ("total_mb", "reserve_mb", "expected_mb"),
    [
        (300, 1024, 300),  # smaller than the floor: offer it all
        (1000, 1024, 512),  # the reserve would leave nothing: floor
        (1536, 1024, 512),  # the reserve would leave less than the floor
        (2048, 1024, 1024),
        (2048, 0, 2048),
        (4096, 2048, 2048),
    ],
)
def test_memory_floor_on_a_tiny_host(
    tmp_path: Path, total_mb: int, reserve_mb: int, expected_mb: int
) -> None:
    root = fake_host(tmp_path, meminfo_kb=total_mb * 1024)

    detected = detect(root, reserve_mb=reserve_mb)

    assert (detected.memory_mb, detected.host_memory_mb) == (expected_mb, total_mb)
    assert detected.reserve_mb == reserve_mb


def test_negative_reserve_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="reserve"):
        detect(fake_host(tmp_path), reserve_mb=-1)


@pytest.mark.parametrize("garbage", ["", "abc\n", "-5\n", "0-\n", "1 2 3\n", "\xff\xfe"])
def test_garbage_files_are_ignored(tmp_path: Path, garbage: str) -> None:
    root = fake_host(tmp_path, online="0-3", cgroup="4:memory:/\n2:cpu,cpuacct:/\n0::/\n")
    write(root, "proc/self/status", f"Cpus_allowed_list:\t{garbage}")
    for name in [
        "memory/memory.limit_in_bytes",
        "cpu,cpuacct/cpu.cfs_quota_us",
        "cpu,cpuacct/cpu.cfs_period_us",
        "memory.max",
        "cpu.max",
        "cpuset.cpus.effective",
    ]:
        write(root, f"sys/fs/cgroup/{name}", garbage)
    (root / "sys/fs/cgroup/unified/memory.max").parent.mkdir(parents=True)
    (root / "sys/fs/cgroup/unified/memory.max").write_bytes(b"\xff\xfe\x00")

    detected = detect(root)

    assert (detected.cores, detected.affinity_cores) == (4, 4)
    assert detected.cgroup_cpu_limit is None
    assert detected.cgroup_memory_mb is None
    assert detected.memory_mb == LAB_MEMORY_MB - 1024


def test_zero_limits_are_ignored(tmp_path: Path) -> None:
    root = fake_host(tmp_path, online="0-3", cgroup="4:memory:/\n0::/\n")
    write(root, "sys/fs/cgroup/memory/memory.limit_in_bytes", "0\n")
    write(root, "sys/fs/cgroup/memory.max", "0\n")
    write(root, "sys/fs/cgroup/cpu.max", "0 100000\n")

    detected = detect(root)

    assert (detected.cgroup_memory_mb, detected.cgroup_cpu_limit) == (None, None)
    assert detected.cores == 4


def test_garbage_cgroup_list_and_cpu_lists(tmp_path: Path) -> None:
    root = fake_host(tmp_path, online="0-3", allowed="3-1", cgroup="nonsense\n::\n4:memory\n")
    write(root, "sys/fs/cgroup/cpuset.cpus.effective", "0-99999999\n")

    detected = detect(root)

    assert detected.cores == 4


def test_empty_tree_does_not_crash(tmp_path: Path) -> None:
    # Nothing to read: fall back to what this machine reports rather than fail.
    detected = detect(tmp_path)

    assert detected.cores >= 1
    assert detected.memory_mb >= 1
    assert detected.cgroup_cpu_limit is None
    assert detected.cgroup_memory_mb is None


def test_describe_and_json(tmp_path: Path) -> None:
    root = fake_host(tmp_path, online="0-1", allowed="1", cgroup="4:memory:/\n")
    write(root, "sys/fs/cgroup/memory/memory.limit_in_bytes", f"{3 * GIB}\n")

    detected = detect(root)

    assert detected.describe().splitlines() == [
        "cores 1 (host 2, affinity 1, cgroup quota none)",
        "memory 2048 MiB (host 23.5 GiB, cgroup 3072 MiB, reserve 1024 MiB)",
    ]
    assert detected.to_json() == {
        "cores": 1,
        "memory_mb": 2048,
        "host_cores": 2,
        "affinity_cores": 1,
        "cgroup_cpu_limit": None,
        "host_memory_mb": LAB_MEMORY_MB,
        "cgroup_memory_mb": 3072,
        "reserve_mb": 1024,
    }


def test_describe_shows_quota(tmp_path: Path) -> None:
    root = fake_host(tmp_path, online="0-3")
    write(root, "sys/fs/cgroup/cpu.max", "150000 100000\n")

    assert "cgroup quota 1.5)" in detect(root).describe()


def test_this_machine() -> None:
    detected = detect()

    assert 1 <= detected.cores <= detected.host_cores
    assert detected.cores <= len(os.sched_getaffinity(0))
    assert 1 <= detected.memory_mb <= detected.host_memory_mb


limits = st.one_of(st.none(), st.integers(min_value=1, max_value=64 * 1024))


@settings(max_examples=60, deadline=None)
@given(
    host_cores=st.integers(min_value=1, max_value=64),
    allowed=st.sets(st.integers(min_value=0, max_value=63), min_size=1),
    quota_percent=st.one_of(st.none(), st.integers(min_value=1, max_value=10_000)),
    host_mb=st.integers(min_value=1, max_value=256 * 1024),
    v1_mb=limits,
    v2_mb=limits,
    reserve_mb=st.integers(min_value=0, max_value=4096),
)
def test_detected_never_exceeds_any_limit(
    *,
    host_cores: int,
    allowed: set[int],
    quota_percent: int | None,
    host_mb: int,
    v1_mb: int | None,
    v2_mb: int | None,
    reserve_mb: int,
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = fake_host(
            Path(tmp),
            online=f"0-{host_cores - 1}",
            allowed=",".join(map(str, sorted(allowed))),
            meminfo_kb=host_mb * 1024,
            cgroup="4:memory:/w\n2:cpu,cpuacct:/w\n0::/w\n",
        )
        if v1_mb is not None:
            write(root, "sys/fs/cgroup/memory/memory.limit_in_bytes", str(v1_mb * 1024 * 1024))
        if v2_mb is not None:
            write(root, "sys/fs/cgroup/w/memory.max", str(v2_mb * 1024 * 1024))
        if quota_percent is not None:
            write(root, "sys/fs/cgroup/cpu,cpuacct/w/cpu.cfs_quota_us", str(quota_percent * 1000))
            write(root, "sys/fs/cgroup/cpu,cpuacct/w/cpu.cfs_period_us", "100000")

        detected = detect(root, reserve_mb=reserve_mb)

    assert 1 <= detected.cores <= min(detected.host_cores, detected.affinity_cores)
    assert detected.affinity_cores == len(allowed)
    if quota_percent is not None:
        assert detected.cores <= math.ceil(quota_percent / 100)
    total_mb = min(mb for mb in (host_mb, v1_mb, v2_mb) if mb is not None)
    assert 1 <= detected.memory_mb <= total_mb
    assert detected.memory_mb >= min(total_mb - reserve_mb, 512) or detected.memory_mb == total_mb

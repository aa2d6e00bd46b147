"""Can this machine run the lab? One clear sentence per reason it cannot."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from tests.lab import cgroups
from tests.lab.errors import LabError

# binary -> the Debian package that provides it
TOOLS = {
    "systemd-nspawn": "systemd-container",
    "debootstrap": "debootstrap",
    "iptables": "iptables",
    "ip": "iproute2",
    "tc": "iproute2",
    "ssh": "openssh-client",
    "ssh-keygen": "openssh-client",
}


def problems() -> list[str]:
    """Everything that stops the lab from running here (empty: it can run)."""
    found: list[str] = []
    if os.geteuid() != 0:
        found.append(
            "the lab needs root (it creates a bridge, cgroups and containers); "
            "run it as root, e.g. with sudo"
        )
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        packages = " ".join(dict.fromkeys(TOOLS[tool] for tool in missing))
        found.append(
            f"missing {', '.join(missing)}; install with: "
            f"apt-get update && apt-get install -y {packages}"
        )
    cgroup_problem = cgroups.support_problem()
    if cgroup_problem:
        found.append(f"no cgroup support for host limits: {cgroup_problem}")
    if "overlay" not in Path("/proc/filesystems").read_text():
        found.append("the kernel has no overlay filesystem (hosts share the image through it)")
    return found


def check() -> None:
    """Raise LabError naming every problem, if there is one."""
    found = problems()
    if found:
        raise LabError("this machine cannot run the lab: " + "; ".join(found))


def check_root() -> None:
    if os.geteuid() != 0:
        raise LabError("the lab needs root; run it as root, e.g. with sudo")

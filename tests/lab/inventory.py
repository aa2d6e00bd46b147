"""The Ansible inventory of a running lab (YAML, readable by ansible's yaml inventory plugin)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tests.lab import ssh
from tests.lab.state import HostState

YamlValue = str | int | None | dict[str, "YamlValue"]
ZOOKEEPER_GROUP = "zookeeper"


def build(hosts: Sequence[HostState], key: Path) -> dict[str, YamlValue]:
    """Hosts with their address and limits; groups as the layout says; the lab's SSH settings."""
    host_vars: dict[str, YamlValue] = {}
    zookeepers = [host.name for host in hosts if ZOOKEEPER_GROUP in host.groups]
    for host in hosts:
        entry: dict[str, YamlValue] = {"ansible_host": host.address}
        if host.name in zookeepers:
            entry["zookeeper_myid"] = zookeepers.index(host.name) + 1
        # What the host was given, so tests can compare it with what the roles detect.
        if host.cpus is not None:
            entry["lab_cpus"] = len(host.cpus)
        if host.memory is not None:
            entry["lab_memory_bytes"] = host.memory
        host_vars[host.name] = entry
    groups: dict[str, YamlValue] = {}
    for group in dict.fromkeys(g for host in hosts for g in host.groups):
        members: dict[str, YamlValue] = {h.name: None for h in hosts if group in h.groups}
        groups[group] = {"hosts": members}
    common: dict[str, YamlValue] = {
        "ansible_user": ssh.USER,
        "ansible_ssh_private_key_file": str(key),
        "ansible_ssh_common_args": ssh.COMMON_ARGS,
        "ansible_python_interpreter": "/usr/bin/python3",
    }
    return {"all": {"vars": common, "hosts": host_vars, "children": groups}}


def render(data: dict[str, YamlValue], indent: int = 0) -> str:
    """Block-style YAML; scalars are written as JSON, which YAML reads back unchanged."""
    lines: list[str] = []
    pad = "  " * indent
    for key, value in data.items():
        if isinstance(value, dict):
            lines.append(f"{pad}{key}:" + ("" if value else " {}"))
            if value:
                lines.append(render(value, indent + 1))
        elif value is None:
            lines.append(f"{pad}{key}:")
        else:
            lines.append(f"{pad}{key}: {json.dumps(value)}")
    return "\n".join(lines)


def text(hosts: Sequence[HostState], key: Path) -> str:
    header = "# The lab's hosts, written by `python -m tests.lab up`; rewritten on every start.\n"
    return header + render(build(hosts, key)) + "\n"


def read(path: Path) -> dict[str, Any]:
    """Read back what `render` wrote (block YAML with JSON scalars; no YAML library needed)."""
    root: dict[str, Any] = {}
    stack: list[tuple[int, dict[str, Any]]] = [(-1, root)]
    for line in path.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        indent = len(line) - len(line.lstrip())
        key, _, value = line.strip().partition(":")
        while stack[-1][0] >= indent:
            stack.pop()
        parent = stack[-1][1]
        if value.strip():
            parent[key] = json.loads(value)
        else:
            parent[key] = {}
            stack.append((indent, parent[key]))
    return root

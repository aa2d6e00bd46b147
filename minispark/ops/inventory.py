"""The hosts and groups of an Ansible inventory, as ``ansible-inventory --list`` reports them.

Fabric tasks must reach the hosts the playbooks reach, whatever the inventory's format (YAML,
INI, a directory with group_vars, a dynamic script), so Ansible itself reads it and we take
its JSON. Values are used as written: a Jinja template is not rendered (that needs all of
Ansible), and a template where a plain value is needed is an error that names it. The
distribution's role defaults fill in what the inventory leaves out. Standard library only.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import UsageError
from .probes import one_line

ENV = "MINISPARK_INVENTORY"
ZOOKEEPER = "zookeeper"
MASTERS = "minispark_master"
WORKERS = "minispark_worker"
HISTORY = "minispark_history"
# The unit each group's hosts run, as the roles install them.
UNITS = {
    ZOOKEEPER: "zookeeper",
    MASTERS: "minispark-master",
    WORKERS: "minispark-worker",
    HISTORY: "minispark-history",
}
# roles/minispark/defaults/main.yml and roles/zookeeper/defaults/main.yml.
DEFAULTS: dict[str, Any] = {
    "minispark_master_webui_port": 8080,
    "minispark_worker_webui_port": 8081,
    "minispark_history_webui_port": 18080,
    "minispark_home": "/opt/minispark",
    "zookeeper_client_port": 2181,
}
LOAD_TIMEOUT = 120.0
_UNSAFE = "__ansible_unsafe"
_VAULT = "__ansible_vault"


class Vaulted:
    """A vault-encrypted value: Ansible could decrypt it, we cannot."""

    def __repr__(self) -> str:
        return "<vaulted>"


def unwrap(value: Any) -> Any:
    """JSON from ``ansible-inventory`` with its ``{"__ansible_unsafe": x}`` wrappers removed."""
    if isinstance(value, dict):
        if set(value) == {_UNSAFE}:
            return unwrap(value[_UNSAFE])
        if _VAULT in value:
            return Vaulted()
        return {key: unwrap(item) for key, item in value.items()}
    if isinstance(value, list):
        return [unwrap(item) for item in value]
    return value


def bracketed(host: str, port: int) -> str:
    """``host:port``, with an IPv6 address in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


@dataclass(frozen=True, eq=False)
class Host:
    """One inventory host: its groups and variables (Ansible's merged hostvars)."""

    name: str
    groups: tuple[str, ...]
    vars: Mapping[str, Any] = field(default_factory=dict)

    def value(self, key: str, default: Any = None) -> Any:
        """The variable as written in the inventory, else the distribution's default."""
        value = self.vars.get(key)
        if value is None:
            value = DEFAULTS.get(key, default)
        if isinstance(value, Vaulted):
            raise UsageError(f"{self.name}: {key} is vault-encrypted; fab cannot decrypt it")
        if isinstance(value, str) and ("{{" in value or "{%" in value):
            raise UsageError(
                f"{self.name}: {key} is a Jinja template ({one_line(value, 60)}); fab reads "
                "inventory values as written: give it a plain value"
            )
        return value

    def text(self, key: str, default: str | None = None) -> str | None:
        value = self.value(key, default)
        return None if value is None else str(value)

    def port(self, key: str) -> int:
        value = self.value(key)
        if isinstance(value, bool) or not str(value).isdigit() or not 0 < int(value) < 65536:
            raise UsageError(f"{self.name}: {key} is {value!r}, not a port number")
        return int(value)

    @property
    def address(self) -> str:
        """Where SSH connects (ansible_host), as Ansible does."""
        return self.text("ansible_host") or self.text("ansible_ssh_host") or self.name

    @property
    def advertise(self) -> str:
        """The address the daemons bind to and register with (minispark_advertise_host)."""
        return self.text("minispark_advertise_host") or self.address

    @property
    def master_web(self) -> str:
        return bracketed(self.advertise, self.port("minispark_master_webui_port"))

    @property
    def worker_web(self) -> str:
        return bracketed(self.advertise, self.port("minispark_worker_webui_port"))

    @property
    def history_web(self) -> str:
        return bracketed(self.advertise, self.port("minispark_history_webui_port"))

    @property
    def zookeeper_address(self) -> str:
        advertised = self.text("zookeeper_advertise_host") or self.address
        return bracketed(advertised, self.port("zookeeper_client_port"))

    @property
    def home(self) -> str:
        return self.text("minispark_home") or DEFAULTS["minispark_home"]

    @property
    def units(self) -> list[str]:
        """The units this host runs, by its groups, in the order they start."""
        return [unit for group, unit in UNITS.items() if group in self.groups]


@dataclass(frozen=True)
class Inventory:
    """Hosts in inventory order, and every group's members (children included)."""

    source: str
    hosts: dict[str, Host]
    groups: dict[str, list[str]]

    def host(self, name: str) -> Host:
        """The host called ``name`` (or whose ansible_host is ``name``)."""
        if name in self.hosts:
            return self.hosts[name]
        for host in self.hosts.values():
            if name in (host.address, host.advertise):
                return host
        known = ", ".join(self.hosts) or "none"
        raise UsageError(f"unknown host {name!r}: inventory {self.source} has {known}")

    def group(self, name: str) -> list[Host]:
        return [self.hosts[h] for h in self.groups.get(name, [])]

    @property
    def zookeepers(self) -> list[Host]:
        return self.group(ZOOKEEPER)

    @property
    def masters(self) -> list[Host]:
        return self.group(MASTERS)

    @property
    def workers(self) -> list[Host]:
        return self.group(WORKERS)

    @property
    def history(self) -> list[Host]:
        return self.group(HISTORY)

    def in_group(self, name: str, group: str, what: str) -> Host:
        """The host, which must belong to ``group`` (``what`` names the group for people)."""
        host = self.host(name)
        if group not in host.groups:
            members = ", ".join(self.groups.get(group, [])) or "none"
            raise UsageError(f"{host.name} is not a {what} (the {group} group has {members})")
        return host


# ---- reading -----------------------------------------------------------------------------


def _members(data: Mapping[str, Any], group: str, seen: set[str]) -> Iterator[str]:
    """A group's hosts, then its children's, depth first (Ansible's order)."""
    if group in seen:  # a cycle in a hand-written dynamic inventory must not hang us
        return
    seen.add(group)
    entry = data.get(group) or {}
    yield from entry.get("hosts", [])
    for child in entry.get("children", []):
        yield from _members(data, child, seen)


def parse(listing: Mapping[str, Any], source: str) -> Inventory:
    """The JSON of ``ansible-inventory --list`` as an ``Inventory``."""
    data = unwrap(dict(listing))
    hostvars: dict[str, dict[str, Any]] = data.get("_meta", {}).get("hostvars", {})
    groups = {
        name: list(dict.fromkeys(_members(data, name, set())))
        for name in data
        if name != "_meta" and isinstance(data[name], dict)
    }
    order = list(dict.fromkeys([*groups.get("all", []), *hostvars]))
    hosts = {
        name: Host(
            name=name,
            groups=tuple(g for g, members in groups.items() if name in members and g != "all"),
            vars=hostvars.get(name, {}),
        )
        for name in order
    }
    return Inventory(source, hosts, groups)


def _ansible_error(stderr: str) -> str:
    """Ansible's error, with the first reason it gave in its warnings."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith(("[ERROR]", "ERROR!"))]
    causes = [line for line in lines if line.startswith("[WARNING]: Failed to parse")]
    main = errors[0] if errors else (lines[-1] if lines else "no output")
    main = main.removeprefix("[ERROR]:").removeprefix("ERROR!").strip()
    if causes:
        main += " (" + causes[0].removeprefix("[WARNING]:").strip() + ")"
    return one_line(main, 300)


def load(source: str, *, command: Sequence[str] = ("ansible-inventory",)) -> Inventory:
    """Read ``source`` (anything ``ansible-playbook -i`` takes) with ``ansible-inventory``."""
    if "," not in source and not Path(source).exists():
        raise UsageError(f"inventory {source}: no such file or directory")
    # Without this, an inventory Ansible cannot parse leaves only "localhost", with exit 0.
    env = dict(os.environ, ANSIBLE_INVENTORY_UNPARSED_FAILED="true", ANSIBLE_NOCOLOR="1")
    argv = [*command, "-i", source, "--list"]
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, env=env, timeout=LOAD_TIMEOUT, check=False
        )
    except FileNotFoundError:
        raise UsageError(
            f"{argv[0]} is not installed; fab reads the inventory with it "
            "(pip install 'minispark[deploy]' or ansible-core)"
        ) from None
    except subprocess.TimeoutExpired:
        raise UsageError(
            f"inventory {source}: ansible-inventory took over {LOAD_TIMEOUT:g}s"
        ) from None
    if done.returncode != 0:
        raise UsageError(f"cannot read inventory {source}: {_ansible_error(done.stderr)}")
    try:
        listing = json.loads(done.stdout)
    except ValueError:
        raise UsageError(f"inventory {source}: ansible-inventory printed no JSON") from None
    inventory = parse(listing, source)
    if not (inventory.masters or inventory.workers or inventory.zookeepers):
        raise UsageError(
            f"inventory {source} has no {ZOOKEEPER}, {MASTERS} or {WORKERS} group: "
            "is it a minispark inventory?"
        )
    return inventory


def _is_private_key(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            head = handle.read(200)
    except OSError:
        return False
    return b"PRIVATE KEY" in head or head.startswith(b"PuTTY-User-Key-File")


def choose_source(option: str | None, identities: Sequence[str] = ()) -> str:
    """The inventory to read: the task's ``-i``, else $MINISPARK_INVENTORY, else a path given
    to fab's own ``-i`` (``fab -i INVENTORY TASK``) that is not a private key."""
    if option:
        return option
    if os.environ.get(ENV):
        return os.environ[ENV]
    inventories = [p for p in identities if not _is_private_key(Path(p).expanduser())]
    if inventories:
        return inventories[-1]
    raise UsageError(
        f"no inventory: pass -i PATH or set {ENV} (inventory/sample is a template to copy, "
        "not a cluster)"
    )

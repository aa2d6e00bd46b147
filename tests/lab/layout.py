"""Which hosts a lab has: names, addresses, groups and resource limits."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network
from typing import Any

from tests.lab.errors import LabError
from tests.lab.settings import LAB_NETWORK

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB

# nspawn names the bridge side of a host's link "vb-<name>"; Linux interface names are at
# most 15 characters, so longer names would be shortened and the faults could not find them.
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,11}$")
# ZooKeeper runs on Java; below this a host cannot start it, so refuse such layouts early.
MIN_MEMORY = 1536 * MiB
FIRST_HOST = 11
SIZE_PATTERN = re.compile(r"^\s*(\d+)\s*([KMGT]?)(i?B)?\s*$", re.IGNORECASE)
SIZE_UNITS = {"": 1, "K": KiB, "M": MiB, "G": GiB, "T": 1024 * GiB}


@dataclass(frozen=True)
class HostSpec:
    """One lab host as asked for; `cpus` is a count, `memory` bytes; None means no limit."""

    name: str
    address: IPv4Address
    groups: tuple[str, ...] = ()
    cpus: int | None = None
    memory: int | None = None

    def __post_init__(self) -> None:
        if not NAME_PATTERN.match(self.name):
            raise LabError(
                f"host name {self.name!r}: use 1-12 of a-z, 0-9 and '-', starting with a letter"
            )
        if self.cpus is not None and self.cpus < 1:
            raise LabError(f"host {self.name}: cpus must be at least 1")
        if self.memory is not None and self.memory < MIN_MEMORY:
            raise LabError(f"host {self.name}: memory must be at least 1.5G (ZooKeeper needs Java)")


def default_layout(network: IPv4Network = LAB_NETWORK) -> list[HostSpec]:
    """The seed's six hosts; the workers' limits differ so that resource detection is tested."""
    masters = ("zookeeper", "minispark_master")
    workers = ("minispark_worker",)
    rows: list[tuple[str, tuple[str, ...], int | None, int]] = [
        # The history server shares m1 rather than adding a host (and minutes) to the lab.
        ("m1", (*masters, "minispark_history"), None, 2 * GiB),
        ("m2", masters, None, 2 * GiB),
        ("m3", masters, None, 2 * GiB),
        ("w1", workers, 1, 3 * GiB),
        ("w2", workers, 2, 4 * GiB),
        ("w3", workers, 1, 2 * GiB),
    ]
    return [
        HostSpec(name, network[FIRST_HOST + index], groups, cpus, memory)
        for index, (name, groups, cpus, memory) in enumerate(rows)
    ]


def parse_size(value: str | int) -> int:
    """Bytes from 3221225472, "3G", "3GiB" or "512M" (binary units, as cgroups count)."""
    if isinstance(value, int):
        return value
    match = SIZE_PATTERN.match(value)
    if not match:
        raise LabError(f"cannot read size {value!r}; write e.g. 2G or 512M")
    return int(match.group(1)) * SIZE_UNITS[match.group(2).upper()]


def specs_from_json(text: str, network: IPv4Network) -> list[HostSpec]:
    """Hosts from a JSON list of {name, groups?, cpus?, memory?, address?} (molecule platforms).

    Unknown keys are ignored so that molecule platforms can carry other drivers' settings.
    """
    try:
        rows = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LabError(f"hosts JSON is not valid JSON: {exc}") from exc
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise LabError("hosts JSON must be a list of objects with at least a name")
    return specs_from_rows(rows, network)


def specs_from_rows(rows: Sequence[dict[str, Any]], network: IPv4Network) -> list[HostSpec]:
    """Hosts from dicts; rows without an address get the next free one from .11 upwards."""
    taken = {IPv4Address(str(row["address"])) for row in rows if row.get("address")}
    free = (addr for addr in network.hosts() if int(addr) - int(network[0]) >= FIRST_HOST)
    free = (addr for addr in free if addr not in taken)
    specs: list[HostSpec] = []
    for row in rows:
        if "name" not in row:
            raise LabError(f"host entry without a name: {row}")
        address = IPv4Address(str(row["address"])) if row.get("address") else next(free)
        specs.append(
            HostSpec(
                name=str(row["name"]),
                address=address,
                groups=tuple(str(group) for group in row.get("groups", ())),
                cpus=int(row["cpus"]) if row.get("cpus") is not None else None,
                memory=parse_size(row["memory"]) if row.get("memory") is not None else None,
            )
        )
    check_layout(specs, network)
    return specs


def spec_from_option(option: str, network: IPv4Network) -> dict[str, Any]:
    """A row from the command line form `name[,groups=a+b][,cpus=N][,memory=SIZE][,address=IP]`."""
    name, *pairs = option.split(",")
    row: dict[str, Any] = {"name": name.strip()}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or key not in {"groups", "cpus", "memory", "address"}:
            raise LabError(
                f"--host {option!r}: expected key=value with groups, cpus, memory, address"
            )
        row[key] = value.split("+") if key == "groups" else value
    return row


def check_layout(specs: Sequence[HostSpec], network: IPv4Network) -> None:
    """Refuse duplicate names or addresses and addresses outside the lab network."""
    names = [spec.name for spec in specs]
    addresses = [spec.address for spec in specs]
    if not specs:
        raise LabError("a lab needs at least one host")
    if len(set(names)) != len(names):
        raise LabError(f"duplicate host names in {names}")
    if len(set(addresses)) != len(addresses):
        raise LabError("two hosts have the same address")
    for spec in specs:
        # .1 is the bridge (the controller); lower ones are kept free for it as well.
        if spec.address not in network or int(spec.address) - int(network[0]) < 2:
            raise LabError(f"host {spec.name}: address {spec.address} is not a host of {network}")


def parse_cpulist(text: str) -> list[int]:
    """CPUs from the kernel's list format, e.g. "0-3,6"."""
    cpus: list[int] = []
    for part in text.strip().split(","):
        if not part:
            continue
        first, _, last = part.partition("-")
        cpus.extend(range(int(first), int(last or first) + 1))
    return cpus


def format_cpulist(cpus: Iterable[int]) -> str:
    return ",".join(str(cpu) for cpu in sorted(set(cpus)))


def assign_cpusets(specs: Sequence[HostSpec], online: Sequence[int]) -> dict[str, list[int]]:
    """Give CPU-limited hosts CPUs round robin, so that they do not all share CPU 0."""
    assigned: dict[str, list[int]] = {}
    cursor = 0
    for spec in specs:
        if spec.cpus is None:
            continue
        if spec.cpus > len(online):
            raise LabError(
                f"host {spec.name} asks for {spec.cpus} CPUs; this machine has {len(online)}"
            )
        assigned[spec.name] = sorted(online[(cursor + i) % len(online)] for i in range(spec.cpus))
        cursor = (cursor + spec.cpus) % len(online)
    return assigned

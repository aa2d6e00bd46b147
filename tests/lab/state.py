"""What a running lab consists of, kept on disk so that any process can inspect or remove it.

Every resource is recorded *before* it is created, so a run killed half-way still leaves a
record that teardown can follow; teardown tolerates resources that never came to exist.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tests.lab import files
from tests.lab.errors import LabError
from tests.lab.layout import HostSpec
from tests.lab.procs import ProcRef


@dataclass
class HostState:
    name: str
    address: str
    groups: list[str]
    cpus: list[int] | None
    memory: int | None
    upper: str
    log: str
    cgroups: list[str] = field(default_factory=list)
    pid: int | None = None
    start: int | None = None
    # The "slow link" fault: its iptables rules and the delayer process holding the packets.
    delay_ms: int | None = None
    delay_rules: list[list[str]] = field(default_factory=list)
    delayer_pid: int | None = None
    delayer_start: int | None = None

    @classmethod
    def from_spec(cls, spec: HostSpec, cpus: list[int] | None, directory: Path) -> HostState:
        return cls(
            name=spec.name,
            address=str(spec.address),
            groups=list(spec.groups),
            cpus=cpus,
            memory=spec.memory,
            upper=str(directory / "upper"),
            log=str(directory / "console.log"),
        )

    @property
    def proc(self) -> ProcRef | None:
        """The host's nspawn process, if one was started."""
        return ProcRef(self.pid, self.start) if self.pid and self.start is not None else None

    @property
    def delayer(self) -> ProcRef | None:
        if self.delayer_pid and self.delayer_start is not None:
            return ProcRef(self.delayer_pid, self.delayer_start)
        return None


@dataclass
class LabState:
    bridge: str
    network: str
    image: str
    key: str
    bridge_created: bool = False
    ip_forward_before: str | None = None
    nat_rules: list[list[str]] = field(default_factory=list)
    inventory: str | None = None
    hosts: dict[str, HostState] = field(default_factory=dict)

    def host(self, name: str) -> HostState:
        if name not in self.hosts:
            raise LabError(f"no host {name!r} in the lab (hosts: {', '.join(self.hosts)})")
        return self.hosts[name]

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> LabState:
        data: dict[str, Any] = json.loads(text)
        hosts = {name: HostState(**host) for name, host in data.pop("hosts").items()}
        return cls(**data, hosts=hosts)


def load(path: Path) -> LabState | None:
    return LabState.from_json(path.read_text()) if path.exists() else None


def save(path: Path, state: LabState) -> None:
    files.write(path, state.to_json(), mode=0o600)


@contextlib.contextmanager
def locked(lock_file: Path) -> Iterator[None]:
    """Serialise changes to the lab between processes (a test run and a CLI call, say)."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield

"""What the master knows about workers, applications and executors (plain records)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime

from ..protocol import (
    ApplicationDescription,
    AppState,
    DriverDescription,
    DriverState,
    ExecutorState,
    WorkerState,
)
from ..rpc import Connection

UNLIMITED_CORES = 2**31 - 1


def now_ms() -> int:
    return int(time.time() * 1000)


def spark_id(prefix: str, number: int, when: datetime | None = None) -> str:
    """Spark's ``app-yyyyMMddHHmmss-NNNN`` / ``driver-...`` identifiers."""
    stamp = (when or datetime.now()).strftime("%Y%m%d%H%M%S")
    return f"{prefix}-{stamp}-{number:04d}"


def submit_date(ms: int) -> str:
    """Java's Date.toString form, which Spark's JSON shows as ``submitdate``."""
    return datetime.fromtimestamp(ms / 1000).astimezone().strftime("%a %b %d %H:%M:%S %Z %Y")


@dataclass
class ExecutorInfo:
    app_id: str
    exec_id: int
    worker_id: str
    cores: int
    memory_mb: int
    state: ExecutorState = ExecutorState.LAUNCHING
    running_since: float | None = None  # monotonic time the master heard RUNNING

    @property
    def full_id(self) -> str:
        return f"{self.app_id}/{self.exec_id}"


@dataclass
class DriverInfo:
    id: str
    desc: DriverDescription
    state: DriverState = DriverState.SUBMITTED
    worker_id: str = ""
    start_ms: int = field(default_factory=now_ms)
    message: str = ""


@dataclass
class WorkerInfo:
    id: str
    host: str
    port: int
    cores: int
    memory_mb: int
    webui_url: str
    conn: Connection | None
    state: WorkerState = WorkerState.ALIVE
    last_heartbeat: float = field(default_factory=time.monotonic)
    last_heartbeat_ms: int = field(default_factory=now_ms)
    executors: dict[str, ExecutorInfo] = field(default_factory=dict)
    drivers: dict[str, DriverInfo] = field(default_factory=dict)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def cores_used(self) -> int:
        executors = sum(e.cores for e in self.executors.values())
        return executors + sum(d.desc.cores for d in self.drivers.values())

    @property
    def memory_used(self) -> int:
        executors = sum(e.memory_mb for e in self.executors.values())
        return executors + sum(d.desc.memory_mb for d in self.drivers.values())

    @property
    def cores_free(self) -> int:
        return self.cores - self.cores_used

    @property
    def memory_free(self) -> int:
        return self.memory_mb - self.memory_used

    def heard_from(self) -> None:
        self.last_heartbeat = time.monotonic()
        self.last_heartbeat_ms = now_ms()


@dataclass
class AppInfo:
    id: str
    desc: ApplicationDescription
    conn: Connection | None
    requested_cores: int
    start_ms: int = field(default_factory=now_ms)
    end_ms: int | None = None
    state: AppState = AppState.WAITING
    executors: dict[int, ExecutorInfo] = field(default_factory=dict)
    next_exec_id: int = 0
    retry_count: int = 0
    ui_url: str = ""  # the driver's application UI, as it registered it (not persisted)

    @property
    def cores_granted(self) -> int:
        return sum(e.cores for e in self.executors.values())

    @property
    def cores_left(self) -> int:
        return self.requested_cores - self.cores_granted

    @property
    def finished(self) -> bool:
        return self.state in (AppState.FINISHED, AppState.FAILED, AppState.KILLED)

    def duration_ms(self) -> int:
        return (self.end_ms or now_ms()) - self.start_ms

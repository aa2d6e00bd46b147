"""What the master's pieces decide, as plain data the master then carries out.

``Drivers``, ``Recovery`` and the functions of ``executors.py`` never touch the master: they
look at the records they are given and return a list of these effects, in the order they must
happen. ``Master.apply`` is the one place that turns them into messages, writes and table
changes, so each piece can be tested by reading the list it returns (Dask's worker state
machine works the same way).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..protocol import AppState, MasterChanged, MasterStatus, Message
from .model import AppInfo, WorkerInfo
from .persistence import DriverRecord, Record


@dataclass(frozen=True)
class TellWorker:
    """Send ``message`` to the worker, if it is still connected."""

    worker_id: str
    message: Message


@dataclass(frozen=True)
class TellDriver:
    """Send ``message`` to the driver of the application, if it is still connected."""

    app_id: str
    message: Message


@dataclass(frozen=True)
class Persist:
    """Write the record, so that the next leader knows it."""

    record: Record


@dataclass(frozen=True)
class Forget:
    """Delete the persisted record under ``key``."""

    key: str


@dataclass(frozen=True)
class ScheduleSoon:
    """Something changed that may let a waiting driver or executor be placed."""


@dataclass(frozen=True)
class AddWorker:
    """Put a recovered worker into the master's table."""

    worker: WorkerInfo


@dataclass(frozen=True)
class AddApp:
    """Put a recovered application into the master's table."""

    app: AppInfo


@dataclass(frozen=True)
class AddDriver:
    """Hand a recovered cluster-mode driver to the drivers' table."""

    record: DriverRecord


@dataclass(frozen=True)
class Announce:
    """Connect to ``host:port`` and tell it who leads now."""

    host: str
    port: int
    message: MasterChanged
    pin: str | None = None  # a driver's certificate SHA-256: it has no CA-signed one


@dataclass(frozen=True)
class CompleteAfter:
    """End recovery after this long even if someone never answered."""

    seconds: float


@dataclass(frozen=True)
class SetStatus:
    status: MasterStatus


@dataclass(frozen=True)
class RemoveWorker:
    worker_id: str
    reason: str


@dataclass(frozen=True)
class RemoveApp:
    app_id: str
    state: AppState
    reason: str


@dataclass(frozen=True)
class FinishDriverRecovery:
    """Drivers no worker reported after a take-over are relaunched or end in ERROR."""


Effect = (
    TellWorker
    | TellDriver
    | Persist
    | Forget
    | ScheduleSoon
    | AddWorker
    | AddApp
    | AddDriver
    | Announce
    | CompleteAfter
    | SetStatus
    | RemoveWorker
    | RemoveApp
    | FinishDriverRecovery
)

"""What the master's web port sees of it: a snapshot of its tables and a few actions.

``web.py`` and ``rest.py`` read a ``MasterView`` taken for each request and act through
``MasterActions``; neither imports the master, so the master can import them at the top.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..conf import Conf
from ..protocol import (
    DriverDescription,
    DriverStatusResponse,
    KillDriverResponse,
    MasterStatus,
    SubmitDriverResponse,
)
from .model import AppInfo, DriverInfo, WorkerInfo


@dataclass(frozen=True)
class MasterView:
    """The master's tables as they stood when a request came in."""

    url: str
    status: MasterStatus
    epoch: int
    start_ms: int
    workers: list[WorkerInfo]
    active_apps: list[AppInfo]
    completed_apps: list[AppInfo]  # oldest first
    active_drivers: list[DriverInfo]
    completed_drivers: list[DriverInfo]


@dataclass(frozen=True)
class MasterActions:
    """The master's side of the web port, all run on its event loop."""

    conf: Conf  # authentication of HTTP requests
    view: Callable[[], MasterView]
    kill_application: Callable[[str], bool]  # False: no such running application
    decommission_worker: Callable[[str], None]
    submit_driver: Callable[[DriverDescription], SubmitDriverResponse]
    kill_driver: Callable[[str], KillDriverResponse]
    driver_status: Callable[[str], DriverStatusResponse]

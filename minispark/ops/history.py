"""The history server seen from the operator's machine: is it up, and what does it list.

Standard library only. Through the same web calls as the master probes, so the cluster
secret and CA work the same way; a history server that does not answer is a reading with
its reason, never an exception, so that one silent host does not hide the rest.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .probes import (
    DEFAULT_TIMEOUT,
    HISTORY_UP,
    UNREACHABLE,
    ProbeError,
    Snapshot,
    in_parallel,
    one_line,
    web_call,
)
from .tls import Tls

UP = HISTORY_UP
NOT_READY = "NOT READY"
APPLICATIONS = "/api/v1/applications"


@dataclass(frozen=True)
class HistoryReading:
    """One history server: UP with its application counts, or why it is not."""

    address: str
    state: str
    applications: int = 0
    completed: int = 0
    reason: str = ""


def _get(address: str, path: str, secret: str | None, tls: Tls | None, timeout: float) -> Any:
    what = f"history server {address}"
    status, body = web_call(address, path, what=what, secret=secret, timeout=timeout, tls=tls)
    said = one_line(body.decode(errors="replace")) or "(no body)"
    if status == 401:
        raise ProbeError(f"{what}: {path} needs the cluster secret (HTTP 401): give it")
    if status == 503 and path == "/readyz":
        raise ProbeError(f"{what} is not ready: {said}")
    if status != 200:
        raise ProbeError(f"{what}: {path} answered HTTP {status}: {said}")
    try:
        return json.loads(body) if path == APPLICATIONS else said
    except ValueError:
        raise ProbeError(f"{what}: {path} is not JSON: {said}") from None


def history_ready(
    address: str,
    timeout: float = DEFAULT_TIMEOUT,
    *,
    secret: str | None = None,
    tls: Tls | None = None,
) -> str:
    """What ``/readyz`` says once the log directory is listed; ProbeError until then."""
    return str(_get(address, "/readyz", secret, tls, timeout))


def applications(
    address: str,
    timeout: float = DEFAULT_TIMEOUT,
    *,
    secret: str | None = None,
    tls: Tls | None = None,
) -> list[dict[str, Any]]:
    """Spark's ``/api/v1/applications`` of the history server."""
    listed = _get(address, APPLICATIONS, secret, tls, timeout)
    if not isinstance(listed, list):
        raise ProbeError(f"history server {address}: {APPLICATIONS} is not a list")
    return [app for app in listed if isinstance(app, dict)]


def completed(app: dict[str, Any]) -> bool:
    attempts = app.get("attempts") or [{}]
    return bool(attempts[0].get("completed"))


def probe_history(
    address: str,
    timeout: float = DEFAULT_TIMEOUT,
    *,
    secret: str | None = None,
    tls: Tls | None = None,
) -> HistoryReading:
    """The server's state and how many applications it lists; never raises."""
    try:
        history_ready(address, timeout, secret=secret, tls=tls)
    except ProbeError as exc:
        state = NOT_READY if "is not ready" in str(exc) else UNREACHABLE
        return HistoryReading(address, state, reason=str(exc))
    try:
        apps = applications(address, timeout, secret=secret, tls=tls)
    except ProbeError as exc:
        return HistoryReading(address, NOT_READY, reason=str(exc))
    done = sum(completed(app) for app in apps)
    return HistoryReading(address, UP, len(apps), done)


@dataclass
class HistoryServes:
    """Gate check: the history server has listed its log directory (``/readyz`` is 200)."""

    address: str
    timeout: float = DEFAULT_TIMEOUT
    secret: str | None = None
    tls: Tls | None = None

    def __call__(self) -> tuple[bool, str]:
        said = history_ready(self.address, self.timeout, secret=self.secret, tls=self.tls)
        return True, f"history server {self.address} serves: {said}"


def with_history(
    snapshot: Snapshot,
    addresses: Iterable[str],
    timeout: float = DEFAULT_TIMEOUT,
    *,
    secret: str | None = None,
    tls: Tls | None = None,
) -> Snapshot:
    """The snapshot with a reading of every history server, probed in parallel."""
    found = in_parallel(lambda a: probe_history(a, timeout, secret=secret, tls=tls), addresses)
    readings = [dataclasses.asdict(reading) for reading in found.values()]
    return dataclasses.replace(snapshot, history=readings)

"""Where the pages and the REST API find applications: the driver's one live store, or
the history server's logs (which it loads on demand, hence ``store`` is async)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from .store import AppStore


class AppSource(Protocol):
    def applications(self) -> list[dict[str, Any]]:
        """Each application's ``AppStore.application()`` dict, newest first."""
        ...

    async def store(self, app_id: str) -> AppStore | None:
        """The application's store; None when there is no such application."""
        ...


class SingleApp:
    """The driver's source: its own application, known by its id (or by any id before the
    ApplicationStart event has named it, so the first page view never 404s)."""

    def __init__(self, store: AppStore, catch_up: Callable[[], None] | None = None) -> None:
        self._store = store
        self._catch_up = catch_up or (lambda: None)  # fold in events still queued

    def applications(self) -> list[dict[str, Any]]:
        self._catch_up()
        return [self._store.application()]

    async def store(self, app_id: str) -> AppStore | None:
        self._catch_up()
        known = self._store.app_id
        return self._store if known is None or app_id == known else None

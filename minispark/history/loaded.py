"""The applications whose logs are loaded: the most recently viewed
``spark.history.retainedApplications`` of them, each kept with the stamp of the log it was
loaded from, so that a log that changed since is loaded again rather than shown stale."""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, TypeVar

S = TypeVar("S")
Stamp = tuple[str, int, float]  # the log's path, size and mtime


class LoadedApps(Generic[S]):
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._stores: OrderedDict[str, tuple[Stamp, S]] = OrderedDict()

    def get(self, app_id: str, stamp: Stamp) -> S | None:
        """The store loaded from exactly this version of the log, now the most recent."""
        entry = self._stores.get(app_id)
        if entry is None or entry[0] != stamp:
            return None
        self._stores.move_to_end(app_id)
        return entry[1]

    def put(self, app_id: str, stamp: Stamp, store: S) -> list[str]:
        """Keep ``store``; the ids evicted to stay within capacity, least recent first."""
        self._stores[app_id] = (stamp, store)
        self._stores.move_to_end(app_id)
        evicted = []
        while len(self._stores) > self.capacity:
            evicted.append(self._stores.popitem(last=False)[0])
        return evicted

    def discard(self, app_id: str) -> None:
        self._stores.pop(app_id, None)

    def ids(self) -> list[str]:
        """Least recently viewed first."""
        return list(self._stores)

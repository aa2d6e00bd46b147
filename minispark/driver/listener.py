"""The driver's event bus: scheduler and app client post Spark listener events, sinks consume.

Sinks are the application store behind the UI and the event log writer. They run on the
poster's thread, in the order they were added, so every sink sees the events in one order.
A sink that raises is logged once and dropped: a broken consumer must never stop a job.
Posting is thread-safe (the event loop posts almost everything; start and stop post from
the user's thread).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger("minispark.listener")

Sink = Callable[[dict[str, Any]], None]


class EventBus:
    def __init__(self) -> None:
        self._sinks: list[Sink] = []
        self._lock = threading.RLock()  # a sink may post in turn

    def add(self, sink: Sink) -> None:
        with self._lock:
            self._sinks = [*self._sinks, sink]

    @property
    def active(self) -> bool:
        """Whether anyone listens (posters may skip building events when nobody does)."""
        return bool(self._sinks)

    def post(self, event: dict[str, Any]) -> None:
        with self._lock:
            for sink in self._sinks:
                try:
                    sink(event)
                except Exception:
                    log.exception(
                        "event sink %r failed on %s; it gets no more events",
                        sink,
                        event.get("Event"),
                    )
                    self._sinks = [s for s in self._sinks if s is not sink]

"""The driver's UI served from a background event loop, for tests that drive it from a
synchronous client (a browser, urllib) while feeding the store events on the loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from minispark.appstatus.store import AppStore
from minispark.conf import Conf
from minispark.driver.ui import DriverUi, start_ui
from minispark.rpc import Security


class LoopThread:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()
        self.loop.close()


@contextmanager
def served(
    store: AppStore, conf: Conf | None = None, security: Security | None = None
) -> Iterator[tuple[DriverUi, LoopThread]]:
    """``store``'s UI on 127.0.0.1 (any free port unless ``conf`` says otherwise)."""
    thread = LoopThread()
    conf = conf or Conf({"spark.ui.port": "0"})
    ui = thread.run(start_ui(conf, store, security or Security(), "127.0.0.1"))
    try:
        yield ui, thread
    finally:
        thread.run(ui.stop())
        thread.close()


def feed(thread: LoopThread, store: AppStore, events: list[dict[str, Any]]) -> None:
    """Apply ``events`` on the UI's loop, as the driver's bus does (the store is not
    shared between threads)."""

    async def apply() -> None:
        for event in events:
            store.apply(event)

    thread.run(apply())

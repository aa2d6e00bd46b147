"""The applications in the event log directory: listed from each log's head every update
interval, each loaded in full into a store on first view (in a thread, so the server keeps
answering) and kept among the most recently viewed.

Scans and loads run in threads and hand their results back to the event loop, which alone
changes this object's state; a thread only reads a snapshot of it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from .cleaner import CleanerPolicy, expired
from .loaded import LoadedApps, Stamp
from .logdir import LogDir, LogDirError
from .logfile import LogError
from .replay import EventSink, replay
from .summary import LogFile, LogSummary, summarize

log = logging.getLogger(__name__)

S = TypeVar("S", bound=EventSink)


def _stamp(summary: LogSummary) -> Stamp:
    return (summary.file.path, *summary.file.stamp)


class HistoryProvider(Generic[S]):
    def __init__(self, logs: LogDir, make_store: Callable[[], S], retained: int) -> None:
        self.logs = logs
        self._make_store = make_store
        self._summaries: dict[str, LogSummary] = {}  # by path
        self._apps: dict[str, LogSummary] = {}  # by app id, the logs that name one
        self._loaded: LoadedApps[S] = LoadedApps(retained)
        self._loading: dict[Stamp, asyncio.Future[S]] = {}
        self._failed: dict[Stamp, str] = {}  # loads that failed, until the log changes
        self.scan_error: str | None = None
        self.scanned = False  # a first listing succeeded

    # ------------------------------------------------------------------ listing

    async def refresh(self) -> None:
        """List the directory again; summarise new and changed logs (in a thread)."""
        try:
            found = await asyncio.to_thread(self._scan, dict(self._summaries))
        except LogDirError as exc:
            if str(exc) != self.scan_error:  # said once, not every interval
                log.warning("event log directory: %s", exc)
            self.scan_error = str(exc)
            return
        if self.scan_error:
            log.info("event log directory %s can be listed again", self.logs.url)
        self.scan_error = None
        self._adopt(found)
        self.scanned = True

    def _scan(self, known: dict[str, LogSummary]) -> dict[str, LogSummary]:
        found = {}
        for file in self.logs.files():
            seen = known.get(file.path)
            found[file.path] = seen if seen and seen.file == file else summarize(self.logs.fs, file)
        return found

    def _adopt(self, found: dict[str, LogSummary]) -> None:
        for path, summary in found.items():
            if summary.reason and path not in self._summaries:
                log.warning("event log %s: %s", summary.file.name, summary.reason)
        self._summaries = found
        apps: dict[str, LogSummary] = {}
        # Two logs of one app id (a crashed run's .inprogress beside a finished one): the
        # complete log wins, then the newer.
        for summary in sorted(found.values(), key=lambda s: (s.completed, s.file.mtime)):
            if summary.head is not None:
                apps[summary.head.app_id] = summary
        self._apps = apps
        current = {_stamp(s) for s in apps.values()}
        self._failed = {k: v for k, v in self._failed.items() if k in current}
        for app_id in self._loaded.ids():
            if app_id not in apps:
                self._loaded.discard(app_id)

    def applications(self) -> list[dict[str, Any]]:
        """Spark's /api/v1/applications, the most recently started first."""
        listed = sorted(self._apps.values(), key=lambda s: s.head.start_ms if s.head else 0)
        return [s.application() for s in reversed(listed)]

    def summary(self, app_id: str) -> LogSummary | None:
        return self._apps.get(app_id)

    def summaries(self) -> list[LogSummary]:
        return list(self._summaries.values())

    def problem(self, app_id: str) -> str | None:
        """What is wrong with the app's log: from its listing, or from a failed load."""
        summary = self._apps.get(app_id)
        if summary is None:
            return None
        return self._failed.get(_stamp(summary)) or summary.reason

    def load_failed(self, app_id: str) -> str | None:
        summary = self._apps.get(app_id)
        return None if summary is None else self._failed.get(_stamp(summary))

    def loaded_ids(self) -> list[str]:
        return self._loaded.ids()

    # ------------------------------------------------------------------ loading

    async def store(self, app_id: str) -> S | None:
        """The app's store, loaded from its log now unless already loaded from this version
        of it; None for an unknown app or a log that cannot be loaded (see problem())."""
        summary = self._apps.get(app_id)
        if summary is None:
            return None
        stamp = _stamp(summary)
        if stamp in self._failed:
            return None
        cached = self._loaded.get(app_id, stamp)
        if cached is not None:
            return cached
        loading = self._loading.get(stamp)
        if loading is None:
            loading = asyncio.ensure_future(asyncio.to_thread(self._load, summary))
            self._loading[stamp] = loading
            loading.add_done_callback(lambda _: self._loading.pop(stamp, None))
        try:
            store = await asyncio.shield(loading)  # one load, however many requests wait
        except LogError as exc:
            if stamp not in self._failed:
                log.warning("event log %s cannot be loaded: %s", summary.file.name, exc)
            self._failed[stamp] = str(exc)
            return None
        if app_id in self._apps and _stamp(self._apps[app_id]) == stamp:
            for gone in self._loaded.put(app_id, stamp, store):
                log.info("application %s unloaded (least recently viewed)", gone)
        return store

    def _load(self, summary: LogSummary) -> S:
        began = time.perf_counter()
        store = self._make_store()
        try:
            events = replay(self.logs.fs, summary, store)
        except LogError:
            raise
        except Exception as exc:  # a store bug must not take the server down with it
            log.exception("replaying %s failed", summary.file.name)
            raise LogError(f"cannot be replayed ({type(exc).__name__}: {exc})") from exc
        took = time.perf_counter() - began
        log.info("loaded %s: %d events in %.2f s", summary.file.name, events, took)
        return store

    # ------------------------------------------------------------------ cleaning

    async def clean(self, policy: CleanerPolicy, now: float | None = None) -> list[str]:
        """Delete the logs the policy says have expired; the names of those deleted."""
        files = [s.file for s in self._summaries.values()]
        doomed = expired(files, time.time() if now is None else now, policy)
        deleted = await asyncio.to_thread(self._delete, doomed)
        if deleted:
            log.info("cleaner deleted %d event logs: %s", len(deleted), ", ".join(deleted))
            await self.refresh()
        return deleted

    def _delete(self, files: list[LogFile]) -> list[str]:
        deleted = []
        for file in files:
            try:
                self.logs.delete(file)
            except FileNotFoundError:
                continue  # gone already
            except OSError as exc:
                log.warning("cleaner cannot delete %s: %s", file.name, exc)
                continue
            deleted.append(file.name)
        return deleted

"""Event logs sent by drivers over HTTP, written into the history server's own log directory.

A deployed cluster shares no filesystem: a driver on a worker, on another host or on a
laptop cannot write into the history server's directory, but it can reach its web port. A
driver appends its log in chunks, each at the byte offset it believes the file has; the
file's size on disk is the only truth, so a chunk whose reply was lost is simply offered
again and answered with the size (the driver then knows what landed and sends the rest).
Writes to one log are serialised; different logs proceed independently.
"""

from __future__ import annotations

import asyncio
import os
import re
import weakref
from dataclasses import dataclass
from pathlib import Path

from fsspec.implementations.local import LocalFileSystem  # type: ignore[import-untyped]

from .logdir import LogDir
from .logfile import GZIP, INPROGRESS

# An app id as the master makes them (app-20261204183521-0000) or Spark does (local-1234,
# application_1_2): no dots, so no ".." and no suffix of ours inside it; no slashes.
_APP_ID = r"[A-Za-z0-9][A-Za-z0-9_-]{0,199}"
_NAME = re.compile(rf"({_APP_ID})((?:{re.escape(GZIP)})?)((?:{re.escape(INPROGRESS)})?)")
NAME_HINT = "a log name is <app id>[.gz].inprogress, the app id of letters, digits, '-' and '_'"


class IngestError(Exception):
    """A request that cannot be honoured; ``status`` is the HTTP answer, the text one line."""

    def __init__(self, status: int, message: str, size: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.size = size  # the log's current size, for a 409 (where to resume from)


def name_problem(name: str) -> str | None:
    """Why ``name`` is not a log a driver would write, or None when it is one."""
    if _NAME.fullmatch(name) is None:
        return f"{name[:100]!r} is not an event log name: {NAME_HINT}"
    return None


def final_name(name: str) -> str:
    return name.removesuffix(INPROGRESS)


@dataclass(frozen=True)
class Appended:
    size: int  # the log's size after the append


class Ingest:
    """Appends and completions under one local directory (``refused`` says why there is none)."""

    def __init__(self, root: Path | None, refused: str | None = None) -> None:
        self.root = root
        self.refused = refused
        # One lock per log being written; a lock nobody holds or waits for goes away.
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def _directory(self) -> Path:
        if self.root is None:
            raise IngestError(400, self.refused or "this history server takes no event logs")
        return self.root

    def _lock(self, name: str) -> asyncio.Lock:
        lock = self._locks.get(name)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[name] = lock
        return lock

    def _in_progress(self, name: str) -> Path:
        problem = name_problem(name)
        if problem is None and not name.endswith(INPROGRESS):
            problem = f"{name!r} is a finished log's name: append to {name}{INPROGRESS}"
        if problem is not None:
            raise IngestError(400, problem)
        return self._directory() / name

    async def append(self, name: str, offset: int, data: bytes) -> Appended:
        path = self._in_progress(name)
        lock = self._lock(name)
        async with lock:
            return await asyncio.to_thread(_append, path, offset, data)

    async def complete(self, name: str) -> None:
        path = self._in_progress(name if name.endswith(INPROGRESS) else name + INPROGRESS)
        lock = self._lock(path.name)
        async with lock:
            await asyncio.to_thread(_complete, path)


def for_directory(logs: LogDir) -> Ingest:
    """Ingest into ``logs`` when it is on this host; an object store is written by its own
    clients (a driver with an ``s3://`` spark.eventLog.dir), not through us."""
    if isinstance(logs.fs, LocalFileSystem):
        return Ingest(Path(logs.root))
    return Ingest(
        None,
        f"this history server reads {logs.url}, not a local directory, so it takes no event "
        f"logs over HTTP: point spark.eventLog.dir at {logs.url} itself",
    )


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _append(path: Path, offset: int, data: bytes) -> Appended:
    done = path.with_name(final_name(path.name))
    if done.exists():
        raise IngestError(409, f"{done.name} is complete already: it takes no more events")
    size = _size(path)
    if offset != size:
        message = f"{path.name} has {size} bytes, not {offset}: send from offset {size}"
        raise IngestError(409, message, size)
    # O_APPEND from the size just checked: under the lock nobody else writes this file.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)
    return Appended(size + len(data))


def _complete(path: Path) -> None:
    done = path.with_name(final_name(path.name))
    if path.exists():
        os.replace(path, done)
    elif not done.exists():  # a retried completion finds it done: nothing to say
        raise IngestError(404, f"no log {path.name} to complete: append to it first")

"""The event log: every listener event of the application, one JSON object per line.

Written through fsspec, so ``spark.eventLog.dir`` may be a local path or any URL whose
filesystem is installed (``s3://bucket/prefix`` with s3fs). While the application runs the
log is ``<dir>/<app id>[.gz].inprogress``; ``stop`` renames it to ``<app id>[.gz]``, so a
driver that dies leaves an ``.inprogress`` log that the history server lists as incomplete.

Lines are buffered in memory and written by a background thread at least every second,
and at once at the end of every job, so posting an event costs one JSON encoding (msgspec's
encoder: 1.6 µs for a task's two events where ``json.dumps`` took 19 µs). A
flush never fsyncs: the log is for people, and a crash loses at most the last second.
(Object stores keep nothing until the file is closed: an ``s3://`` log appears at stop.)
"""

from __future__ import annotations

import contextlib
import gzip
import logging
import threading
import uuid
from typing import Any

import fsspec.core  # type: ignore[import-untyped]
import msgspec

from ..appstatus import events
from ..conf import ConfError

log = logging.getLogger("minispark.eventlog")

FLUSH_S = 1.0
IN_PROGRESS = ".inprogress"


def log_name(app_id: str, compress: bool) -> str:
    """The finished log's file name (``.inprogress`` is added while it is written)."""
    return app_id + (".gz" if compress else "")


class EventLogWriter:
    """A bus sink. Opens the log at ApplicationStart (the app id names it); events posted
    before that are kept and written first."""

    def __init__(self, directory: str, *, compress: bool) -> None:
        self.directory = directory.rstrip("/")
        self.compress = compress
        self.fs, self.root = fsspec.core.url_to_fs(self.directory)
        self.path = ""  # the final path, once the app id is known
        self._file: Any = None
        self._raw: Any = None
        self._lines: list[bytes] = []
        self._encode = msgspec.json.Encoder().encode
        self._lock = threading.Lock()  # guards _lines and _file between poster and flusher
        self._stopped = threading.Event()
        self._flusher: threading.Thread | None = None

    def check(self) -> None:
        """Refuse an unusable directory now, in one line, rather than lose the log later."""
        probe = f"{self.root}/.minispark-probe-{uuid.uuid4().hex}"
        try:
            self.fs.makedirs(self.root, exist_ok=True)
            with self.fs.open(probe, "wb") as f:
                f.write(b"")
            self.fs.rm(probe)
        except Exception as exc:  # fsspec backends raise their own kinds
            raise ConfError(
                f"spark.eventLog.dir={self.directory!r} is not writable ({type(exc).__name__}: "
                f"{exc}); point spark.eventLog.dir at a writable directory or URL, or set "
                "spark.eventLog.enabled=false"
            ) from None

    def __call__(self, event: dict[str, Any]) -> None:
        line = self._encode(event) + b"\n"
        kind = event["Event"]
        with self._lock:
            self._lines.append(line)
        if kind == events.APPLICATION_START and self._file is None:
            self._open(str(event["App ID"]))
        elif kind == events.JOB_END:
            self.flush()

    def _open(self, app_id: str) -> None:
        self.path = f"{self.root}/{log_name(app_id, self.compress)}"
        self._raw = self.fs.open(self.path + IN_PROGRESS, "wb")
        # Wrapped here rather than by fsspec's compression=, whose gzip wrapper never closes
        # the file under it (an object store would then never receive it). A gzip flush is
        # a sync flush: a reader decodes every line written so far, even from a dead driver.
        self._file = gzip.GzipFile(fileobj=self._raw, mode="wb") if self.compress else self._raw
        self.flush()
        self._flusher = threading.Thread(
            target=self._flush_every_second, name="minispark-eventlog", daemon=True
        )
        self._flusher.start()
        log.info("writing the event log to %s", self.fs.unstrip_protocol(self.path + IN_PROGRESS))

    def _flush_every_second(self) -> None:
        while not self._stopped.wait(FLUSH_S):
            try:
                self.flush()
            except OSError as exc:
                log.error("cannot write the event log %s: %s", self.path, exc)

    def flush(self) -> None:
        with self._lock:
            if self._file is None or not self._lines:
                return
            data, self._lines = b"".join(self._lines), []
            self._file.write(data)
            self._file.flush()

    def stop(self) -> None:
        """Write what is left, close and give the log its final name."""
        self._stopped.set()
        if self._flusher is not None:
            self._flusher.join(timeout=5)
        if self._file is None:
            return
        try:
            self.flush()
            with self._lock:
                self._file.close()
                self._raw.close()  # a no-op after the line above without gzip
                self._file = None
            self.fs.mv(self.path + IN_PROGRESS, self.path)
        except OSError as exc:
            log.error("cannot finish the event log %s: %s", self.path, exc)
        with contextlib.suppress(OSError):
            self.fs.invalidate_cache()

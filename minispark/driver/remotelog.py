"""The event log sent to a history server (``spark.eventLog.dir=https://host:18080``).

A deployed cluster has no filesystem that every driver and the history server share; the
history server's web port is reachable from wherever a driver runs, with the two files a
driver has anyway (the secret and ca.pem). So this writer keeps the lines in memory and its
own thread sends them, at least every second and at once after each job, in chunks at
the offset the server acknowledged last. The job never waits for it: when the server is
away the lines stay in memory (up to MAX_BUFFER, then new ones are dropped and counted),
the thread retries with a growing pause, and one warning per outage says so. At stop a
last attempt of a few seconds sends what is left and marks the log complete.

With ``spark.eventLog.compress`` the chunks are one gzip stream, sync-flushed at each
chunk's end, so the file on the server reads like the one a local writer leaves.
"""

from __future__ import annotations

import logging
import threading
import time
import zlib
from typing import Any

import msgspec

from ..appstatus import events
from .eventlog import FLUSH_S, IN_PROGRESS, log_name
from .ingestclient import TIMEOUT_S, IngestClient, IngestRefused, OffsetConflict

log = logging.getLogger("minispark.eventlog")

MAX_BUFFER = 64 << 20  # bytes of lines kept while the server is away
CHUNK = 4 << 20  # lines per request: well under the server's 16 MiB
FINAL_S = 5.0  # the last attempt at stop
BACKOFF_S = (0.5, 10.0)  # first and longest pause between attempts while unreachable
GZIP_WBITS = 31  # zlib's gzip container


class RemoteEventLog:
    """A bus sink, as EventLogWriter: opens at ApplicationStart, sends from its own thread."""

    def __init__(self, client: IngestClient, *, compress: bool, max_buffer: int = MAX_BUFFER):
        self.client = client
        self.max_buffer = max_buffer
        self.name = ""  # <app id>[.gz].inprogress once the app id is known
        self._encode = msgspec.json.Encoder().encode
        self._gzip = zlib.compressobj(6, zlib.DEFLATED, GZIP_WBITS) if compress else None
        self._lines: list[bytes] = []
        self._held = 0  # bytes in _lines and _pending, bounded by max_buffer
        self._pending = b""  # one chunk, sent but not acknowledged yet
        self._pending_lines = 0  # the bytes of lines in it (compressed, it is fewer)
        self._offset = 0  # the server's size of the log, as it last told us
        self._dropped = [0, 0]  # events, bytes
        self._refused: str | None = None
        self._away: str | None = None  # the current outage's reason
        self._lock = threading.Lock()  # guards _lines and _held between poster and sender
        self._sending = threading.Lock()  # one sender at a time: the thread, or stop()
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def check(self) -> None:
        """Say now, in one line, when the server will not take our log; the job runs anyway."""
        try:
            self.client.status()
        except IngestRefused as exc:
            self._refuse(str(exc))
        except OSError as exc:
            self._outage(exc)

    def __call__(self, event: dict[str, Any]) -> None:
        if self._refused is not None:
            return
        line = self._encode(event) + b"\n"
        with self._lock:
            if self._held + len(line) > self.max_buffer:
                self._drop(len(line))
            else:
                self._lines.append(line)
                self._held += len(line)
        kind = event["Event"]
        if kind == events.APPLICATION_START and not self.name:
            self._open(str(event["App ID"]))
        elif kind == events.JOB_END:
            self._wake.set()  # the sender's thread sends; this is the driver's loop

    def _open(self, app_id: str) -> None:
        self.name = log_name(app_id, self._gzip is not None) + IN_PROGRESS
        self._thread = threading.Thread(target=self._run, name="minispark-eventlog", daemon=True)
        self._thread.start()
        log.info("sending the event log to %s as %s", self.client.url, self.name)

    def _drop(self, size: int) -> None:
        if not self._dropped[0]:
            log.warning(
                "the event log's buffer is full (%s not yet taken by %s): new events "
                "are dropped until it answers",
                _amount(self.max_buffer),
                self.client.url,
            )
        self._dropped[0] += 1
        self._dropped[1] += size

    def _run(self) -> None:
        pause = 0.0
        while True:
            if pause:
                self._stopped.wait(pause)
            else:
                self._wake.wait(FLUSH_S)
            self._wake.clear()
            if self._stopped.is_set():
                return
            with self._sending:
                sent = self._push(final=False, timeout=TIMEOUT_S)
            pause = 0.0 if sent else min(max(pause * 2, BACKOFF_S[0]), BACKOFF_S[1])

    def _take(self, final: bool) -> None:
        """The next chunk of the log's bytes (compressed when asked) from the kept lines."""
        with self._lock:
            count, size = 0, 0
            while count < len(self._lines) and size < CHUNK:
                size += len(self._lines[count])
                count += 1
            data, self._lines = b"".join(self._lines[:count]), self._lines[count:]
            last = final and not self._lines
        self._pending_lines = size
        if self._gzip is None:
            self._pending = data
            return
        chunk = self._gzip.compress(data)
        if last:  # the gzip trailer, once: the log is whole
            chunk += self._gzip.flush(zlib.Z_FINISH)
            self._gzip = None
        elif data:
            chunk += self._gzip.flush(zlib.Z_SYNC_FLUSH)
        self._pending = chunk

    def _push(self, *, final: bool, timeout: float) -> bool:
        """Send every kept line; False when the server cannot be reached (try later)."""
        while self._refused is None:
            if not self._pending:
                self._take(final)
                if not self._pending:
                    return True
            try:
                self._send(timeout)
            except IngestRefused as exc:
                self._refuse(str(exc))
            except OSError as exc:
                self._outage(exc)
                return False
        return True

    def _send(self, timeout: float) -> None:
        size = len(self._pending)
        try:
            self._offset = self.client.append(self.name, self._offset, self._pending, timeout)
            landed = size
        except OffsetConflict as conflict:
            landed = conflict.size - self._offset  # an earlier try landed (some of) it
            if not 0 <= landed <= size:
                raise IngestRefused(
                    f"the history server holds {conflict.size} bytes of {self.name} where "
                    f"this driver sent {self._offset}: the log there was changed by something "
                    "else, so no more events are sent to it"
                ) from None
            self._offset = conflict.size
        self._pending = self._pending[landed:]
        if not self._pending:
            with self._lock:
                self._held -= self._pending_lines
        if self._away is not None:
            log.info(
                "the history server at %s answers again: sending the event log", self.client.url
            )
            self._away = None

    def _outage(self, exc: OSError) -> None:
        if self._away is None:  # once per outage
            log.warning(
                "cannot send the event log to the history server at %s (%s): keeping up to "
                "%s of it in memory and retrying",
                self.client.url,
                exc,
                _amount(self.max_buffer),
            )
        self._away = str(exc)

    def _refuse(self, reason: str) -> None:
        log.warning("no event log for this application: %s", reason)
        self._refused = reason
        with self._lock:
            self._lines, self._held, self._pending = [], 0, b""

    def stop(self) -> None:
        """A last attempt of FINAL_S to send what is left, then mark the log complete."""
        if self._stopped.is_set():  # stop() and the exit hook both end the context
            return
        self._stopped.set()
        self._wake.set()
        if not self.name or self._refused is not None:
            return
        deadline = time.monotonic() + FINAL_S
        if not self._sending.acquire(timeout=FINAL_S):  # the thread is stuck in a request
            self._unfinished("its last request did not end")
            return
        try:
            problem = self._finish(deadline)
        finally:
            self._sending.release()
        if problem is not None and self._refused is None:
            self._unfinished(problem)
        self._report_dropped()

    def _finish(self, deadline: float) -> str | None:
        """Send the rest and complete the log by ``deadline``; what stopped it, if anything."""
        while (left := deadline - time.monotonic()) > 0:
            if self._push(final=True, timeout=left):
                break
            self._stopped.wait(min(BACKOFF_S[0], max(0.0, deadline - time.monotonic())))
        if self._refused is not None:
            return self._refused
        if self._pending or self._lines or self._gzip is not None:
            return self._away or "out of time"
        try:
            self.client.complete(self.name, timeout=max(0.5, deadline - time.monotonic()))
        except (OSError, IngestRefused) as exc:
            return str(exc)
        return None

    def _unfinished(self, reason: str) -> None:
        with self._lock:
            unsent = self._held
        log.warning(
            "the event log %s was not completed at %s (%s): %d bytes unsent; the history "
            "server lists it as incomplete",
            self.name,
            self.client.url,
            reason,
            unsent,
        )

    def _report_dropped(self) -> None:
        count, size = self._dropped
        if count:
            log.warning(
                "%d events (%d bytes) of the event log were dropped while the history server "
                "at %s was away",
                count,
                size,
                self.client.url,
            )


def _amount(size: int) -> str:
    return f"{size >> 20} MiB" if size >= 1 << 20 else f"{size} bytes"

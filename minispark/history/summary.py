"""What the history server's list shows of one log, read from its head (and, for a complete
log, its last line), never from the whole file: a directory of big logs lists quickly.

A log that cannot be listed as an application (empty, not gzip, no
``SparkListenerApplicationStart``, bad JSON before it) still gets a summary, with the reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import msgspec
from fsspec import AbstractFileSystem  # type: ignore[import-untyped]

from ..appstatus.timefmt import rest_time
from .logfile import Line, LogError, LogName, lines

HEAD_LINES = 100  # ApplicationStart comes within the first few lines (after LogStart, Env)
TAIL_BYTES = 64 * 1024  # more than one ApplicationEnd line
APP_START = "SparkListenerApplicationStart"
APP_END = "SparkListenerApplicationEnd"
LOG_START = "SparkListenerLogStart"
_decode = msgspec.json.Decoder().decode


@dataclass(frozen=True)
class LogFile:
    """One entry of the directory listing."""

    path: str
    name: str
    size: int
    mtime: float  # epoch seconds

    @property
    def stamp(self) -> tuple[int, float]:
        """What changes when the log does: a changed stamp means list and load it again."""
        return (self.size, self.mtime)


@dataclass(frozen=True)
class AppHead:
    app_id: str
    name: str
    user: str
    start_ms: int
    spark_version: str


@dataclass(frozen=True)
class LogSummary:
    file: LogFile
    log: LogName
    head: AppHead | None  # None: the log cannot be listed as an application (see reason)
    end_ms: int | None  # from SparkListenerApplicationEnd
    reason: str | None  # what is wrong with the log, if anything

    @property
    def completed(self) -> bool:
        return not self.log.in_progress

    def application(self) -> dict[str, Any]:
        """Spark's /api/v1/applications entry (one attempt); needs ``head``."""
        head = self.head
        assert head is not None
        updated = int(self.file.mtime * 1000)
        end = (self.end_ms or updated) if self.completed else -1
        attempt = {
            "startTime": rest_time(head.start_ms),
            "endTime": rest_time(end),  # Spark's text for -1 too: 1969-12-31T23:59:59.999GMT
            "lastUpdated": rest_time(updated),
            "duration": max(0, end - head.start_ms) if self.completed else 0,
            "sparkUser": head.user,
            "completed": self.completed,
            "appSparkVersion": head.spark_version,
            "startTimeEpoch": head.start_ms,
            "endTimeEpoch": end,
            "lastUpdatedEpoch": updated,
        }
        return {"id": head.app_id, "name": head.name, "attempts": [attempt]}


def summarize(fs: AbstractFileSystem, file: LogFile) -> LogSummary:
    log = LogName.parse(file.name)
    if log.codec_problem:
        return LogSummary(file, log, None, None, log.codec_problem)
    if file.size == 0:
        return LogSummary(file, log, None, None, "empty file")
    try:
        with fs.open(file.path, "rb") as stream:
            found = lines(stream, log.compressed)
            head = _head(found, file.name)
            if log.in_progress:
                return LogSummary(file, log, head, None, None)
            end, reason = _tail(found, stream, file.size, log.compressed)
        return LogSummary(file, log, head, end, reason)
    except LogError as exc:
        return LogSummary(file, log, None, None, str(exc))
    except OSError as exc:
        return LogSummary(file, log, None, None, f"cannot be read ({exc})")


def _head(found: Iterator[Line], name: str) -> AppHead:
    version = ""
    for line in found:
        if not line.data.strip():
            continue
        if line.number > HEAD_LINES:
            break
        event = _event(line)
        if event is None:  # a running app's torn last line
            break
        if event.get("Event") == LOG_START:
            version = str(event.get("Spark Version", ""))
        elif event.get("Event") == APP_START:
            return _app_head(event, version, name)
    raise LogError(f"no {APP_START} in its first {HEAD_LINES} lines")


def _event(line: Line) -> dict[str, Any] | None:
    """The line's event; None for a torn last line; LogError for anything else not JSON."""
    try:
        event = _decode(line.data)
    except msgspec.DecodeError as exc:
        if line.last and not line.terminated:
            return None
        raise LogError(f"line {line.number} is not JSON ({exc})") from exc
    if not isinstance(event, dict):
        raise LogError(f"line {line.number} is not a JSON object")
    return event


def _app_head(event: dict[str, Any], version: str, name: str) -> AppHead:
    def field(key: str, kind: type) -> Any:
        value = event.get(key)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise LogError(f"{APP_START} has no valid {key!r}")
        return value

    # An app id missing from the event (Spark omits it in some modes): the file names it.
    app_id = event.get("App ID") or LogName.parse(name).stem
    return AppHead(
        app_id=str(app_id),
        name=field("App Name", str),
        user=str(event.get("User", "")),
        start_ms=field("Timestamp", int),
        spark_version=version,
    )


def _tail(
    found: Iterator[Line], stream: Any, size: int, compressed: bool
) -> tuple[int | None, str | None]:
    """The end time of a complete log, or why there is none (it is still listed)."""
    try:
        last = _last_of(found) if compressed else _tail_line(stream, size)
    except LogError as exc:  # damage after the head: the application is still worth listing
        return None, f"truncated: {exc}"
    return _end(last)


def _last_of(found: Iterator[Line]) -> Line | None:
    last = None
    for line in found:
        if line.data.strip():
            last = line
    return last


def _tail_line(stream: Any, size: int) -> Line | None:
    """The last non-blank line of an uncompressed log, read from its end."""
    start = max(0, size - TAIL_BYTES)
    stream.seek(start)
    tail: bytes = stream.read()
    terminated = tail.endswith(b"\n")
    parts = [p for p in tail.split(b"\n") if p.strip()]
    if not parts or (start > 0 and len(parts) == 1 and not terminated):
        return None
    return Line(0, parts[-1], last=True, terminated=terminated)


def _end(last: Line | None) -> tuple[int | None, str | None]:
    """The end time from the last line, or why there is none."""
    cut = f"truncated: it does not end with {APP_END} (the driver stopped while writing)"
    if last is None or not last.terminated:
        return None, cut
    try:
        event = _decode(last.data)
    except msgspec.DecodeError:
        return None, cut
    if not isinstance(event, dict) or event.get("Event") != APP_END:
        return None, cut
    stamp = event.get("Timestamp")
    return (stamp if isinstance(stamp, int) else None), None

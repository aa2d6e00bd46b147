"""Replay a whole event log into a store: the history server's lazy, full load of one app.

The same rules as the listing: a torn last line is what a running application is in the
middle of writing and is skipped; any other line that is not a JSON object, or an event the
store refuses, makes the log unreadable, with the line number in the reason.
"""

from __future__ import annotations

from typing import Any, Protocol

import msgspec
from fsspec import AbstractFileSystem  # type: ignore[import-untyped]

from .logfile import LogError, lines
from .summary import LogSummary

_decode = msgspec.json.Decoder().decode


class EventSink(Protocol):
    def apply(self, event: dict[str, Any]) -> None: ...


def replay(fs: AbstractFileSystem, summary: LogSummary, sink: EventSink) -> int:
    """Apply every event of the log to ``sink``; the number of events applied."""
    applied = 0
    try:
        with fs.open(summary.file.path, "rb") as stream:
            for line in lines(stream, summary.log.compressed):
                if not line.data.strip():
                    continue
                try:
                    event = _decode(line.data)
                except msgspec.DecodeError as exc:
                    if line.last and not line.terminated:
                        break
                    raise LogError(f"line {line.number} is not JSON ({exc})") from exc
                if not isinstance(event, dict):
                    raise LogError(f"line {line.number} is not a JSON object")
                try:
                    sink.apply(event)
                except ValueError as exc:  # the store's EventError names the field
                    raise LogError(f"line {line.number}: {exc}") from exc
                applied += 1
    except OSError as exc:
        raise LogError(f"cannot be read ({exc})") from exc
    return applied

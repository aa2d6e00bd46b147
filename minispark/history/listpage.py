"""The history server's front page: the applications in the log directory, complete and
incomplete, each linking to its pages, and the logs that cannot be shown, with the reason.
Every string from a log is escaped: an application's name is whatever its author chose."""

from __future__ import annotations

import datetime
import html
from urllib.parse import quote

from .. import webserver
from .summary import LogSummary


def _when(ms: int | None) -> str:
    if ms is None or ms < 0:
        return ""
    moment = datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _duration(ms: int) -> str:
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _row(s: LogSummary, problem: str | None) -> list[str]:
    head = s.head
    assert head is not None
    attempt = s.application()["attempts"][0]
    link = f"/history/{quote(head.app_id, safe='')}/jobs/"
    return [
        f'<a href="{html.escape(link)}">{html.escape(head.app_id)}</a>',
        html.escape(head.name),
        _when(head.start_ms),
        _when(attempt["endTimeEpoch"]) if s.completed else "",
        _duration(attempt["duration"]) if s.completed else "",
        html.escape(head.user),
        _when(attempt["lastUpdatedEpoch"]),
        html.escape(problem or ""),
    ]


APP_HEADERS = ["App ID", "App Name", "Started", "Completed", "Duration", "Spark User"]
APP_HEADERS += ["Last Updated", "Problem"]


def render(listed: list[tuple[LogSummary, str | None]], unreadable: list[LogSummary]) -> str:
    """The page body: ``listed`` pairs each application's log with what is wrong with it."""
    recent = sorted(listed, key=lambda p: p[0].head.start_ms if p[0].head else 0, reverse=True)
    complete = [_row(s, p) for s, p in recent if s.completed]
    incomplete = [_row(s, p) for s, p in recent if not s.completed]
    parts = [
        f"<h2>Completed applications ({len(complete)})</h2>",
        webserver.table(APP_HEADERS, complete) if complete else "<p>None yet.</p>",
        f"<h2>Incomplete applications ({len(incomplete)})</h2>",
        "<p>Still running, or stopped without finishing their log.</p>" if incomplete else "",
        webserver.table(APP_HEADERS, incomplete) if incomplete else "<p>None.</p>",
    ]
    if unreadable:
        rows = [
            [html.escape(s.file.name), str(s.file.size), html.escape(s.reason or "")]
            for s in sorted(unreadable, key=lambda s: s.file.name)
        ]
        parts += [
            f"<h2>Event logs that cannot be read ({len(rows)})</h2>",
            webserver.table(["File", "Bytes", "Reason"], rows),
        ]
    return "".join(parts)

"""The history server's front page: the applications in the log directory, complete and
incomplete, each linking to its pages, and the logs that cannot be shown, with the reason.
It wears the application pages' look (``appstatus.layout``), and escapes every string from
a log: an application's name is whatever its author chose."""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from ..appstatus import layout
from ..appstatus.layout import esc
from .summary import LogSummary

APP_HEADERS = ["App ID", "App Name", "Started", "Completed", "Duration", "Spark User"]
APP_HEADERS += ["Last Updated", "Problem"]


def _row(s: LogSummary, problem: str | None) -> list[str]:
    head = s.head
    assert head is not None
    attempt = s.application()["attempts"][0]
    link = f"/history/{quote(head.app_id, safe='')}/jobs/"
    return [
        f'<a href="{esc(link)}">{esc(head.app_id)}</a>',
        esc(head.name),
        layout.when(head.start_ms),
        layout.when(attempt["endTimeEpoch"]) if s.completed else "",
        layout.duration(attempt["duration"]) if s.completed else "",
        esc(head.user),
        layout.when(attempt["lastUpdatedEpoch"]),
        esc(problem or ""),
    ]


def body(listed: list[tuple[LogSummary, str | None]], unreadable: list[LogSummary]) -> str:
    """``listed`` pairs each application's log with what is wrong with it, if anything."""
    recent = sorted(listed, key=lambda p: p[0].head.start_ms if p[0].head else 0, reverse=True)
    complete = [_row(s, p) for s, p in recent if s.completed]
    incomplete = [_row(s, p) for s, p in recent if not s.completed]
    parts = [
        f"<h2>Completed applications ({len(complete)})</h2>",
        layout.table(APP_HEADERS, complete),
        f"<h2>Incomplete applications ({len(incomplete)})</h2>",
        '<p class="muted">Still running, or stopped without finishing their log.</p>',
        layout.table(APP_HEADERS, incomplete),
    ]
    if unreadable:
        rows = [
            [esc(s.file.name), str(s.file.size), esc(s.reason or "")]
            for s in sorted(unreadable, key=lambda s: s.file.name)
        ]
        parts += [
            f"<h2>Event logs that cannot be read ({len(rows)})</h2>",
            layout.table(["File", "Bytes", "Reason"], rows, numeric=frozenset({1})),
        ]
    return "".join(parts)


def page(title: str, content: str, status: int = 200) -> web.Response:
    text = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{esc(title)}</title><style>{layout.STYLE}</style></head><body>"
        '<nav><a class="brand" href="/">mini<span>spark</span></a>'
        '<div class="app"><b>History Server</b></div></nav>'
        f"<main><h1>{esc(title)}</h1>{content}</main></body></html>"
    )
    return web.Response(text=text, content_type="text/html", status=status)

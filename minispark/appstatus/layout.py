"""The application UI's look: page shell, nav bar, tables, status badges and the number
formats Spark's UI uses. Plain HTML and CSS, readable with scripts off; every string that
comes from the application passes through ``esc`` (or ``link``) before it reaches a page."""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from datetime import datetime
from urllib.parse import urlsplit

from aiohttp import web

REFRESH_S = 3  # a running application's pages reload themselves this often

TABS = (
    ("jobs/", "Jobs"),
    ("stages/", "Stages"),
    ("executors/", "Executors"),
    ("environment/", "Environment"),
)

STYLE = """
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 -apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:#222;
background:#fafafa}
nav{display:flex;align-items:center;background:#243447;padding:0 1.2em;min-height:46px}
nav .brand{color:#fff;font-weight:700;font-size:17px;margin-right:1.6em;text-decoration:none}
nav .brand span{color:#f59f2b}
nav a.tab{color:#c9d4df;text-decoration:none;padding:13px 14px;
border-bottom:3px solid transparent}
nav a.tab:hover{color:#fff}
nav a.tab.on{color:#fff;border-bottom-color:#f59f2b;font-weight:600}
nav .app{margin-left:auto;color:#c9d4df;font-size:13px;text-align:right}
nav .app b{color:#fff}
main{padding:1em 1.6em 3em}
h1{font-size:22px;margin:.4em 0 .6em}
h2{font-size:17px;margin:1.6em 0 .5em;padding-bottom:.2em;border-bottom:1px solid #ddd}
h2 small{color:#777;font-weight:400;font-size:13px}
a{color:#1f6fb2}
ul.facts{list-style:none;padding:0;margin:0 0 1em}
ul.facts li{margin:.15em 0}
table{border-collapse:collapse;width:100%;background:#fff;margin-bottom:1em;font-size:13px}
th{background:#eef1f4;text-align:left;font-weight:600;white-space:nowrap}
th,td{border:1px solid #dde2e7;padding:5px 8px;vertical-align:top}
tr:nth-child(even) td{background:#f8f9fb}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;padding:1px 7px;border-radius:9px;font-size:11px;font-weight:700;
letter-spacing:.03em;color:#fff;background:#8a949e}
.s-SUCCEEDED,.s-COMPLETE,.s-SUCCESS{background:#2e9d4f}
.s-FAILED{background:#d0342c}
.s-RUNNING,.s-ACTIVE{background:#1f6fb2}
.s-KILLED{background:#b86e00}
.s-SKIPPED{background:#b3bac1}
.s-Active{background:#2e9d4f}.s-Dead{background:#d0342c}
.bar{position:relative;min-width:150px;height:18px;background:#e6e9ec;border-radius:3px;
overflow:hidden}
.bar .done{position:absolute;left:0;top:0;bottom:0;background:#6fbf73}
.bar .run{position:absolute;top:0;bottom:0;background:#8fc1ea}
.bar span{position:relative;display:block;text-align:center;font-size:11px;line-height:18px;
color:#111}
.err{color:#b0281f}
td.error{min-width:260px;max-width:480px}
td.error pre{white-space:pre;overflow:auto;max-width:30em;max-height:22em}
.scroll{overflow-x:auto}
details summary{cursor:pointer;color:#b0281f}
pre{white-space:pre-wrap;background:#fff4f3;border:1px solid #f0c8c4;padding:6px;margin:.3em 0;
font-size:12px}
.pager{margin:.5em 0;font-size:13px}
.pager a,.pager b{margin-right:.6em}
.muted{color:#777}
"""


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def link(url: str, text: str) -> str:
    """A link to ``url`` if it is http(s); otherwise the text alone (no javascript: links)."""
    if urlsplit(url).scheme.lower() not in ("http", "https"):
        return esc(text)
    return f'<a href="{esc(url)}">{esc(text)}</a>'


def badge(status: str) -> str:
    return f'<span class="badge s-{esc(status)}">{esc(status)}</span>'


def size(n: int) -> str:
    """Spark's byte sizes: 1023.0 B, 1.5 KiB, 2.0 MiB."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def duration(ms: int | None) -> str:
    """Spark's durations: 35 ms, 2.1 s, 4.0 min, 1.2 h."""
    if ms is None:
        return ""
    if ms < 1000:
        return f"{ms} ms"
    if ms < 60_000:
        return f"{ms / 1000:.1f} s"
    if ms < 3_600_000:
        return f"{ms / 60_000:.1f} min"
    return f"{ms / 3_600_000:.1f} h"


def when(ms: int | None) -> str:
    if ms is None or ms < 0:
        return ""
    return datetime.fromtimestamp(ms / 1000).strftime("%Y/%m/%d %H:%M:%S")


def size_records(nbytes: int, records: int) -> str:
    return f"{size(nbytes)} / {records}" if nbytes or records else ""


def progress(done: int, total: int, running: int = 0, failed: int = 0, skipped: int = 0) -> str:
    """Spark's task bar: succeeded of total, running after it, failures in words."""
    whole = max(total, 1)
    done_pct = min(100.0, 100.0 * done / whole)
    run_pct = min(100.0 - done_pct, 100.0 * running / whole)
    words = [f"{done}/{total}"]
    if running:
        words.append(f"({running} running)")
    if failed:
        words.append(f"({failed} failed)")
    if skipped:
        words.append(f"({skipped} skipped)")
    return (
        f'<div class="bar"><div class="done" style="width:{done_pct:.1f}%"></div>'
        f'<div class="run" style="left:{done_pct:.1f}%;width:{run_pct:.1f}%"></div>'
        f"<span>{' '.join(words)}</span></div>"
    )


def table(
    headers: Iterable[str],
    rows: Iterable[Iterable[str]],
    numeric: frozenset[int] = frozenset(),
    styles: Mapping[int, str] | None = None,
) -> str:
    """Cells are HTML already; ``numeric`` column numbers are right-aligned, ``styles``
    gives other columns a class of the style sheet."""
    named = dict(styles or {})
    for i in numeric:
        named[i] = (named.get(i, "") + " num").strip()

    def cls(i: int) -> str:
        return f' class="{named[i]}"' if i in named else ""

    head = "".join(f"<th{cls(i)}>{h}</th>" for i, h in enumerate(headers))
    body = "".join(
        "<tr>" + "".join(f"<td{cls(i)}>{c}</td>" for i, c in enumerate(row)) + "</tr>"
        for row in rows
    )
    if not body:
        return f'<table><tr>{head}</tr></table><p class="muted">None.</p>'
    return f"<table><tr>{head}</tr>{body}</table>"


def facts(items: Iterable[tuple[str, str]]) -> str:
    return '<ul class="facts">' + "".join(f"<li><b>{k}:</b> {v}</li>" for k, v in items) + "</ul>"


def section(title: str, count: int, shown: int, body: str, anchor: str = "") -> str:
    """A titled table with its exact count; nothing at all when there is nothing to show,
    as Spark leaves out an empty table."""
    if count == 0 and shown == 0:
        return ""
    note = f" <small>(only showing the last {shown})</small>" if shown < count else ""
    ident = f' id="{esc(anchor)}"' if anchor else ""
    return f"<h2{ident}>{esc(title)} ({count}){note}</h2>{body}"


def page(
    base: str, tab: str, title: str, *, app_name: str, running: bool, body: str
) -> web.Response:
    """The whole page: nav bar with the tabs under ``base``, the app's name, ``body``."""
    tabs = "".join(
        f'<a class="tab{" on" if path == tab else ""}" href="{esc(base + path)}">{name}</a>'
        for path, name in TABS
    )
    if base != "/":  # one application of the history server's: the way back to its list
        tabs += '<a class="tab" href="/">All applications</a>'
    refresh = f'<meta http-equiv="refresh" content="{REFRESH_S}">' if running else ""
    state = "running" if running else "finished"
    text = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width">{refresh}'
        f"<title>{esc(app_name)} - {esc(title)}</title><style>{STYLE}</style></head><body>"
        f'<nav><a class="brand" href="{esc(base)}jobs/">mini<span>spark</span></a>{tabs}'
        f'<div class="app"><b>{esc(app_name)}</b><br>application UI, {state}</div></nav>'
        f"<main><h1>{esc(title)}</h1>{body}</main></body></html>"
    )
    return web.Response(text=text, content_type="text/html")

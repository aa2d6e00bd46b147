"""The cluster snapshot as fixed-width text, for a terminal (``fab status``). Stdlib only."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from .certs import Expiry
from .probes import Snapshot

GAP = "  "


def format_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """Left-aligned columns as wide as their widest cell; "(none)" under the headers if empty."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    lines = [
        GAP.join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in [list(headers), *cells]
    ]
    if not cells:
        lines.append("(none)")
    return "\n".join(lines)


def _field(entry: dict[str, Any], key: str) -> str:
    value = entry.get(key)
    return "?" if value is None else str(value)


def _usage(worker: dict[str, Any], key: str, unit: str = "") -> str:
    return f"{_field(worker, key + 'used')}/{_field(worker, key)}{unit}"


def _seconds(ms: Any) -> str:
    return f"{ms / 1000:.0f} s" if isinstance(ms, int | float) else "?"


def _history(readings: list[dict[str, Any]]) -> str:
    """Each history server: up or why not, and the applications it lists."""
    return format_table(
        ["HISTORY SERVER", "STATE", "APPLICATIONS", "COMPLETED", "DETAIL"],
        (
            [
                _field(h, "address"),
                _field(h, "state"),
                _field(h, "applications"),
                _field(h, "completed"),
                h.get("reason", ""),
            ]
            for h in readings
        ),
    )


def render(snapshot: Snapshot) -> str:
    """ZooKeeper members, masters, then the leader's workers, applications and drivers."""
    zookeepers = format_table(
        ["ZOOKEEPER", "MODE", "DETAIL"],
        ([r.address, r.state, r.reason] for r in snapshot.zookeepers),
    )
    masters = format_table(
        ["MASTER", "STATUS", "DETAIL"],
        ([r.address, r.state, r.reason] for r in snapshot.masters),
    )
    sections = [zookeepers, masters]
    if snapshot.history:
        sections.append(_history(snapshot.history))
    if snapshot.leader is None:
        sections.append("No single ALIVE master: workers, applications and drivers unknown.")
        return "\n\n".join(sections) + "\n"
    g = _field
    sections += [
        f"Leader: {snapshot.leader}",
        format_table(
            ["WORKER", "ADDRESS", "STATE", "CORES USED", "MEMORY USED"],
            (
                [
                    g(w, "id"),
                    f"{g(w, 'host')}:{g(w, 'port')}",
                    g(w, "state"),
                    _usage(w, "cores"),
                    _usage(w, "memory", " MiB"),
                ]
                for w in snapshot.workers
            ),
        ),
        format_table(
            ["APPLICATION", "NAME", "STATE", "CORES", "MEMORY/EXECUTOR", "USER", "DURATION"],
            (
                [
                    g(a, "id"),
                    g(a, "name"),
                    g(a, "state"),
                    g(a, "cores"),
                    f"{g(a, 'memoryperexecutor')} MiB",
                    g(a, "user"),
                    _seconds(a.get("duration")),
                ]
                for a in snapshot.apps
            ),
        ),
        format_table(
            ["DRIVER", "STATE", "WORKER", "CORES", "MEMORY"],
            (
                [
                    g(d, "id"),
                    g(d, "state"),
                    d.get("worker") or "-",
                    g(d, "cores"),
                    f"{g(d, 'memory')} MiB",
                ]
                for d in snapshot.drivers
            ),
        ),
    ]
    return "\n\n".join(sections) + "\n"


def render_certificates(expiries: Iterable[Expiry], now: datetime) -> str:
    """Each daemon's web certificate: when it expires and the whole days left."""
    rows = []
    for e in expiries:
        if e.expires is None:
            rows.append([e.daemon, e.address, "?", "?", e.reason])
        else:
            days = e.days(now)
            rows.append(
                [
                    e.daemon,
                    e.address,
                    e.expires.strftime("%Y-%m-%d"),
                    str(days),
                    "EXPIRED" if e.expired(now) else "",
                ]
            )
    return format_table(["CERTIFICATE OF", "WEB PORT", "EXPIRES", "DAYS LEFT", "DETAIL"], rows)

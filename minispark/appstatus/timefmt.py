"""Spark's REST timestamps: ``2026-12-04T18:07:29.123GMT`` from epoch milliseconds."""

from __future__ import annotations

from datetime import UTC, datetime


def rest_time(ms: int | None) -> str | None:
    if ms is None:
        return None
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}GMT"

"""Spark's REST timestamps: ``2026-12-04T18:07:29.123GMT`` from epoch milliseconds."""

from __future__ import annotations

from datetime import UTC, datetime


def rest_time(ms: int | None) -> str | None:
    if ms is None:
        return None
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}GMT"


def epoch_ms(text: str | None) -> int | None:
    """The inverse of ``rest_time``, for pages that show the REST records."""
    if not text:
        return None
    moment = datetime.strptime(text.removesuffix("GMT"), "%Y-%m-%dT%H:%M:%S.%f")
    return round(moment.replace(tzinfo=UTC).timestamp() * 1000)


def span_ms(start: str | None, end: str | None, now_ms: int) -> int | None:
    """From ``start`` to ``end`` (or to now while it has not ended)."""
    began = epoch_ms(start)
    if began is None:
        return None
    ended = epoch_ms(end)
    return max(0, (ended if ended is not None else now_ms) - began)

"""Spark's monitoring REST API (``/api/v1``) over an ``AppSource``.

The paths, query parameters and field names are Spark's, so tools written against Spark's
API read ours. Unknown applications, jobs and stages are 404s and malformed parameters
400s, each with a JSON ``message`` that says what was wrong.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from .. import __version__
from .source import AppSource
from .store import AppStore
from .summary import DEFAULT_QUANTILES

PREFIX = "/api/v1"

Reader = Callable[[AppStore, web.Request], Any]


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"message": message}, status=status)


def _json(value: Any) -> web.Response:
    return web.json_response(value, dumps=lambda v: json.dumps(v, indent=2))


def _int(request: web.Request, name: str, default: int | None = None) -> int:
    raw = request.match_info.get(name, request.query.get(name))
    if raw is None and default is not None:
        return default
    try:
        return int(str(raw))
    except ValueError:
        raise web.HTTPBadRequest(
            text=json.dumps({"message": f"{name} must be an integer, got {raw!r}"}),
            content_type="application/json",
        ) from None


def _quantiles(request: web.Request) -> tuple[float, ...]:
    raw = request.query.get("quantiles")
    if raw is None:
        return DEFAULT_QUANTILES
    try:
        found = tuple(float(q) for q in raw.split(","))
    except ValueError:
        found = ()
    if not found or not all(0.0 <= q <= 1.0 for q in found):
        raise web.HTTPBadRequest(
            text=json.dumps({"message": f"quantiles must be numbers in [0, 1], got {raw!r}"}),
            content_type="application/json",
        )
    return found


def _read(source: AppSource, reader: Reader, missing: str) -> Callable[..., Awaitable[Any]]:
    """A handler: find the app's store, run ``reader``; None from it is a 404 ``missing``."""

    async def handler(request: web.Request) -> web.Response:
        app_id = request.match_info["app"]
        store = await source.store(app_id)
        if store is None:
            return _error(404, f"no such application: {app_id}")
        try:
            found = reader(store, request)
        except ValueError as exc:  # a status or sort the store does not know
            return _error(400, str(exc))
        if found is None:
            return _error(404, missing.format(**request.match_info))
        return _json(found)

    return handler


def _task_list(store: AppStore, request: web.Request) -> Any:
    return store.task_list(
        _int(request, "id"),
        _int(request, "attempt"),
        offset=_int(request, "offset", 0),
        length=_int(request, "length", 20),
        sort=request.query.get("sortBy", "ID"),
    )


def _stage_attempts(store: AppStore, request: web.Request) -> Any:
    return store.stage_attempts(_int(request, "id")) or None


def api_routes(source: AppSource) -> list[web.RouteDef]:
    async def applications(request: web.Request) -> web.Response:
        wanted = request.query.get("status", "").lower()
        if wanted not in ("", "completed", "running"):
            return _error(400, f"unknown status {wanted!r}: use completed or running")
        apps = source.applications()
        if wanted:
            done = wanted == "completed"
            apps = [a for a in apps if a["attempts"] and a["attempts"][-1]["completed"] == done]
        return _json(apps)

    async def version(request: web.Request) -> web.Response:
        return _json({"spark": __version__})

    app = PREFIX + "/applications/{app}"
    no_stage = "no such stage: {id}"
    no_attempt = "no such stage attempt: {id}/{attempt}"
    readers: list[tuple[str, Reader, str]] = [
        ("", lambda s, r: s.application(), ""),
        ("/jobs", lambda s, r: s.jobs(r.query.get("status")), ""),
        ("/jobs/{job}", lambda s, r: s.job(_int(r, "job")), "no such job: {job}"),
        ("/stages", lambda s, r: s.stages(r.query.get("status")), ""),
        ("/stages/{id}", _stage_attempts, no_stage),
        (
            "/stages/{id}/{attempt}",
            lambda s, r: s.stage(_int(r, "id"), _int(r, "attempt")),
            no_attempt,
        ),
        ("/stages/{id}/{attempt}/taskList", _task_list, no_attempt),
        (
            "/stages/{id}/{attempt}/taskSummary",
            lambda s, r: s.task_summary(_int(r, "id"), _int(r, "attempt"), _quantiles(r)),
            no_attempt,
        ),
        ("/executors", lambda s, r: s.executors(), ""),
        ("/allexecutors", lambda s, r: s.executors(all_=True), ""),
        ("/environment", lambda s, r: s.environment(), ""),
    ]
    return [
        web.get(PREFIX + "/applications", applications),
        web.get(PREFIX + "/version", version),
        *(web.get(app + path, _read(source, reader, missing)) for path, reader, missing in readers),
    ]

"""The worker's web port: Spark's worker JSON, probes, metrics, and executor log pages.

The pages read a ``WorkerView``, a snapshot the worker takes for each request, rather than
the worker itself: this module needs nothing of the daemon but what it shows.
"""

from __future__ import annotations

import html
import re
import ssl
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from .. import metrics, webserver
from ..httpauth import HttpAuth
from .runners import ExecutorRunner


@dataclass(frozen=True)
class WorkerView:
    """What the worker's pages show, as the worker stood when the request came in."""

    id: str
    address: str
    master_url: str
    master_webui_url: str
    cores: int
    cores_used: int
    memory_mb: int
    memory_used: int
    registered: bool
    decommissioned: bool
    executors: list[ExecutorRunner]
    finished: list[ExecutorRunner]  # oldest first


@dataclass(frozen=True)
class _Pages:
    view: Callable[[], WorkerView]
    work_dir: Path  # where executor logs live: work_dir/<app>/<executor>/stdout|stderr


PAGES_KEY = web.AppKey("worker-pages", _Pages)
LOG_TAIL_BYTES = 100 * 1024
_APP_ID = re.compile(r"(app|driver)-[0-9A-Za-z._-]+")


def executor_json(r: ExecutorRunner) -> dict[str, Any]:
    return {
        "id": r.exec_id,
        "memory": r.memory_mb,
        "appid": r.app_id,
        "state": str(r.state),
        "appdesc": {
            "name": r.app.name,
            "cores": r.cores,
            "memoryperexecutor": r.app.memory_per_executor_mb,
            "user": r.app.user,
        },
    }


def state_json(w: WorkerView) -> dict[str, Any]:
    return {
        "id": w.id,
        "masterurl": w.master_url,
        "masterwebuiurl": w.master_webui_url,
        "cores": w.cores,
        "coresused": w.cores_used,
        "memory": w.memory_mb,
        "memoryused": w.memory_used,
        "state": "DECOMMISSIONED" if w.decommissioned else ("ALIVE" if w.registered else "UNKNOWN"),
        "executors": [executor_json(r) for r in w.executors],
        "finishedexecutors": [executor_json(r) for r in w.finished],
    }


def _worker(request: web.Request) -> WorkerView:
    return request.app[PAGES_KEY].view()


async def json_all(request: web.Request) -> web.Response:
    return web.json_response(state_json(_worker(request)))


async def log_page(request: web.Request) -> web.Response:
    """``/logPage/?appId=..&executorId=..&logType=stdout|stderr``: the tail of that log."""
    work_dir = request.app[PAGES_KEY].work_dir
    app_id = request.query.get("appId", "")
    exec_id = request.query.get("executorId", "")
    log_type = request.query.get("logType", "stderr")
    # Only names we generate reach the file system: nothing can climb out of the work dir.
    if (
        not _APP_ID.fullmatch(app_id)
        or not exec_id.isdigit()
        or log_type not in ("stdout", "stderr")
    ):
        raise web.HTTPBadRequest(text="use ?appId=app-...&executorId=N&logType=stdout|stderr\n")
    path = work_dir / app_id / exec_id / log_type
    if not path.is_file():
        raise web.HTTPNotFound(text=f"no {log_type} for executor {app_id}/{exec_id}\n")
    with path.open("rb") as f:
        f.seek(max(0, path.stat().st_size - LOG_TAIL_BYTES))
        return web.Response(body=f.read(), content_type="text/plain", charset="utf-8")


async def index(request: web.Request) -> web.Response:
    w = _worker(request)
    e = html.escape

    def row(r: ExecutorRunner) -> list[str]:
        logs = f"/logPage/?appId={e(r.app_id)}&executorId={r.exec_id}&logType="
        links = f'<a href="{logs}stdout">stdout</a> <a href="{logs}stderr">stderr</a>'
        return [
            str(r.exec_id),
            str(r.cores),
            f"{r.memory_mb} MiB",
            str(r.state),
            e(r.app_id),
            e(r.app.name),
            links,
        ]

    headers = ["ExecutorID", "Cores", "Memory", "State", "Application", "Name", "Logs"]
    facts = webserver.summary(
        [
            ("ID", e(w.id)),
            ("Master URL", e(w.master_url or "(not registered)")),
            ("Cores", f"{w.cores} ({w.cores_used} Used)"),
            ("Memory", f"{w.memory_mb} MiB ({w.memory_used} MiB Used)"),
            ("State", state_json(w)["state"]),
        ]
    )
    body = (
        f"{facts}<h2>Running Executors ({len(w.executors)})</h2>"
        f"{webserver.table(headers, (row(r) for r in w.executors))}"
        f"<h2>Finished Executors ({len(w.finished)})</h2>"
        f"{webserver.table(headers, (row(r) for r in reversed(w.finished)))}"
    )
    return webserver.page(f"minispark Worker at {w.address}", body)


def _ready(w: WorkerView) -> tuple[bool, str]:
    if w.registered:
        return True, f"registered with {w.master_url}"
    return False, "not registered with a master"


def _metric_families(w: WorkerView) -> Iterable[Any]:
    yield metrics.gauge("minispark_worker_cores", "Cores offered", w.cores)
    yield metrics.gauge("minispark_worker_cores_used", "Cores used by executors", w.cores_used)
    yield metrics.gauge("minispark_worker_memory_mb", "Memory offered", w.memory_mb)
    yield metrics.gauge(
        "minispark_worker_memory_used_mb", "Memory used by executors", w.memory_used
    )
    yield metrics.gauge("minispark_worker_executors", "Running executors", len(w.executors))
    yield metrics.gauge(
        "minispark_worker_registered", "1 when registered with a master", float(w.registered)
    )
    yield metrics.gauge(
        "minispark_worker_decommissioned", "1 when decommissioned", float(w.decommissioned)
    )


async def start_web(
    view: Callable[[], WorkerView],
    work_dir: Path,
    host: str,
    port: int,
    ssl_context: ssl.SSLContext | None,
    *,
    auth: HttpAuth,
) -> tuple[web.AppRunner, int]:
    app = web.Application()
    app[PAGES_KEY] = _Pages(view, work_dir)
    app.add_routes(
        [
            web.get("/", index),
            web.get("/json", json_all),
            web.get("/json/", json_all),
            web.get("/logPage/", log_page),
            web.get("/logPage", log_page),
            *webserver.probes(lambda: _ready(view()), lambda: _metric_families(view())),
        ]
    )
    return await webserver.serve(app, host, port, ssl_context, auth)

"""The master's web port: Spark's JSON, health probes, metrics, and a plain status page.

Every page reads a ``MasterView`` snapshot and acts through ``MasterActions`` (view.py):
this module never sees the master itself.
"""

from __future__ import annotations

import html
import ssl
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from .. import metrics, webserver
from ..httpauth import HttpAuth
from ..protocol import MasterStatus, WorkerState
from . import rest
from .model import AppInfo, DriverInfo, WorkerInfo, now_ms, submit_date
from .view import MasterActions, MasterView

ACTIONS_KEY = web.AppKey("master-actions", MasterActions)


def worker_json(w: WorkerInfo) -> dict[str, Any]:
    return {
        "id": w.id,
        "host": w.host,
        "port": w.port,
        "webuiaddress": w.webui_url,
        "cores": w.cores,
        "coresused": w.cores_used,
        "coresfree": w.cores_free,
        "memory": w.memory_mb,
        "memoryused": w.memory_used,
        "memoryfree": w.memory_free,
        "state": str(w.state),
        "lastheartbeat": w.last_heartbeat_ms,
    }


def app_json(a: AppInfo) -> dict[str, Any]:
    return {
        "id": a.id,
        "starttime": a.start_ms,
        "name": a.desc.name,
        "cores": a.cores_granted if not a.finished else 0,
        "user": a.desc.user,
        "memoryperexecutor": a.desc.memory_per_executor_mb,
        "submitdate": submit_date(a.start_ms),
        "state": str(a.state),
        "duration": a.duration_ms(),
    }


def driver_json(driver: DriverInfo) -> dict[str, Any]:
    return {
        "id": driver.id,
        "starttime": driver.start_ms,
        "state": str(driver.state),
        "cores": driver.desc.cores,
        "memory": driver.desc.memory_mb,
        "submitdate": submit_date(driver.start_ms),
        "worker": driver.worker_id,
        "mainclass": driver.desc.main,
    }


def state_json(m: MasterView) -> dict[str, Any]:
    alive = _alive(m)
    return {
        "url": m.url,
        "workers": [worker_json(w) for w in m.workers],
        "aliveworkers": len(alive),
        "cores": sum(w.cores for w in alive),
        "coresused": sum(w.cores_used for w in alive),
        "memory": sum(w.memory_mb for w in alive),
        "memoryused": sum(w.memory_used for w in alive),
        "activeapps": [app_json(a) for a in m.active_apps],
        "completedapps": [app_json(a) for a in m.completed_apps],
        "activedrivers": [driver_json(d) for d in m.active_drivers],
        "completeddrivers": [driver_json(d) for d in m.completed_drivers],
        "status": str(m.status),
    }


def _alive(m: MasterView) -> list[WorkerInfo]:
    return [w for w in m.workers if w.state == WorkerState.ALIVE]


def _actions(request: web.Request) -> MasterActions:
    return request.app[ACTIONS_KEY]


def _view(request: web.Request) -> MasterView:
    return _actions(request).view()


async def json_all(request: web.Request) -> web.Response:
    return web.json_response(state_json(_view(request)))


async def json_field(request: web.Request) -> web.Response:
    field = request.match_info["field"]
    return web.json_response({field: state_json(_view(request)).get(field, "")})


async def kill_app(request: web.Request) -> web.Response:
    actions = _actions(request)  # the port's middleware has checked the secret
    form = await request.post()
    app_id = str(form.get("id") or request.query.get("id", ""))
    if not actions.kill_application(app_id):
        raise web.HTTPNotFound(text=f"no running application {app_id!r}\n")
    raise web.HTTPSeeOther("/")


async def decommission(request: web.Request) -> web.Response:
    """``POST /workers/kill?host=h1&host=h2``: Spark's decommission endpoint."""
    actions = _actions(request)
    form = await request.post()
    hosts = set(request.query.getall("host", [])) | {str(h) for h in form.getall("host", [])}
    matched = [w for w in _alive(actions.view()) if w.host in hosts]
    for worker in matched:
        actions.decommission_worker(worker.id)
    return web.json_response(
        {"decommissioned": [w.id for w in matched]}, status=200 if matched else 404
    )


def _metric_families(m: MasterView) -> Iterable[Any]:
    by_state = {str(s): 0.0 for s in WorkerState}
    for w in m.workers:
        by_state[str(w.state)] += 1
    alive = _alive(m)
    yield metrics.labelled("minispark_master_workers", "Workers by state", "state", by_state)
    yield metrics.gauge(
        "minispark_master_cores", "Cores of alive workers", sum(w.cores for w in alive)
    )
    yield metrics.gauge(
        "minispark_master_cores_used",
        "Cores granted to executors",
        sum(w.cores_used for w in alive),
    )
    yield metrics.gauge(
        "minispark_master_memory_mb", "Memory of alive workers", sum(w.memory_mb for w in alive)
    )
    yield metrics.gauge(
        "minispark_master_memory_used_mb", "Memory granted", sum(w.memory_used for w in alive)
    )
    yield metrics.gauge(
        "minispark_master_apps_active", "Running or waiting applications", len(m.active_apps)
    )
    yield metrics.gauge(
        "minispark_master_apps_completed", "Retained completed applications", len(m.completed_apps)
    )
    yield metrics.labelled(
        "minispark_master_status",
        "1 for the master's current status",
        "status",
        {str(s): float(s == m.status) for s in MasterStatus},
    )
    yield metrics.gauge("minispark_master_epoch", "Leader epoch", m.epoch)
    yield metrics.gauge(
        "minispark_master_uptime_seconds", "Seconds since start", (now_ms() - m.start_ms) / 1000
    )


def _kill_form(app: AppInfo) -> str:
    return (
        f'<form method="post" action="/app/kill" style="display:inline">'
        f'<input type="hidden" name="id" value="{html.escape(app.id)}">'
        f'<button type="submit">kill</button></form>'
    )


def _app_name(app: AppInfo) -> str:
    """A running application's name links to its UI, as on Spark's master page; only an
    http(s) address becomes a link (the driver sent it: it could say javascript:)."""
    name = html.escape(app.desc.name)
    if app.finished or urlsplit(app.ui_url).scheme.lower() not in ("http", "https"):
        return name
    return f'<a href="{html.escape(app.ui_url, quote=True)}">{name}</a>'


async def index(request: web.Request) -> web.Response:
    m = _view(request)
    e = html.escape
    alive = _alive(m)
    workers = webserver.table(
        ["Worker Id", "Address", "State", "Cores", "Memory"],
        (
            [
                f'<a href="{e(w.webui_url)}">{e(w.id)}</a>',
                e(w.address),
                str(w.state),
                f"{w.cores} ({w.cores_used} Used)",
                f"{w.memory_mb} MiB ({w.memory_used} MiB Used)",
            ]
            for w in m.workers
        ),
    )
    app_headers = [
        "Application ID",
        "Name",
        "Cores",
        "Memory per Executor",
        "Submitted Time",
        "User",
        "State",
        "Duration",
    ]

    def app_row(a: AppInfo, with_kill: bool) -> list[str]:
        first = e(a.id) + (" " + _kill_form(a) if with_kill else "")
        return [
            first,
            _app_name(a),
            str(a.cores_granted),
            f"{a.desc.memory_per_executor_mb} MiB",
            e(submit_date(a.start_ms)),
            e(a.desc.user),
            str(a.state),
            f"{a.duration_ms() / 1000:.1f} s",
        ]

    running = webserver.table(app_headers, (app_row(a, True) for a in m.active_apps))
    completed = webserver.table(
        app_headers, (app_row(a, False) for a in reversed(m.completed_apps))
    )
    dead = sum(w.state == WorkerState.DEAD for w in m.workers)
    retired = sum(w.state == WorkerState.DECOMMISSIONED for w in m.workers)
    facts = webserver.summary(
        [
            ("URL", e(m.url)),
            ("Workers", f"{len(alive)} Alive, {dead} Dead, {retired} Decommissioned"),
            (
                "Cores in use",
                f"{sum(w.cores for w in alive)} Total, {sum(w.cores_used for w in alive)} Used",
            ),
            (
                "Memory in use",
                f"{sum(w.memory_mb for w in alive)} MiB Total, "
                f"{sum(w.memory_used for w in alive)} MiB Used",
            ),
            ("Applications", f"{len(m.active_apps)} Running, {len(m.completed_apps)} Completed"),
            ("Status", str(m.status)),
        ]
    )
    body = (
        f"{facts}<h2>Workers ({len(m.workers)})</h2>{workers}"
        f"<h2>Running Applications ({len(m.active_apps)})</h2>{running}"
        f"<h2>Completed Applications ({len(m.completed_apps)})</h2>{completed}"
    )
    return webserver.page(f"minispark Master at {m.url}", body)


async def start_web(
    actions: MasterActions, host: str, port: int, ssl_context: ssl.SSLContext | None
) -> tuple[web.AppRunner, int]:
    app = web.Application()
    app[ACTIONS_KEY] = actions
    app.add_routes(
        [
            web.get("/", index),
            web.get("/json", json_all),
            web.get("/json/", json_all),
            web.get("/json/{field}", json_field),
            web.post("/app/kill", kill_app),
            web.post("/app/kill/", kill_app),
            web.post("/workers/kill", decommission),
            web.post("/workers/kill/", decommission),
            *webserver.probes(
                lambda: _ready(actions.view()), lambda: _metric_families(actions.view())
            ),
            *rest.routes(app, actions),
        ]
    )
    auth = HttpAuth.from_conf(actions.conf)
    return await webserver.serve(app, host, port, ssl_context, auth)


def _ready(m: MasterView) -> tuple[bool, str]:
    return m.status == MasterStatus.ALIVE, str(m.status)

"""The history server's web port: the list of applications at ``/``, each application's
pages under ``/history/<app id>/`` and Spark's REST API under ``/api/v1``, both from
``appstatus`` (the driver's own UI serves the same ones), and the daemons' probes.

A log that cannot be loaded answers with its reason rather than a bare 404, so whoever
follows a link from the list learns what is wrong with it.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

from aiohttp import web
from prometheus_client.core import Metric

from .. import metrics, webserver
from ..appstatus.api import api_routes
from ..appstatus.pages import page_routes
from ..appstatus.store import AppStore
from ..httpauth import Handler
from . import listpage
from .ingest import Ingest
from .ingestweb import INGEST_KEY, ingest_routes
from .provider import HistoryProvider

PROVIDER_KEY = web.AppKey("history-provider", HistoryProvider[AppStore])
PAGES_PREFIX = "/history/{app}/"
# The paths that need one application's loaded store, and where its id is in them.
_APP_PATH = re.compile(r"^/(?:history|api/v1/applications)/([^/]+)(/|$)")


async def index(request: web.Request) -> web.Response:
    provider = request.app[PROVIDER_KEY]
    listed, unreadable = [], []
    for summary in provider.summaries():
        if summary.head is None:
            unreadable.append(summary)
        else:
            listed.append((summary, provider.problem(summary.head.app_id)))
    body = listpage.body(listed, unreadable)
    if provider.scan_error:  # the last listing failed: what is shown may be stale
        warning = html.escape(provider.scan_error)
        body = f"<p><b>Cannot list the log directory:</b> {warning}</p>{body}"
    return listpage.page("Event logs: " + provider.logs.url, body)


async def app_root(request: web.Request) -> web.Response:
    raise web.HTTPFound(request.path + "/jobs/")


@web.middleware
async def unloadable(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Load the application a path names first; a log that fails says why."""
    found = _APP_PATH.match(request.path)
    provider = request.app[PROVIDER_KEY]
    if found is None or provider.summary(found[1]) is None:
        return await handler(request)
    await provider.store(found[1])
    reason = provider.load_failed(found[1])
    if reason is None:
        return await handler(request)
    message = f"the event log of {found[1]} cannot be shown: {reason}"
    if request.path.startswith("/api/"):
        return web.json_response({"message": message}, status=404)
    body = f"<p>{html.escape(message)}</p><p><a href='/'>All applications</a></p>"
    return listpage.page("Application not available", body, status=404)


def _ready(provider: HistoryProvider[AppStore]) -> tuple[bool, str]:
    if provider.scan_error:
        return False, provider.scan_error
    if not provider.scanned:
        return False, "the log directory has not been listed yet"
    return True, f"listing {len(provider.applications())} applications"


def _families(provider: HistoryProvider[AppStore]) -> Iterable[Metric]:
    apps = provider.applications()
    done = sum(1 for a in apps if a["attempts"][0]["completed"])
    yield metrics.labelled(
        "minispark_history_applications",
        "Applications in the event log directory",
        "status",
        {"completed": done, "incomplete": len(apps) - done},
    )
    unreadable = sum(1 for s in provider.summaries() if s.head is None)
    yield metrics.gauge("minispark_history_unreadable_logs", "Logs not listable", unreadable)
    loaded = len(provider.loaded_ids())
    yield metrics.gauge("minispark_history_loaded_applications", "Applications in memory", loaded)


def build_app(provider: HistoryProvider[AppStore], ingest: Ingest) -> web.Application:
    app = web.Application(middlewares=[unloadable])
    app[PROVIDER_KEY] = provider
    app[INGEST_KEY] = ingest
    app.add_routes(
        [
            web.get("/", index),
            web.get(PAGES_PREFIX.rstrip("/"), app_root),
            *page_routes(provider, PAGES_PREFIX),
            *api_routes(provider),
            *ingest_routes(),
            *webserver.probes(lambda: _ready(provider), lambda: _families(provider)),
        ]
    )
    return app

"""What the master's and the worker's web ports share: serving, probes, metrics, HTML."""

from __future__ import annotations

import html
import ssl
from collections.abc import Callable, Iterable
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry

from . import metrics
from .httpauth import HttpAuth, middleware
from .webport import RefusalLog, WebPort

REGISTRY_KEY = web.AppKey("registry", CollectorRegistry)

STYLE = (
    "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:1.5em}"
    "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}th{background:#eee}"
)


def table(headers: list[str], rows: Iterable[list[str]]) -> str:
    """Cells are HTML already (callers escape user-supplied text)."""
    head = "".join(f"<th>{h}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def page(title: str, body: str) -> web.Response:
    text = (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    return web.Response(text=text, content_type="text/html")


def summary(items: list[tuple[str, str]]) -> str:
    return "<ul>" + "".join(f"<li><b>{k}:</b> {v}</li>" for k, v in items) + "</ul>"


def probes(
    ready: Callable[[], tuple[bool, str]], families: Callable[[], Iterable[Any]]
) -> list[web.RouteDef]:
    """``/healthz`` (the process serves), ``/readyz`` (it does its job), ``/metrics``."""
    registry = metrics.registry(families)

    async def healthz(request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def readyz(request: web.Request) -> web.Response:
        ok, text = ready()
        return web.Response(text=f"{text}\n", status=200 if ok else 503)

    async def metrics_page(request: web.Request) -> web.Response:
        body = metrics.render(registry)
        return web.Response(body=body, headers={"Content-Type": metrics.CONTENT_TYPE})

    return [
        web.get("/healthz", healthz),
        web.get("/readyz", readyz),
        web.get("/metrics", metrics_page),
    ]


class WebRunner(web.AppRunner):
    """aiohttp's runner over our own listener (see webport): stopping it stops both."""

    port: WebPort | None = None

    async def cleanup(self) -> None:
        if self.port is not None:
            await self.port.close()
        await super().cleanup()


async def serve(
    app: web.Application,
    host: str,
    port: int,
    ssl_context: ssl.SSLContext | None,
    auth: HttpAuth,
) -> tuple[web.AppRunner, int]:
    """Start ``app`` behind ``auth`` and return its runner and the bound port (``port`` may
    be 0). With ``ssl_context`` the port speaks HTTPS only."""
    refusals = RefusalLog()
    app.middlewares.insert(0, middleware(auth, refusals))  # before any handler runs
    runner = WebRunner(app, access_log=None)
    await runner.setup()
    server = runner.server
    assert server is not None  # setup() made it
    runner.port = WebPort(server, ssl_context, refusals)
    try:
        bound = await runner.port.start(host, port)
    except BaseException:
        await runner.cleanup()
        raise
    return runner, bound

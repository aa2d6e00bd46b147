"""What the master's and the worker's web ports share: serving, probes, metrics, HTML."""

from __future__ import annotations

import html
import ssl
from collections.abc import Callable, Iterable
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry

from . import metrics

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


async def serve(
    app: web.Application, host: str, port: int, ssl_context: ssl.SSLContext | None
) -> tuple[web.AppRunner, int]:
    """Start ``app`` and return its runner and the bound port (``port`` may be 0)."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port, ssl_context=ssl_context)
    await site.start()
    server = site._server  # aiohttp exposes the bound sockets only here
    sockets = getattr(server, "sockets", None) or []
    return runner, int(sockets[0].getsockname()[1]) if sockets else port

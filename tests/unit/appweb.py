"""Serving the appstatus routes in-process for the REST and page tests."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from minispark.appstatus.api import api_routes
from minispark.appstatus.pages import page_routes
from minispark.appstatus.source import SingleApp
from minispark.appstatus.store import AppStore


def get_all(store: AppStore, paths: list[str], prefix: str = "/") -> list[tuple[int, Any]]:
    """(status, JSON or text) for each path, from a server of ``store``'s routes."""

    async def run() -> list[tuple[int, Any]]:
        app = web.Application()
        source = SingleApp(store)
        app.add_routes([*api_routes(source), *page_routes(source, prefix)])
        async with TestClient(TestServer(app)) as client:
            found = []
            for path in paths:
                reply = await client.get(path, allow_redirects=False)
                body: Any = await reply.text()
                if reply.content_type == "application/json":
                    body = await reply.json()
                found.append((reply.status, body))
            return found

    return asyncio.run(run())


def get(store: AppStore, path: str) -> tuple[int, Any]:
    return get_all(store, [path])[0]


__all__ = ["get", "get_all"]

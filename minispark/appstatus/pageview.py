"""What every application page handler starts from: the app's store, the base of its URLs
(``/`` on the driver, ``/history/<app>/`` on the history server) and its query numbers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import quote

from aiohttp import web

from . import layout
from .source import AppSource
from .store import AppStore


@dataclass(frozen=True)
class PageView:
    store: AppStore
    base: str
    request: web.Request

    def render(self, tab: str, title: str, body: str) -> web.Response:
        return layout.page(
            self.base,
            tab,
            title,
            app_name=self.store.name or self.store.app_id or "application",
            running=not self.store.completed,
            body=body,
        )

    def missing(self, what: str) -> web.HTTPException:
        return _plain(404, what)

    def number(self, name: str, default: int | None = None) -> int:
        raw = self.request.query.get(name)
        if raw is None and default is not None:
            return default
        try:
            return int(raw or "")
        except ValueError:
            raise _plain(400, f"parameter {name} must be an integer, got {raw!r}") from None

    def url(self, path: str) -> str:
        return self.base + path


Page = Callable[[PageView], web.Response]


def _plain(status: int, text: str) -> web.HTTPException:
    """A one-line plain-text error page (404: no such thing; else 400: a bad parameter)."""
    kind = web.HTTPNotFound if status == 404 else web.HTTPBadRequest
    return kind(text=text + "\n")


def base_of(prefix: str, app_id: str) -> str:
    """Where an application's pages are: the prefix with its id in place of ``{app}``."""
    return prefix.replace("{app}", quote(app_id, safe=""))


def handler(
    source: AppSource, prefix: str, page: Page
) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handle(request: web.Request) -> web.Response:
        app_id = request.match_info.get("app")
        if app_id is None:  # the driver's UI: its one application
            apps = source.applications()
            app_id = apps[0]["id"] if apps else ""
        store = await source.store(app_id)
        if store is None:
            raise _plain(404, f"no such application: {app_id}")
        return page(PageView(store, base_of(prefix, app_id), request))

    return handle

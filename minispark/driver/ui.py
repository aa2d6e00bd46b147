"""The driver's application UI: the pages and ``/api/v1`` over the application's store.

As Spark does, it binds ``spark.ui.port`` (4040) or, when that is taken, the next port up
to ``spark.port.maxRetries`` times, so several drivers on one host each get a UI; 0 binds
any free port. The port is the daemons' web port (webserver/webport/httpauth), so the
cluster secret guards it as it guards the master's, and it speaks HTTPS when the driver has
a certificate from the cluster's CA (``minispark.ssl.certFile``). The ephemeral
certificate a TLS driver makes for its RPC port is pinned by executors and trusted by no
browser, so without a CA-issued one the UI stays on HTTP and says so in the log.
"""

from __future__ import annotations

import errno
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from .. import webserver
from ..appstatus.api import api_routes
from ..appstatus.pages import page_routes
from ..appstatus.source import SingleApp
from ..appstatus.store import AppStore
from ..conf import Conf
from ..httpauth import HttpAuth
from ..rpc import Security
from ..security import tls_enabled

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class UiSettings:
    enabled: bool
    port: int  # 0: any free port
    max_retries: int

    @classmethod
    def from_conf(cls, conf: Conf) -> UiSettings:
        return cls(
            enabled=conf.get_bool("spark.ui.enabled"),
            port=conf.get_int("spark.ui.port"),
            max_retries=conf.get_int("spark.port.maxRetries"),
        )

    def candidates(self) -> list[int]:
        if self.port == 0:
            return [0]
        return [p for p in range(self.port, self.port + self.max_retries + 1) if p <= 65535]


class DriverUi:
    def __init__(self, runner: web.AppRunner, url: str, port: int, host: str) -> None:
        self._runner = runner
        self.url = url
        self.port = port
        self.host = host

    def announce(self) -> None:
        """Say where the UI is, as Spark does. Called once the application is registered: a
        driver the cluster refuses ends with the one line that says why, and no other."""
        log.info("Bound SparkUI to %s, and started at %s", self.host, self.url)

    async def stop(self) -> None:
        await self._runner.cleanup()


def _application(store: AppStore, catch_up: Callable[[], None] | None) -> web.Application:
    source = SingleApp(store, catch_up)
    app = web.Application()

    async def healthz(request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    app.add_routes([web.get("/healthz", healthz), *api_routes(source), *page_routes(source, "/")])
    return app


async def _bind(
    make_app: Callable[[], web.Application],
    conf: Conf,
    host: str,
    ports: list[int],
    context: ssl.SSLContext | None,
) -> tuple[web.AppRunner, int]:
    auth = HttpAuth.from_conf(conf)
    for n, port in enumerate(ports):
        try:  # a fresh app each try: aiohttp freezes an app once it has been set up
            return await webserver.serve(make_app(), host, port, context, auth)
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise OSError(
                    exc.errno, f"the application UI cannot bind {host}:{port}: {exc.strerror}"
                ) from exc
            if n + 1 < len(ports):
                # Routine (a second driver on the host), and said before the driver knows it
                # may run: debug, where Spark warns; announce() gives the port it got.
                log.debug(
                    "Service 'SparkUI' could not bind on port %d. Attempting port %d.",
                    port,
                    ports[n + 1],
                )
    raise OSError(
        errno.EADDRINUSE,
        f"the application UI found ports {ports[0]}-{ports[-1]} on {host} all taken: set "
        "spark.ui.port to a free port (0 for any), raise spark.port.maxRetries, or set "
        "spark.ui.enabled=false",
    )


async def start_ui(
    conf: Conf,
    store: AppStore,
    security: Security,
    host: str,
    *,
    catch_up: Callable[[], None] | None = None,
) -> DriverUi | None:
    """Serve the UI for ``store`` on ``host``; None when spark.ui.enabled is false.
    ``catch_up`` folds in events still queued for the store (listener.Deferred.drain)."""
    settings = UiSettings.from_conf(conf)
    if not settings.enabled:
        return None
    context = security.web_ssl
    if context is None and tls_enabled(conf):
        log.warning(
            "the application UI serves plain HTTP: TLS is on but this driver has no "
            "certificate from the cluster's CA (set minispark.ssl.certFile and keyFile)"
        )
    runner, port = await _bind(
        lambda: _application(store, catch_up), conf, host, settings.candidates(), context
    )
    scheme = "https" if context is not None else "http"
    url = f"{scheme}://{host}:{port}"
    log.debug("Successfully started service 'SparkUI' on port %d.", port)
    return DriverUi(runner, url, port, host)

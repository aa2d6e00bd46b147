"""The history server daemon: lists the event log directory every update interval, cleans
it when the cleaner is on, and serves the web port (auth and TLS as the other daemons)."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from .. import daemon, systemd, webserver
from ..appstatus.store import store_for_ui
from ..conf import Conf
from ..httpauth import HttpAuth
from ..security import security_from_conf
from .ingest import for_directory
from .logdir import LogDir
from .provider import HistoryProvider
from .settings import HistorySettings
from .web import build_app

log = logging.getLogger(__name__)


class HistoryServer:
    def __init__(self, conf: Conf, settings: HistorySettings, logs: LogDir, host: str) -> None:
        self.conf = conf
        self.settings = settings
        self.host = host
        self.port = settings.port
        self.security = security_from_conf(conf)
        self.provider = HistoryProvider(logs, lambda: store_for_ui(conf), settings.retained_apps)
        self.ingest = for_directory(logs)  # drivers without our filesystem send logs here
        self._runner: web.AppRunner | None = None
        self._timers: list[asyncio.Task[None]] = []

    @property
    def url(self) -> str:
        scheme = "https" if self.security.web_ssl else "http"
        return f"{scheme}://{self.host}:{self.port}"

    async def start(self) -> None:
        await self.provider.refresh()  # the first page already lists what is there
        self._runner, self.port = await webserver.serve(
            build_app(self.provider, self.ingest),
            self.host,
            self.settings.port,
            self.security.web_ssl,
            HttpAuth.from_conf(self.conf),
        )
        log.info("Bound HistoryServer to %s, and started at %s", self.host, self.url)
        self._timers.append(daemon.every(self.settings.update_interval_s, self.provider.refresh))
        if self.settings.cleaner_enabled:  # at once, then every interval, as Spark does
            await self._clean()
            self._timers.append(daemon.every(self.settings.cleaner_interval_s, self._clean))
        apps = len(self.provider.applications())
        systemd.ready(f"serving {apps} applications from {self.settings.log_dir} at {self.url}")

    async def _clean(self) -> None:
        await self.provider.clean(self.settings.cleaner)

    async def stop(self) -> None:
        await daemon.cancel(self._timers)
        if self._runner is not None:
            await self._runner.cleanup()

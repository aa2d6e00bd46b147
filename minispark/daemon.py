"""What every long-running minispark process shares: logging, signals, the loop's lifetime.

Signal handlers only set an event (as huey's consumer does); the daemon's own ``stop``
runs on the loop afterwards, so shutdown never races a handler.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import Protocol

from . import systemd

log = logging.getLogger("minispark.daemon")

# Set by local-cluster on the daemons it starts: they exit when that process goes away, so
# an embedded cluster never outlives the program that asked for it.
PARENT_PID_ENV = "MINISPARK_EXIT_WITH_PARENT"
# ...and remove this directory (the embedded cluster's scratch space) when they do, since the
# program that would have removed it is gone.
ORPHAN_DIR_ENV = "MINISPARK_REMOVE_WHEN_ORPHANED"


class Daemon(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...


def setup_logging(level: str | None = None) -> None:
    logging.basicConfig(
        level=(level or os.environ.get("MINISPARK_LOG_LEVEL", "INFO")).upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%y/%m/%d %H:%M:%S",
        stream=sys.stderr,
    )
    # aiohttp logs one line per request at INFO; health probes would drown the daemon's log.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


def log_settings(name: str, settings: dict[str, str]) -> None:
    """What a daemon was started with, secrets redacted: the first thing an operator checks."""
    shown = ", ".join(f"{k}={v}" for k, v in sorted(settings.items())) or "all defaults"
    log.info("%s settings: %s", name, shown)


def run(make: Callable[[], Daemon], name: str) -> int:
    """Build the daemon inside the loop, serve until SIGTERM/SIGINT, then stop it cleanly."""
    return asyncio.run(_serve(make, name))


async def _serve(make: Callable[[], Daemon], name: str) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    daemon = make()
    try:
        await daemon.start()
    except OSError as exc:
        log.error("%s could not start: %s", name, exc)
        return 1
    orphaned = asyncio.Event()
    watchers = [
        asyncio.ensure_future(_watch_parent(stop, orphaned)),
        asyncio.ensure_future(_watchdog()),
    ]
    await stop.wait()
    log.info("%s stopping", name)
    systemd.stopping()
    for task in watchers:
        task.cancel()
    await daemon.stop()
    scratch = os.environ.get(ORPHAN_DIR_ENV)
    if orphaned.is_set() and scratch:
        shutil.rmtree(scratch, ignore_errors=True)
    # A daemon that stops for a reason (a master whose ZooKeeper session was lost) says so in
    # its exit status, so that systemd and operators can tell it from a clean stop.
    return int(getattr(daemon, "exit_code", 0))


async def _watch_parent(stop: asyncio.Event, orphaned: asyncio.Event) -> None:
    parent = os.environ.get(PARENT_PID_ENV, "")
    if not parent.isdigit():
        return
    while True:
        await asyncio.sleep(0.5)
        if os.getppid() != int(parent):
            log.warning("the process that started this daemon is gone; stopping")
            orphaned.set()
            stop.set()
            return


async def _watchdog() -> None:
    interval = systemd.watchdog_interval_s()
    if interval is None:
        return
    while True:
        systemd.notify(WATCHDOG="1")
        await asyncio.sleep(interval)


def child_env() -> dict[str, str]:
    """The environment for a process a daemon launches: its own, less what only the daemon
    acts on (exiting with its parent, removing a scratch directory when orphaned)."""
    return {k: v for k, v in os.environ.items() if k not in (PARENT_PID_ENV, ORPHAN_DIR_ENV)}


def every(seconds: float, tick: Callable[[], Awaitable[None] | None]) -> asyncio.Task[None]:
    """Call ``tick`` periodically on the loop; errors are logged and the timer carries on."""

    async def loop() -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                result = tick()
                if result is not None:
                    await result
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("periodic task %s failed", getattr(tick, "__name__", tick))

    return asyncio.ensure_future(loop())


async def cancel(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task

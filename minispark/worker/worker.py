"""The worker: offers this host's cores and memory to the master and runs executors.

It registers with every master in its URL at once (only the leader accepts; standbys answer
MasterInStandby), heartbeats the one that accepted, and re-registers with backoff whenever
that link closes (``masterlink`` finds and follows the leader). Executor state changes are
delivered reliably: each is an ask that stays queued until the master acknowledges it, across
reconnects (SPARK-34245's lesson).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import re
import shutil
import signal
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from .. import daemon, rpc, systemd
from ..appconf import cluster_security
from ..conf import Conf
from ..executor import shuffle
from ..httpauth import HttpAuth
from ..masterlink import Endpoint, MasterLink, Retries
from ..protocol import (
    ApplicationFinished,
    DecommissionWorker,
    DriverState,
    DriverStateChanged,
    ExecutorAttached,
    ExecutorState,
    ExecutorStateChanged,
    Failure,
    FetchShuffleBlock,
    Heartbeat,
    KillDriver,
    KillExecutor,
    LaunchDriver,
    LaunchExecutor,
    MasterChanged,
    Message,
    ReconnectWorker,
    RegisteredWorker,
    RegisterWorker,
    RegisterWorkerFailed,
    ShuffleBlock,
    ToWorker,
    WorkerDecommissioning,
    WorkerLatestState,
)
from ..security import security_from_conf
from .drivers import DriverRunner
from .runners import ExecutorRunner
from .settings import WorkerSettings
from .web import WorkerView, start_web

log = logging.getLogger("minispark.worker")

RETAINED_FINISHED = 1000
_APP_ID = re.compile(r"app-[0-9A-Za-z._-]+")


@dataclass(frozen=True)
class WorkerOptions:
    masters: list[tuple[str, int]]
    host: str
    port: int
    webui_port: int
    cores: int
    memory_mb: int
    work_dir: Path
    local_dirs: list[Path]


class Worker:
    def __init__(self, conf: Conf, options: WorkerOptions) -> None:
        self.conf = conf
        self.opts = options
        self.host = options.host
        self.port = options.port
        self.webui_port = options.webui_port
        self.cores = options.cores
        self.memory_mb = options.memory_mb
        self.id = ""
        self.start_ms = int(time.time() * 1000)
        self.security = security_from_conf(conf)
        self.settings = WorkerSettings.from_conf(conf)
        self.timeout_s = self.settings.timeout_s
        self.heartbeat_s = self.timeout_s / 4  # until a master tells us its own
        self.master_url = ""
        self.master_webui_url = ""
        self.ever_registered = False
        self.decommissioned = False
        self.executors: dict[str, ExecutorRunner] = {}
        self.finished: collections.deque[ExecutorRunner] = collections.deque(
            maxlen=RETAINED_FINISHED
        )
        self.finished_apps: set[str] = set()
        self.drivers: dict[str, DriverRunner] = {}
        self.finished_drivers: collections.deque[DriverRunner] = collections.deque(
            maxlen=RETAINED_FINISHED
        )
        self._updates: collections.deque[ExecutorStateChanged | DriverStateChanged] = (
            collections.deque()
        )
        self._flushing = False
        self._flusher: asyncio.Task[None] | None = None
        self._beat: asyncio.Task[None] | None = None
        self._timers: list[asyncio.Task[None]] = []
        self._web: Any = None
        self._server = rpc.Server(
            name="worker",
            inbound=ToWorker,
            handler=self.handle,
            security=self.security,
        )
        self._link: MasterLink[RegisteredWorker] = MasterLink(
            options.masters,
            Endpoint(ToWorker, self.handle, self.security, role="worker"),
            subject="worker",
            register=self._register,
            retries=registration_retries(self.settings),
            log=log,
            on_leader=self._registered_with,
            on_lost=self._master_lost,
            on_give_up=self._give_up,
        )

    # ------------------------------------------------------------------ lifecycle

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def webui_url(self) -> str:
        scheme = "https" if self.security.web_ssl else "http"  # the master's page links here
        return f"{scheme}://{self.host}:{self.webui_port}"

    @property
    def cores_used(self) -> int:
        drivers = sum(d.desc.cores for d in self.drivers.values())
        return drivers + sum(r.cores for r in self.executors.values())

    @property
    def memory_used(self) -> int:
        drivers = sum(d.desc.memory_mb for d in self.drivers.values())
        return drivers + sum(r.memory_mb for r in self.executors.values())

    @property
    def master(self) -> rpc.Connection | None:
        """The link to the leader this worker follows, while it has one."""
        return self._link.leader

    @property
    def registered(self) -> bool:
        return self.master is not None and not self.master.is_closed

    def web_view(self) -> WorkerView:
        """What the web pages show; they read this snapshot, never the worker."""
        return WorkerView(
            id=self.id,
            address=self.address,
            master_url=self.master_url,
            master_webui_url=self.master_webui_url,
            cores=self.cores,
            cores_used=self.cores_used,
            memory_mb=self.memory_mb,
            memory_used=self.memory_used,
            registered=self.registered,
            decommissioned=self.decommissioned,
            executors=list(self.executors.values()),
            finished=list(self.finished),
        )

    async def start(self) -> None:
        self.opts.work_dir.mkdir(parents=True, exist_ok=True)
        self.port = await self._server.start(self.host, self.port)
        self.id = f"worker-{datetime.now():%Y%m%d%H%M%S}-{self.host}-{self.port}"
        self._web, self.webui_port = await start_web(
            self.web_view,
            self.opts.work_dir,
            self.host,
            self.webui_port,
            self.security.web_ssl,
            auth=HttpAuth.from_conf(self.conf),
        )
        log.info(
            "worker %s offering %d cores, %d MiB; web UI on %s",
            self.id,
            self.cores,
            self.memory_mb,
            self.webui_url,
        )
        if self.settings.cleanup_enabled:
            interval = self.settings.cleanup_interval_s
            self._timers.append(daemon.every(interval, self.clean_work_dir))
        asyncio.get_running_loop().add_signal_handler(signal.SIGPWR, self.decommission)
        self._link.follow()

    async def stop(self) -> None:
        for runner in list(self.executors.values()):
            runner.kill_now()
        for driver in list(self.drivers.values()):
            driver.kill_now()
        await daemon.cancel(self._timers)
        if self._beat is not None:
            self._beat.cancel()
        self._link.close("worker stopping")
        self._server.close()
        if self._web is not None:
            await self._web.cleanup()

    # --------------------------------------------------------------- registration

    async def _register(
        self, conn: rpc.Connection, master: tuple[str, int]
    ) -> RegisteredWorker | str:
        reply = await conn.ask(self._registration(*master), timeout=self.timeout_s)
        if isinstance(reply, RegisterWorkerFailed):
            if not self.ever_registered:
                log.error("master refused registration: %s", reply.message)
                os._exit(1)
            log.warning("master refused registration: %s", reply.message)
            return f"refused: {reply.message}"
        return reply if isinstance(reply, RegisteredWorker) else "a standby"

    def _give_up(self, exc: Exception) -> None:
        log.error("All masters are unresponsive! Giving up.")
        os._exit(1)

    def _registration(self, host: str, port: int) -> RegisterWorker:
        return RegisterWorker(
            worker_id=self.id,
            host=self.host,
            port=self.port,
            cores=self.cores,
            memory_mb=self.memory_mb,
            webui_url=self.webui_url,
            master_address=f"{host}:{port}",
            executors=[r.description() for r in self.executors.values()],
            drivers=list(self.drivers),
        )

    def _registered_with(self, conn: rpc.Connection, reply: RegisteredWorker) -> None:
        self.master_url = reply.master_url
        self.master_webui_url = reply.master_webui_url
        self.heartbeat_s = reply.heartbeat_s
        if self._beat is not None:
            self._beat.cancel()
        self._beat = asyncio.ensure_future(self._heartbeats(conn))
        log.info("registered with master %s (epoch %d)", reply.master_url, reply.epoch)
        conn.send(
            WorkerLatestState(
                worker_id=self.id,
                executors=[r.description() for r in self.executors.values()],
                driver_ids=list(self.drivers),
            )
        )
        if not self.ever_registered:
            self.ever_registered = True
            systemd.ready(f"ALIVE, registered with {reply.master_url}")
        else:
            systemd.status(f"ALIVE, registered with {reply.master_url}")
        self._flush_soon()

    def _master_lost(self) -> None:
        log.warning("Connection to master failed! Waiting for master to reconnect...")
        systemd.status("re-registering with a master")

    async def _heartbeats(self, conn: rpc.Connection) -> None:
        """Beat on one master link at that master's pace; a new registration starts anew."""
        while not conn.is_closed:
            await asyncio.sleep(self.heartbeat_s)
            with contextlib.suppress(rpc.ConnectionClosed):
                conn.send(Heartbeat(worker_id=self.id))

    # ------------------------------------------------------------------- messages

    def handle(self, conn: rpc.Connection, message: Any) -> Any:
        if isinstance(message, FetchShuffleBlock):
            return self.serve_block(message)
        if isinstance(message, ExecutorAttached):
            runner = self.executors.get(f"{message.app_id}/{message.exec_id}")
            conn.attachment = runner
            return None
        if isinstance(message, MasterChanged):
            self._link.announce(message)
            return None
        if isinstance(message, ReconnectWorker):
            log.info("master %s asks us to reconnect", message.master_url)
            self._link.reconnect("master asked us to re-register")
            return None
        if not self._from_leader(conn, message):
            return None
        if isinstance(message, LaunchExecutor):
            self.launch_executor(message)
        elif isinstance(message, KillExecutor):
            runner = self.executors.get(f"{message.app_id}/{message.exec_id}")
            if runner is not None:
                log.info("asked to kill executor %s", runner.full_id)
                runner.kill()
        elif isinstance(message, ApplicationFinished):
            self.finished_apps.add(message.app_id)
            self._clean_app_if_done(message.app_id)
        elif isinstance(message, DecommissionWorker):
            self.decommission()
        elif isinstance(message, LaunchDriver):
            self.launch_driver(message)
        elif isinstance(message, KillDriver):
            driver = self.drivers.get(message.driver_id)
            if driver is not None:
                log.info("asked to kill driver %s", message.driver_id)
                driver.kill()
        return None

    async def serve_block(self, m: FetchShuffleBlock) -> Message:
        """A segment of a map output written on this host; it outlives its executor."""
        if not _APP_ID.fullmatch(m.app_id) or not shuffle.FILE_NAME.fullmatch(m.file):
            return Failure(message=f"bad block request {m.app_id}/{m.file}")
        for local in self.opts.local_dirs:
            directory = local / m.app_id
            if (directory / f"{m.file}.index").exists():
                try:
                    data = await asyncio.to_thread(
                        shuffle.read_segment, directory, m.file, m.reduce_id
                    )
                except (OSError, ValueError, IndexError) as exc:
                    return Failure(message=f"cannot read {m.file}: {exc}")
                return ShuffleBlock(data=data)
        return Failure(message=f"no shuffle output {m.file} of {m.app_id} on this worker")

    def _from_leader(self, conn: rpc.Connection, message: Any) -> bool:
        if conn is not self.master or not self._link.current(message):
            log.warning("ignoring %s from a master that is not our leader", type(message).__name__)
            return False
        return True

    def decommission(self) -> None:
        if self.decommissioned:
            return
        self.decommissioned = True
        log.info("decommissioning: no new executors will start here")
        systemd.status("DECOMMISSIONED")
        if self.master is not None:
            self.master.send(WorkerDecommissioning(worker_id=self.id))

    # ------------------------------------------------------------------ executors

    def launch_executor(self, m: LaunchExecutor) -> None:
        key = f"{m.app_id}/{m.exec_id}"
        if self.decommissioned:
            self._queue_update(
                m.app_id, m.exec_id, ExecutorState.FAILED, "worker is decommissioned", None
            )
            return
        if key in self.executors:
            return  # a duplicate order after a reconnect: it already runs
        log.info("launching executor %s with %d cores, %d MiB", key, m.cores, m.memory_mb)
        runner = ExecutorRunner(
            app_id=m.app_id,
            exec_id=m.exec_id,
            app=m.app,
            cores=m.cores,
            memory_mb=m.memory_mb,
            work_dir=self.opts.work_dir,
            worker_address=self.address,
            host=self.host,
            env=self._executor_env(m.app_id),
            security=cluster_security(self.conf),
            on_state=self._executor_state,
        )
        self.executors[key] = runner
        runner.start()

    def launch_driver(self, m: LaunchDriver) -> None:
        if m.driver_id in self.drivers:
            return  # a repeated order after a reconnect
        if self.decommissioned:
            self._queue(
                DriverStateChanged(
                    driver_id=m.driver_id,
                    state=DriverState.ERROR,
                    message="worker is decommissioned",
                )
            )
            return
        log.info("launching driver %s (%s)", m.driver_id, m.driver.name)
        runner = DriverRunner(
            driver_id=m.driver_id,
            desc=m.driver,
            work_dir=self.opts.work_dir,
            env=daemon.child_env(),
            security=cluster_security(self.conf),
            on_final=self._driver_final,
        )
        self.drivers[m.driver_id] = runner
        runner.start()

    def _driver_final(self, runner: DriverRunner, state: DriverState, message: str) -> None:
        self.drivers.pop(runner.driver_id, None)
        self.finished_drivers.append(runner)
        self._queue(DriverStateChanged(driver_id=runner.driver_id, state=state, message=message))

    def _executor_env(self, app_id: str) -> dict[str, str]:
        dirs = [d / app_id for d in self.opts.local_dirs]
        for d in dirs:
            d.mkdir(parents=True, exist_ok=True, mode=0o700)
        env = daemon.child_env()
        env.update(
            {
                "MINISPARK_EXECUTOR_DIRS": os.pathsep.join(str(d) for d in dirs),
                "PYTHONUNBUFFERED": "1",
            }
        )
        return env

    def _executor_state(
        self, runner: ExecutorRunner, state: ExecutorState, message: str, code: int | None
    ) -> None:
        if state.finished:
            self.executors.pop(runner.full_id, None)
            self.finished.append(runner)
            self._clean_app_if_done(runner.app_id)
        self._queue_update(runner.app_id, runner.exec_id, state, message, code)

    def _queue_update(
        self, app_id: str, exec_id: int, state: ExecutorState, message: str, code: int | None
    ) -> None:
        self._queue(
            ExecutorStateChanged(
                app_id=app_id, exec_id=exec_id, state=state, message=message, exit_status=code
            )
        )

    def _queue(self, update: ExecutorStateChanged | DriverStateChanged) -> None:
        self._updates.append(update)
        self._flush_soon()

    def _flush_soon(self) -> None:
        if not self._flushing and self._updates:
            self._flushing = True
            self._flusher = asyncio.ensure_future(self._flush_updates())

    async def _flush_updates(self) -> None:
        """Deliver updates in order; what the master did not acknowledge waits for the next one."""
        try:
            while self._updates and self.master is not None:
                try:
                    await self.master.ask(self._updates[0], timeout=self.timeout_s)
                except (rpc.ConnectionClosed, TimeoutError, rpc.RpcError) as exc:
                    log.info("state update not acknowledged (%s); will resend", exc)
                    return
                self._updates.popleft()
        finally:
            self._flushing = False

    # -------------------------------------------------------------------- clean-up

    def _clean_app_if_done(self, app_id: str) -> None:
        """Local (shuffle) dirs go once the app is over and none of its executors run here."""
        if app_id not in self.finished_apps or any(
            r.app_id == app_id for r in self.executors.values()
        ):
            return
        for local in self.opts.local_dirs:
            shutil.rmtree(local / app_id, ignore_errors=True)

    def clean_work_dir(self) -> None:
        """Remove app dirs older than spark.worker.cleanup.appDataTtl with nothing running."""
        running = {r.app_id for r in self.executors.values()}
        cutoff = time.time() - self.settings.app_data_ttl_s
        for entry in self.opts.work_dir.iterdir():
            # Only what we created per app or driver: the default local dirs live here too.
            if not entry.name.startswith(("app-", "driver-")) or not entry.is_dir():
                continue
            if entry.name not in running and entry.stat().st_mtime < cutoff:
                log.info("removing old application dir %s", entry)
                shutil.rmtree(entry, ignore_errors=True)


def registration_retries(settings: WorkerSettings) -> Retries:
    """Spark's two-phase backoff, shortened: seconds, not minutes, between the first tries."""
    return Retries(
        attempts=settings.registration_attempts, quick=settings.quick_registrations, jitter=0.5
    )

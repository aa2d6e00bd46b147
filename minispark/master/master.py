"""The master: registry of workers and applications, executor placement, liveness.

All state changes happen in handlers on the daemon's one event loop, one message at a time,
so nothing here takes a lock (Spark's RpcEndpoint model). Placement itself is the pure
function in ``scheduling.py``; this module only turns its grants into messages.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .. import daemon, systemd
from ..conf import Conf
from ..protocol import (
    Ack,
    ApplicationFinished,
    ApplicationRemoved,
    AppState,
    DriverStateChanged,
    ExecutorAdded,
    ExecutorDescription,
    ExecutorState,
    ExecutorStateChanged,
    ExecutorUpdated,
    Heartbeat,
    KillExecutor,
    LaunchExecutor,
    MasterInStandby,
    MasterStatus,
    Message,
    ReconnectWorker,
    RegisterApplication,
    RegisteredApplication,
    RegisteredWorker,
    RegisterWorker,
    RegisterWorkerFailed,
    RequestDriverStatus,
    RequestKillDriver,
    RequestSubmitDriver,
    ToMaster,
    UnregisterApplication,
    WorkerDecommissioning,
    WorkerLatestState,
    WorkerRemoved,
    WorkerState,
)
from ..rpc import Connection, ConnectionClosed, Server
from ..security import security_from_conf
from . import scheduling
from .drivers import Drivers
from .model import UNLIMITED_CORES, AppInfo, ExecutorInfo, WorkerInfo, spark_id
from .recovery import Recovery

log = logging.getLogger("minispark.master")


@dataclass(frozen=True)
class MasterSettings:
    """The settings the master reads once at start (validated by ``Conf.validate``)."""

    worker_timeout_s: float
    dead_worker_persistence: int
    spread_out: bool
    default_cores: int
    max_executor_retries: int
    retained_apps: int
    retained_drivers: int
    max_frame_bytes: int

    @classmethod
    def from_conf(cls, conf: Conf) -> MasterSettings:
        # Unset means unlimited, which the scheduler spells UNLIMITED_CORES.
        default_cores = conf.get_int_or_none("spark.deploy.defaultCores")
        return cls(
            worker_timeout_s=conf.get_duration_s("spark.worker.timeout"),
            dead_worker_persistence=conf.get_int("spark.dead.worker.persistence"),
            spread_out=conf.get_bool("spark.deploy.spreadOut"),
            default_cores=UNLIMITED_CORES if default_cores is None else default_cores,
            max_executor_retries=conf.get_int("spark.deploy.maxExecutorRetries"),
            retained_apps=conf.get_int("spark.deploy.retainedApplications"),
            retained_drivers=conf.get_int("spark.deploy.retainedDrivers"),
            max_frame_bytes=conf.get_bytes("minispark.rpc.maxFrameSize"),
        )


class Master:
    def __init__(self, conf: Conf, *, host: str, port: int, webui_port: int) -> None:
        self.conf = conf
        self.host = host
        self.port = port
        self.webui_port = webui_port
        self.settings = MasterSettings.from_conf(conf)
        self.status = MasterStatus.STANDBY
        self.epoch = 0
        self.start_ms = int(time.time() * 1000)
        self.workers: dict[str, WorkerInfo] = {}
        self.apps: dict[str, AppInfo] = {}
        self.completed_apps: collections.deque[AppInfo] = collections.deque()
        self._next_app_number = 0
        self.security = security_from_conf(conf)
        self._server = Server(
            name="master",
            inbound=ToMaster,
            handler=self.handle,
            security=self.security,
            on_close=self._connection_closed,
            max_frame=self.settings.max_frame_bytes,
        )
        self._timers: list[asyncio.Task[None]] = []
        self.stopping = False
        self._web: Any = None
        self.recovery = Recovery(self, conf)
        self.drivers = Drivers(self, self.settings.retained_drivers)
        self.suspended_ = False  # ZooKeeper connection suspended: schedule nothing
        self._schedule_pending = False  # a placement pass is already queued on the loop
        self.exit_code = 0
        self._handlers: dict[type, Callable[[Connection, Any], Message | None]] = {
            RegisterWorker: self._on_register_worker,
            Heartbeat: self._on_heartbeat,
            ExecutorStateChanged: self._on_executor_state_changed,
            WorkerLatestState: self._on_worker_latest_state,
            WorkerDecommissioning: self._on_worker_decommissioning,
            RegisterApplication: self._on_register_application,
            UnregisterApplication: self._on_unregister_application,
            DriverStateChanged: self._on_driver_state_changed,
            RequestSubmitDriver: lambda c, m: self.drivers.submit(m.driver),
            RequestKillDriver: lambda c, m: self.drivers.kill(m.driver_id),
            RequestDriverStatus: lambda c, m: self.drivers.status(m.driver_id),
        }

    # ------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        return f"minispark://{self.host}:{self.port}"

    @property
    def webui_url(self) -> str:
        return f"http://{self.host}:{self.webui_port}"

    async def start(self) -> None:
        from .web import start_web  # the web layer imports this module

        self.port = await self._server.start(self.host, self.port)
        self._web, self.webui_port = await start_web(self, self.host, self.webui_port)
        check_every = self.settings.worker_timeout_s / 4
        self._timers.append(daemon.every(check_every, self.time_out_dead_workers))
        log.info("master listening on %s, web UI on %s", self.url, self.webui_url)
        systemd.ready(f"{self.status} at {self.url}")
        self.recovery.start(self)

    async def stop(self) -> None:
        # Links close as the server shuts down: that is not the workers and drivers going
        # away, and the next leader needs their records, so nothing is removed from here on.
        self.stopping = True
        await daemon.cancel(self._timers)
        await asyncio.get_running_loop().run_in_executor(None, self.recovery.stop)
        self._server.close()
        if self._web is not None:
            await self._web.cleanup()

    def become_leader(self) -> None:
        """Lead at once with nothing to recover (the unit tests' shortcut)."""
        self.epoch += 1
        self.set_status(MasterStatus.ALIVE)

    # ------------------------------------------------ election (leader.Candidate)

    def elected(self) -> None:
        log.info("elected leader")
        self._takeover = asyncio.ensure_future(self._take_over())

    async def _take_over(self) -> None:
        epoch, records = await self.recovery.take_over()
        self.epoch = epoch
        if self.recovery.begin(records):
            self.set_status(MasterStatus.RECOVERING)
            self.recovery.answered()  # e.g. everyone re-registered while we read
        else:
            self.set_status(MasterStatus.ALIVE)
            self.schedule_soon()

    def suspended(self) -> None:
        if self.status != MasterStatus.STANDBY and not self.suspended_:
            log.warning("lost the ZooKeeper connection: scheduling paused until it returns")
            self.suspended_ = True

    def reconnected(self) -> None:
        if self.suspended_:
            log.info("ZooKeeper connection is back: scheduling resumes")
            self.suspended_ = False
            self.schedule_soon()

    def session_lost(self) -> None:
        """Another master may lead by now: stop, and let the supervisor restart us as a
        standby (systemd's Restart=always), as Spark does on revoked leadership."""
        log.error("ZooKeeper session lost: this master stops so that it can rejoin as a standby")
        self.exit_code = 1
        signal.raise_signal(signal.SIGTERM)

    def note_app_number(self, app_id: str) -> None:
        """Recovered ids must not be handed out again."""
        tail = app_id.rsplit("-", 1)[-1]
        if tail.isdigit():
            self._next_app_number = max(self._next_app_number, int(tail))

    def set_status(self, status: MasterStatus) -> None:
        self.status = status
        log.info("master is %s (epoch %d)", status, self.epoch)
        systemd.status(f"{status} at {self.url}")

    # ------------------------------------------------------------------- dispatch

    def handle(self, conn: Connection, message: Any) -> Message | None:
        handler = self._handlers.get(type(message))
        if handler is None:  # replies to asks never reach here; anything else is a bug
            log.warning("master ignores %s from %r", type(message).__name__, conn)
            return None
        return handler(conn, message)

    def _connection_closed(self, conn: Connection) -> None:
        if self.stopping:
            return
        owner = conn.attachment
        if isinstance(owner, WorkerInfo) and owner.conn is conn and owner.state != WorkerState.DEAD:
            self.remove_worker(owner, f"{owner.address} got disassociated")
        elif isinstance(owner, AppInfo) and owner.conn is conn and not owner.finished:
            log.info("driver of %s disconnected", owner.id)
            self.remove_application(owner, AppState.FINISHED, "driver disconnected")

    # -------------------------------------------------------------------- workers

    def _on_register_worker(self, conn: Connection, m: RegisterWorker) -> Message:
        if self.status == MasterStatus.STANDBY:
            return MasterInStandby()
        known = self.workers.get(m.worker_id)
        if known is not None and known.state != WorkerState.DEAD:
            recovered = known.state == WorkerState.UNKNOWN
            if recovered:
                log.info("worker %s is back after the change of leader", m.worker_id)
            else:  # SPARK-23191: a network blip must not kill the worker; take the new link
                log.warning("worker %s registered again; using its new connection", m.worker_id)
            self._attach_worker(known, conn)
            self._adopt_all(known, m.executors)
            self.drivers.adopt(known, m.drivers)
            if recovered:
                self.recovery.answered()
            return self._registered(duplicate=not recovered)
        clash = self._worker_at(m.host, m.port)
        if clash is not None:
            if clash.state != WorkerState.UNKNOWN:
                return RegisterWorkerFailed(
                    message=f"Attempted to re-register worker at same address: {clash.address}"
                )
            self.remove_worker(clash, "Worker replaced by a new worker with same address")
        worker = WorkerInfo(
            id=m.worker_id,
            host=m.host,
            port=m.port,
            cores=m.cores,
            memory_mb=m.memory_mb,
            webui_url=m.webui_url,
            conn=None,
        )
        self._attach_worker(worker, conn)
        self.workers[worker.id] = worker
        self._adopt_all(worker, m.executors)
        self.drivers.adopt(worker, m.drivers)
        self.recovery.put_worker(worker)
        log.info(
            "registered worker %s at %s with %d cores, %d MiB",
            worker.id,
            worker.address,
            worker.cores,
            worker.memory_mb,
        )
        self.schedule_soon()
        return self._registered(duplicate=False)

    def _attach_worker(self, worker: WorkerInfo, conn: Connection) -> None:
        old = worker.conn
        worker.conn = conn
        worker.state = WorkerState.ALIVE
        worker.heard_from()
        conn.attachment = worker
        if old is not None and old is not conn:
            old.attachment = None
            old.close("superseded by a new registration")

    def _worker_at(self, host: str, port: int) -> WorkerInfo | None:
        for worker in list(self.workers.values()):
            if (worker.host, worker.port) != (host, port):
                continue
            if worker.state == WorkerState.DEAD:
                del self.workers[worker.id]  # Spark drops dead records at a reused address
                continue
            return worker
        return None

    def _registered(self, *, duplicate: bool) -> RegisteredWorker:
        return RegisteredWorker(
            master_url=self.url,
            master_webui_url=self.webui_url,
            duplicate=duplicate,
            epoch=self.epoch,
            heartbeat_s=self.settings.worker_timeout_s / 4,
        )

    def _on_heartbeat(self, conn: Connection, m: Heartbeat) -> None:
        worker = self.workers.get(m.worker_id)
        if worker is None:
            return  # never registered here: ignore, as Spark does
        if worker.state == WorkerState.DEAD:
            conn.send(ReconnectWorker(master_url=self.url, epoch=self.epoch))
            return
        worker.heard_from()

    def _on_worker_latest_state(self, conn: Connection, m: WorkerLatestState) -> None:
        """Adopt the executors of applications we know (after a change of leader they keep
        their ids and keep running); kill the others (SPARK-13604)."""
        worker = self.workers.get(m.worker_id)
        for desc in m.executors:
            app = self.apps.get(desc.app_id)
            if worker is not None and app is not None and not app.finished:
                self._adopt(app, worker, desc)
            elif self.status == MasterStatus.RECOVERING:
                continue  # its application may not have come back yet
            elif not self._knows_executor(m.worker_id, desc):
                log.info(
                    "telling %s to kill unknown executor %s/%d",
                    m.worker_id,
                    desc.app_id,
                    desc.exec_id,
                )
                conn.send(KillExecutor(epoch=self.epoch, app_id=desc.app_id, exec_id=desc.exec_id))

    def _adopt_all(self, worker: WorkerInfo, executors: list[ExecutorDescription]) -> None:
        for desc in executors:
            app = self.apps.get(desc.app_id)
            if app is not None and not app.finished:
                self._adopt(app, worker, desc)

    def _adopt(self, app: AppInfo, worker: WorkerInfo, desc: ExecutorDescription) -> None:
        if desc.exec_id in app.executors:
            return
        executor = ExecutorInfo(
            app.id, desc.exec_id, worker.id, desc.cores, desc.memory_mb, desc.state
        )
        if desc.state == ExecutorState.RUNNING:
            executor.running_since = time.monotonic()
        app.executors[desc.exec_id] = executor
        worker.executors[executor.full_id] = executor
        app.next_exec_id = max(app.next_exec_id, desc.exec_id + 1)
        if app.state == AppState.WAITING:
            app.state = AppState.RUNNING
        log.info("adopted executor %s on %s", executor.full_id, worker.id)

    def _knows_executor(self, worker_id: str, desc: ExecutorDescription) -> bool:
        app = self.apps.get(desc.app_id)
        info = app.executors.get(desc.exec_id) if app else None
        return info is not None and info.worker_id == worker_id

    def _on_worker_decommissioning(self, conn: Connection, m: WorkerDecommissioning) -> None:
        worker = self.workers.get(m.worker_id)
        if worker is not None:
            self.decommission_worker(worker)

    def decommission_worker(self, worker: WorkerInfo) -> None:
        """No new executors land on it; running ones finish their work undisturbed."""
        if worker.state == WorkerState.ALIVE:
            log.info("decommissioning worker %s", worker.id)
            worker.state = WorkerState.DECOMMISSIONED

    def time_out_dead_workers(self) -> None:
        now = time.monotonic()
        timeout = self.settings.worker_timeout_s
        cull_after = (self.settings.dead_worker_persistence + 1) * timeout
        for worker in list(self.workers.values()):
            silent = now - worker.last_heartbeat
            if worker.state in (WorkerState.DEAD, WorkerState.UNKNOWN):  # recovery decides
                if worker.state == WorkerState.DEAD and silent > cull_after:
                    del self.workers[worker.id]
                continue
            if silent > timeout:
                self.remove_worker(worker, f"Not receiving heartbeat for {timeout:g} seconds")

    def remove_worker(self, worker: WorkerInfo, reason: str) -> None:
        log.warning("removing worker %s: %s", worker.id, reason)
        worker.state = WorkerState.DEAD
        self.recovery.persist(self.recovery.engine.remove, f"worker_{worker.id}")
        if worker.conn is not None:
            worker.conn.attachment = None
            worker.conn.close(reason)
            worker.conn = None
        for executor in list(worker.executors.values()):
            self._lose_executor(executor, worker, reason)
        self.drivers.worker_lost(worker)
        for app in self.active_apps():
            self._tell_driver(
                app,
                WorkerRemoved(
                    epoch=self.epoch, worker_id=worker.id, host=worker.host, message=reason
                ),
            )
        self.schedule_soon()

    def _lose_executor(self, executor: ExecutorInfo, worker: WorkerInfo, reason: str) -> None:
        worker.executors.pop(executor.full_id, None)
        app = self.apps.get(executor.app_id)
        if app is None:
            return
        app.executors.pop(executor.exec_id, None)
        update = ExecutorUpdated(
            epoch=self.epoch,
            exec_id=executor.exec_id,
            state=ExecutorState.LOST,
            message=f"worker lost: {reason}",
            worker_host=worker.host,
        )
        self._tell_driver(app, update)

    # ----------------------------------------------------------------- applications

    def _on_register_application(self, conn: Connection, m: RegisterApplication) -> Message:
        if self.status == MasterStatus.STANDBY:
            return MasterInStandby()
        if isinstance(conn.attachment, AppInfo):  # a retried registration on the same link
            return self._registered_app(conn.attachment)
        if m.app_id and m.app_id in self.apps:
            return self._app_returns(self.apps[m.app_id], conn, m)
        if m.app_id:  # a leader that died before persisting it: take the app back as it is
            self.note_app_number(m.app_id)
        else:
            self._next_app_number += 1
        app = AppInfo(
            id=m.app_id or spark_id("app", self._next_app_number),
            desc=m.app,
            conn=conn,
            requested_cores=m.app.max_cores or self.settings.default_cores,
            next_exec_id=m.next_exec_id,
        )
        conn.attachment = app
        self.apps[app.id] = app
        self.recovery.put_app(app)
        log.info("registered application %s (%s) from %s", app.id, app.desc.name, app.desc.user)
        self.schedule_soon()
        return self._registered_app(app)

    def _app_returns(self, app: AppInfo, conn: Connection, m: RegisterApplication) -> Message:
        """An application re-registering with a new leader keeps its id and executors."""
        if app.conn is not None and app.conn is not conn:
            app.conn.attachment = None
        app.conn = conn
        conn.attachment = app
        # Executors the recovered workers did not report still hold their ids at the driver.
        app.next_exec_id = max(app.next_exec_id, m.next_exec_id)
        if app.state == AppState.UNKNOWN:
            app.state = AppState.RUNNING if app.executors else AppState.WAITING
            log.info("application %s is back after the change of leader", app.id)
            self.recovery.answered()
        return self._registered_app(app)

    def _registered_app(self, app: AppInfo) -> RegisteredApplication:
        return RegisteredApplication(app_id=app.id, master_url=self.url, epoch=self.epoch)

    def _on_unregister_application(self, conn: Connection, m: UnregisterApplication) -> Ack:
        app = self.apps.get(m.app_id)
        if app is not None and not app.finished:
            self.remove_application(app, AppState.FINISHED, "application finished")
        return Ack()

    def active_apps(self) -> list[AppInfo]:
        return [app for app in self.apps.values() if not app.finished]

    def kill_application(self, app_id: str) -> bool:
        app = self.apps.get(app_id)
        if app is None or app.finished:
            return False
        self.remove_application(app, AppState.KILLED, "Master killed the application")
        return True

    def remove_application(self, app: AppInfo, state: AppState, message: str) -> None:
        log.info("removing application %s: %s (%s)", app.id, state, message)
        app.state = state
        app.end_ms = int(time.time() * 1000)
        for executor in list(app.executors.values()):
            self._kill_executor(executor)
        app.executors.clear()
        if state != AppState.FINISHED:
            self._tell_driver(
                app, ApplicationRemoved(epoch=self.epoch, state=state, message=message)
            )
        if app.conn is not None:
            app.conn.attachment = None
        del self.apps[app.id]
        self.recovery.persist(self.recovery.engine.remove, f"app_{app.id}")
        self.completed_apps.append(app)
        while len(self.completed_apps) > self.settings.retained_apps:
            self.completed_apps.popleft()
        for worker in self.workers.values():
            self.tell_worker(worker, ApplicationFinished(epoch=self.epoch, app_id=app.id))
        self.schedule_soon()

    def _kill_executor(self, executor: ExecutorInfo) -> None:
        worker = self.workers.get(executor.worker_id)
        if worker is None:
            return
        worker.executors.pop(executor.full_id, None)
        kill = KillExecutor(epoch=self.epoch, app_id=executor.app_id, exec_id=executor.exec_id)
        self.tell_worker(worker, kill)

    # -------------------------------------------------------------------- executors

    def _on_driver_state_changed(self, conn: Connection, m: DriverStateChanged) -> Ack:
        self.drivers.state_changed(m)
        return Ack()

    def _on_executor_state_changed(self, conn: Connection, m: ExecutorStateChanged) -> Ack:
        app = self.apps.get(m.app_id)
        executor = app.executors.get(m.exec_id) if app else None
        if app is None or executor is None:
            log.info("status %s of unknown executor %s/%d ignored", m.state, m.app_id, m.exec_id)
            return Ack()
        executor.state = m.state
        if m.state == ExecutorState.RUNNING:
            executor.running_since = time.monotonic()
        self._tell_driver(
            app,
            ExecutorUpdated(
                epoch=self.epoch,
                exec_id=m.exec_id,
                state=m.state,
                message=m.message,
                exit_status=m.exit_status,
            ),
        )
        if m.state.finished:
            self._executor_finished(app, executor, m)
        self.schedule_soon()
        return Ack()

    def _executor_finished(
        self, app: AppInfo, executor: ExecutorInfo, m: ExecutorStateChanged
    ) -> None:
        log.info("executor %s finished: %s %s", executor.full_id, m.state, m.message)
        app.executors.pop(executor.exec_id, None)
        worker = self.workers.get(executor.worker_id)
        if worker is not None:
            worker.executors.pop(executor.full_id, None)
        if m.state == ExecutorState.KILLED or not m.exit_status:
            return
        app.retry_count = 1 if self._ran_healthily(executor) else app.retry_count + 1
        limit = self.settings.max_executor_retries
        running = any(e.state == ExecutorState.RUNNING for e in app.executors.values())
        if 0 <= limit <= app.retry_count and not running:
            message = (
                f"Application {app.id} with no running executors failed "
                f"{app.retry_count} times; removing it"
            )
            log.error(message)
            self.remove_application(app, AppState.FAILED, message)

    def _ran_healthily(self, executor: ExecutorInfo) -> bool:
        """Spark resets the failure count at RUNNING, which a worker reports as soon as the
        process starts, so an executor killed over and over never failed the app. Here a
        failure ends the streak only if the executor had run for a heartbeat timeout."""
        since = executor.running_since
        return since is not None and time.monotonic() - since >= self.settings.worker_timeout_s

    # ------------------------------------------------------------------- scheduling

    def schedule_soon(self) -> None:
        """Coalesce bursts of changes (e.g. many executor updates) into one placement pass."""
        if not self._schedule_pending:
            self._schedule_pending = True
            asyncio.get_running_loop().call_soon(self._run_schedule)

    def _run_schedule(self) -> None:
        self._schedule_pending = False
        self.schedule()

    def schedule(self) -> None:
        if self.status != MasterStatus.ALIVE or self.suspended_:
            return
        alive = [w for w in self.workers.values() if w.state == WorkerState.ALIVE and w.conn]
        self.drivers.place(alive)  # drivers take strict precedence over executors
        apps = [app for app in self.active_apps() if app.cores_left > 0]
        if not apps or not alive:
            return
        slots = [scheduling.WorkerSlot(w.id, w.cores_free, w.memory_free) for w in alive]
        demands = [self._demand(app) for app in apps]
        grants = scheduling.place_executors(demands, slots, self.settings.spread_out)
        for grant in grants:
            self._launch_executor(self.apps[grant.app_id], self.workers[grant.worker_id], grant)
        for app, demand in zip(apps, demands, strict=True):
            if not app.executors and not scheduling.fits_anywhere_executor(demand, slots):
                log.warning("App %s requires more resource than any of Workers could have.", app.id)

    def _demand(self, app: AppInfo) -> scheduling.AppDemand:
        per_worker: dict[str, int] = collections.Counter(
            e.worker_id for e in app.executors.values()
        )
        return scheduling.AppDemand(
            id=app.id,
            cores_left=app.cores_left,
            cores_per_executor=app.desc.cores_per_executor,
            memory_per_executor_mb=app.desc.memory_per_executor_mb,
            executor_limit=UNLIMITED_CORES,
            executors=len(app.executors),
            executors_on=per_worker,
        )

    def _launch_executor(
        self, app: AppInfo, worker: WorkerInfo, grant: scheduling.ExecutorGrant
    ) -> None:
        executor = ExecutorInfo(app.id, app.next_exec_id, worker.id, grant.cores, grant.memory_mb)
        app.next_exec_id += 1
        app.executors[executor.exec_id] = executor
        worker.executors[executor.full_id] = executor
        app.state = AppState.RUNNING
        log.info(
            "launching executor %s on worker %s (%d cores)",
            executor.full_id,
            worker.id,
            grant.cores,
        )
        launch = LaunchExecutor(
            epoch=self.epoch,
            app_id=app.id,
            exec_id=executor.exec_id,
            app=app.desc,
            cores=grant.cores,
            memory_mb=grant.memory_mb,
        )
        self.tell_worker(worker, launch)
        added = ExecutorAdded(
            epoch=self.epoch,
            exec_id=executor.exec_id,
            worker_id=worker.id,
            host=worker.host,
            cores=grant.cores,
            memory_mb=grant.memory_mb,
        )
        self._tell_driver(app, added)

    # ---------------------------------------------------------------------- sending

    def tell_worker(self, worker: WorkerInfo, message: Message) -> None:
        _send(worker.conn, message)

    def _tell_driver(self, app: AppInfo, message: Message) -> None:
        _send(app.conn, message)


def _send(conn: Connection | None, message: Message) -> None:
    """Fire and forget; a closed link is handled by its close callback, not here."""
    if conn is not None:
        with contextlib.suppress(ConnectionClosed):
            conn.send(message)

"""The master: registry of workers and applications, executor placement, liveness.

All state changes happen in handlers on the daemon's one event loop, one message at a time,
so nothing here takes a lock (Spark's RpcEndpoint model). Placement is the pure function in
``scheduling.py``; ``drivers.py``, ``executors.py`` and ``recovery.py`` decide what a message
changes and return it as effects (``effects.py``). This module owns the tables, routes every
message of its link in ``handle`` and carries the effects out in ``apply``.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import logging
import signal
import time
from collections.abc import Callable, Coroutine, Iterable
from typing import Any, TypeVar

from .. import daemon, systemd
from ..conf import Conf
from ..protocol import (
    Ack,
    ApplicationFinished,
    ApplicationRemoved,
    AppState,
    DriverDescription,
    DriverStateChanged,
    DriverStatusResponse,
    ExecutorStateChanged,
    Heartbeat,
    KillDriverResponse,
    MasterChanged,
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
    SubmitDriverResponse,
    ToMaster,
    UnregisterApplication,
    WorkerDecommissioning,
    WorkerLatestState,
    WorkerRemoved,
    WorkerState,
)
from ..rpc import Connection, ConnectionClosed, Server
from ..security import security_from_conf
from . import executors
from .drivers import Drivers, refusal
from .effects import (
    AddApp,
    AddDriver,
    AddWorker,
    Announce,
    CompleteAfter,
    Effect,
    FinishDriverRecovery,
    Forget,
    Persist,
    RemoveApp,
    RemoveWorker,
    ScheduleSoon,
    SetStatus,
    TellDriver,
    TellWorker,
)
from .model import AppInfo, WorkerInfo, spark_id
from .persistence import app_record, worker_record
from .recovery import Recovery, announce
from .settings import MasterSettings
from .view import MasterActions, MasterView
from .web import start_web

log = logging.getLogger("minispark.master")
Reply = TypeVar("Reply")


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
        self.recovery = Recovery(conf)
        self.drivers = Drivers(self.settings.retained_drivers)
        self.suspended_ = False  # ZooKeeper connection suspended: schedule nothing
        self._schedule_pending = False  # a placement pass is already queued on the loop
        self._recovery_timer: asyncio.TimerHandle | None = None
        self._background: set[asyncio.Task[None]] = set()
        self.exit_code = 0

    # ------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        return f"minispark://{self.host}:{self.port}"

    @property
    def webui_url(self) -> str:
        scheme = "https" if self.security.web_ssl else "http"  # workers' pages link here
        return f"{scheme}://{self.host}:{self.webui_port}"

    async def start(self) -> None:
        self.port = await self._server.start(self.host, self.port)
        self._web, self.webui_port = await start_web(
            self._web_actions(), self.host, self.webui_port, self.security.web_ssl
        )
        check_every = self.settings.worker_timeout_s / 4
        self._timers.append(daemon.every(check_every, self.time_out_dead_workers))
        log.info("master listening on %s, web UI on %s", self.url, self.webui_url)
        systemd.ready(f"{self.status} at {self.url}")
        self.recovery.start(self, self.url)

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
        self.epoch, records = await self.recovery.store.take_over()
        news = MasterChanged(master_url=self.url, master_webui_url=self.webui_url, epoch=self.epoch)
        recovering = self.recovery.begin(records, news, self.settings.default_cores)
        if recovering:
            self.apply(recovering)
            self._check_recovery()  # e.g. everyone re-registered while we read
        else:
            self.set_status(MasterStatus.ALIVE)
            self.schedule_soon()

    def _check_recovery(self, *, timed_out: bool = False) -> None:
        """Someone came back (or the timeout passed): recovery may be complete."""
        decide = self.recovery.complete if timed_out else self.recovery.answered
        effects = decide(self.status, self.workers.values(), self.apps.values())
        if effects and self._recovery_timer is not None:
            self._recovery_timer.cancel()
        self.apply(effects)

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
        """Every message of the ToMaster link, and only here."""
        match message:
            case RegisterWorker():
                return self._on_register_worker(conn, message)
            case Heartbeat():
                self._on_heartbeat(conn, message)
            case ExecutorStateChanged():
                return self._on_executor_state_changed(message)
            case WorkerLatestState():
                self._on_worker_latest_state(conn, message)
            case WorkerDecommissioning():
                self.decommission_worker(message.worker_id)
            case RegisterApplication():
                return self._on_register_application(conn, message)
            case UnregisterApplication():
                return self._on_unregister_application(message)
            case DriverStateChanged():
                self.apply(self.drivers.state_changed(message, self.workers))
                return Ack()
            case RequestSubmitDriver():
                return self.submit_driver(message.driver)
            case RequestKillDriver():
                return self.kill_driver(message.driver_id)
            case RequestDriverStatus():
                return self.driver_status(message.driver_id)
            case _:  # replies to asks never reach here; anything else is a bug
                log.warning("master ignores %s from %r", type(message).__name__, conn)
        return None

    def apply(self, effects: Iterable[Effect]) -> None:
        """Carry out, in order, what a piece decided (effects.py)."""
        for effect in effects:
            match effect:
                case TellWorker(worker_id, message) if worker_id in self.workers:
                    self.tell_worker(self.workers[worker_id], message)
                case TellDriver(app_id, message) if app_id in self.apps:
                    self._tell_driver(self.apps[app_id], message)
                case Persist(record):
                    self.recovery.store.put(record)
                case Forget(key):
                    self.recovery.store.remove(key)
                case ScheduleSoon():
                    self.schedule_soon()
                case AddWorker(worker):
                    self.workers[worker.id] = worker
                case AddApp(app):
                    self.apps[app.id] = app
                    self.note_app_number(app.id)
                case AddDriver(record):
                    self.drivers.recovered(record)
                case Announce(host, port, news, pin):
                    self._spawn(announce(host, port, news, self.security, pin))
                case CompleteAfter(seconds):
                    timeout = functools.partial(self._check_recovery, timed_out=True)
                    self._recovery_timer = asyncio.get_running_loop().call_later(seconds, timeout)
                case SetStatus(status):
                    self.set_status(status)
                case RemoveWorker(worker_id, reason) if worker_id in self.workers:
                    self.remove_worker(self.workers[worker_id], reason)
                case RemoveApp(app_id, state, reason) if app_id in self.apps:
                    self.remove_application(self.apps[app_id], state, reason)
                case FinishDriverRecovery():
                    self.apply(self.drivers.finish_recovery(self.workers))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._background.add(task)  # held, or the loop may drop it half done
        task.add_done_callback(self._background.discard)

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
            self._adopt_all(known, m)
            if recovered:
                self._check_recovery()
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
        self._adopt_all(worker, m)
        self.recovery.store.put(worker_record(worker))
        log.info(
            "registered worker %s at %s with %d cores, %d MiB",
            worker.id,
            worker.address,
            worker.cores,
            worker.memory_mb,
        )
        self.schedule_soon()
        return self._registered(duplicate=False)

    def _adopt_all(self, worker: WorkerInfo, m: RegisterWorker) -> None:
        """A worker registering reports what it runs: ours from before a change of leader."""
        for desc in m.executors:
            executors.adopt(self.apps, worker, desc)
        self.drivers.adopt(worker, m.drivers)

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
        worker = self.workers.get(m.worker_id)
        recovering = self.status == MasterStatus.RECOVERING
        for kill in executors.reconcile(
            self.apps, worker, m.worker_id, m.executors, recovering=recovering, epoch=self.epoch
        ):
            conn.send(kill)

    def decommission_worker(self, worker_id: str) -> None:
        """No new executors land on it; running ones finish their work undisturbed."""
        worker = self.workers.get(worker_id)
        if worker is not None and worker.state == WorkerState.ALIVE:
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
        self.recovery.store.remove(f"worker_{worker.id}")
        if worker.conn is not None:
            worker.conn.attachment = None
            worker.conn.close(reason)
            worker.conn = None
        self.apply(executors.lost_with(worker, self.apps, reason, self.epoch))
        self.apply(self.drivers.worker_lost(worker, self.workers))
        gone = WorkerRemoved(
            epoch=self.epoch, worker_id=worker.id, host=worker.host, message=reason
        )
        for app in self.active_apps():
            self._tell_driver(app, gone)
        self.schedule_soon()

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
            ui_url=m.ui_url,
        )
        conn.attachment = app
        self.apps[app.id] = app
        self.recovery.store.put(app_record(app))
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
        app.ui_url = m.ui_url or app.ui_url  # a recovered record does not hold it
        if app.state == AppState.UNKNOWN:
            app.state = AppState.RUNNING if app.executors else AppState.WAITING
            log.info("application %s is back after the change of leader", app.id)
            self._check_recovery()
        return self._registered_app(app)

    def _registered_app(self, app: AppInfo) -> RegisteredApplication:
        return RegisteredApplication(app_id=app.id, master_url=self.url, epoch=self.epoch)

    def _on_unregister_application(self, m: UnregisterApplication) -> Ack:
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
        self.apply(executors.kill_all(app, self.workers, self.epoch))
        if state != AppState.FINISHED:
            removed = ApplicationRemoved(epoch=self.epoch, state=state, message=message)
            self._tell_driver(app, removed)
        if app.conn is not None:
            app.conn.attachment = None
        del self.apps[app.id]
        self.recovery.store.remove(f"app_{app.id}")
        self.completed_apps.append(app)
        while len(self.completed_apps) > self.settings.retained_apps:
            self.completed_apps.popleft()
        for worker in self.workers.values():
            self.tell_worker(worker, ApplicationFinished(epoch=self.epoch, app_id=app.id))
        self.schedule_soon()

    # -------------------------------------------------------------------- executors

    def _on_executor_state_changed(self, m: ExecutorStateChanged) -> Ack:
        self.apply(executors.state_changed(m, self.apps, self.workers, self.epoch, self.settings))
        self.schedule_soon()
        return Ack()

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
        self.apply(self.drivers.place(alive, self.epoch))  # drivers go before executors
        spread_out = self.settings.spread_out
        self.apply(executors.launches(self.active_apps(), alive, spread_out, self.epoch))

    # ------------------------------------------------ cluster-mode drivers, web port

    def _refusal(self) -> str | None:
        return refusal(self.url, self.status)

    def submit_driver(self, desc: DriverDescription) -> SubmitDriverResponse:
        return _decided(self.apply, self.drivers.submit(desc, self._refusal(), self.workers))

    def kill_driver(self, driver_id: str) -> KillDriverResponse:
        outcome = self.drivers.kill(driver_id, self._refusal(), self.workers, self.epoch)
        return _decided(self.apply, outcome)

    def driver_status(self, driver_id: str) -> DriverStatusResponse:
        return self.drivers.status(driver_id, self._refusal(), self.workers, self.epoch)

    def view(self) -> MasterView:
        return MasterView(
            url=self.url,
            status=self.status,
            epoch=self.epoch,
            start_ms=self.start_ms,
            workers=list(self.workers.values()),
            active_apps=self.active_apps(),
            completed_apps=list(self.completed_apps),
            active_drivers=list(self.drivers.active.values()),
            completed_drivers=list(self.drivers.completed),
        )

    def _web_actions(self) -> MasterActions:
        return MasterActions(
            conf=self.conf,
            view=self.view,
            kill_application=self.kill_application,
            decommission_worker=self.decommission_worker,
            submit_driver=self.submit_driver,
            kill_driver=self.kill_driver,
            driver_status=self.driver_status,
        )

    # ---------------------------------------------------------------------- sending

    def tell_worker(self, worker: WorkerInfo, message: Message) -> None:
        _send(worker.conn, message)

    def _tell_driver(self, app: AppInfo, message: Message) -> None:
        _send(app.conn, message)


def _decided(apply: Callable[[list[Effect]], None], outcome: tuple[Reply, list[Effect]]) -> Reply:
    """The reply to a request, once the effects deciding it had are carried out."""
    reply, effects = outcome
    apply(effects)
    return reply


def _send(conn: Connection | None, message: Message) -> None:
    """Fire and forget; a closed link is handled by its close callback, not here."""
    if conn is not None:
        with contextlib.suppress(ConnectionClosed):
            conn.send(message)

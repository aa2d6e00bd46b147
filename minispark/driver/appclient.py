"""The driver's link to the cluster: registers the application and tracks its executors.

It runs on the driver's background event loop. It asks every master in the URL at once
(``masterlink``); only the leader answers ``RegisteredApplication`` (standbys say
``MasterInStandby``), and the others' links are closed. Executors that the master places
connect back to this driver's own RPC server and register there, so tasks never pass through
the master.
"""

from __future__ import annotations

import asyncio
import getpass
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .. import rpc
from ..appstatus import events as ev
from ..masterlink import Endpoint, MasterLink, NoLeader, Retries
from ..protocol import (
    ApplicationDescription,
    ApplicationRemoved,
    ExecutorAdded,
    ExecutorExiting,
    ExecutorState,
    ExecutorUpdated,
    Failure,
    FetchFile,
    FileData,
    MasterChanged,
    Message,
    RegisterApplication,
    RegisteredApplication,
    RegisteredExecutor,
    RegisterExecutor,
    StopExecutor,
    TaskFailed,
    TaskFinished,
    ToDriver,
    UnregisterApplication,
    WorkerRemoved,
)

log = logging.getLogger("minispark.appclient")

# A driver waits about half a minute for a leader, at one try a second.
REGISTRATION = Retries(attempts=30, short_s=1.0)


@dataclass
class ExecutorHandle:
    exec_id: int
    worker_id: str
    host: str
    cores: int
    state: ExecutorState = ExecutorState.LAUNCHING
    conn: rpc.Connection | None = None  # set once the executor registers with us
    pid: int = 0
    worker_url: str = ""
    worker_webui_url: str = ""  # where the worker serves this executor's logs
    announced: bool = False  # its ExecutorAdded event was posted

    @property
    def log_urls(self) -> dict[str, str]:
        """Spark's executor "Log Urls": the worker's log page for each stream."""
        if not self.worker_webui_url:
            return {}
        base = f"{self.worker_webui_url.rstrip('/')}/logPage/?appId={{app}}&executorId="
        return {kind: base + f"{self.exec_id}&logType={kind}" for kind in ("stdout", "stderr")}

    def send(self, message: Message) -> None:
        if self.conn is not None:
            self.conn.send(message)


class Listener(Protocol):
    """What the app client reports to the job scheduler (``scheduler.JobScheduler``)."""

    def offer(self) -> None: ...
    def task_finished(self, m: TaskFinished) -> None: ...
    def task_failed(self, m: TaskFailed) -> None: ...
    def executor_exiting(self, exec_id: int, m: ExecutorExiting) -> None: ...
    def executor_lost(self, exec_id: int, reason: str, *, blame_tasks: bool = False) -> None: ...
    def worker_lost(self, worker_url: str) -> None: ...
    def fail_all(self, reason: str) -> None: ...


@dataclass
class _NoListener:
    """Until the scheduler is attached nothing listens; events are dropped."""

    def offer(self) -> None:
        pass

    def task_finished(self, m: TaskFinished) -> None:
        pass

    def task_failed(self, m: TaskFailed) -> None:
        pass

    def executor_exiting(self, exec_id: int, m: ExecutorExiting) -> None:
        pass

    def executor_lost(self, exec_id: int, reason: str, *, blame_tasks: bool = False) -> None:
        pass

    def worker_lost(self, worker_url: str) -> None:
        pass

    def fail_all(self, reason: str) -> None:
        pass


@dataclass
class AppStatus:
    app_id: str = ""
    master_url: str = ""
    executors: dict[int, ExecutorHandle] = field(default_factory=dict)
    ended: str = ""  # why the master removed us, when it did
    # One past the highest executor id this application has seen, ended executors included.
    next_exec_id: int = 0

    def add_executor(self, handle: ExecutorHandle) -> None:
        self.executors[handle.exec_id] = handle
        self.next_exec_id = max(self.next_exec_id, handle.exec_id + 1)


class AppClient:
    def __init__(
        self,
        *,
        masters: list[tuple[str, int]],
        security: rpc.Security,
        host: str,
        name: str,
        memory_per_executor_mb: int,
        cores_per_executor: int | None,
        max_cores: int | None,
        conf: dict[str, str],
        on_change: Callable[[], None] = lambda: None,
        events: Callable[[dict[str, Any]], None] | None = None,
        on_registered: Callable[[str], None] = lambda app_id: None,
    ) -> None:
        self.masters = masters
        self.security = security
        self.host = host
        self.status = AppStatus()
        self.on_change = on_change
        self.events = events
        self.on_registered = on_registered  # once, with the app id: the application starts
        self.ui_url = ""  # the driver's application UI, told to the master
        self._desc_args: dict[str, Any] = dict(
            name=name,
            user=os.environ.get("USER") or getpass.getuser(),
            memory_per_executor_mb=memory_per_executor_mb,
            cores_per_executor=cores_per_executor,
            max_cores=max_cores,
            conf=conf,
        )
        self.server = rpc.Server(
            name="driver",
            inbound=ToDriver,
            handler=self.handle,
            security=security,
            on_close=self._executor_closed,
        )
        self.port = 0
        self.stopping = False
        self._link: MasterLink[RegisteredApplication] = MasterLink(
            masters,
            Endpoint(ToDriver, self.handle, security, role="driver"),
            subject="application",
            register=self._register,
            retries=REGISTRATION,
            log=log,
            on_leader=self._registered,
            on_lost=self._master_lost,
            on_give_up=lambda exc: log.error("could not re-register the application: %s", exc),
            # A wrong secret will not fix itself while the user waits: say so at once.
            fatal=(rpc.HandshakeError,),
        )
        self.listener: Listener = _NoListener()
        self.files: dict[str, Path] = {}  # served to executors by name (--py-files)
        self.worker_urls: dict[str, str] = {}  # worker id -> its RPC address, from executors

    @property
    def master(self) -> rpc.Connection | None:
        """The link to the leading master, while there is one."""
        return self._link.leader

    @property
    def driver_url(self) -> str:
        return f"{self.host}:{self.port}"

    async def start(self) -> None:
        self.port = await self.server.start(self.host, 0)
        self.desc = ApplicationDescription(driver_url=self.driver_url, **self._desc_args)
        try:
            await self._link.find()
        except NoLeader as exc:
            raise ConnectionError(
                f"no master accepted the application after {exc.attempts} attempts: check "
                "that a master is ALIVE at " + ",".join(f"{h}:{p}" for h, p in self.masters)
            ) from None

    async def _register(
        self, conn: rpc.Connection, master: tuple[str, int]
    ) -> RegisteredApplication | str:
        """Asked again after a change of leader, with the id and executor ids we hold."""
        request = RegisterApplication(
            app=self.desc,
            app_id=self.status.app_id,
            next_exec_id=self.status.next_exec_id,
            ui_url=self.ui_url,
        )
        reply = await conn.ask(request, timeout=10)
        return reply if isinstance(reply, RegisteredApplication) else "a standby"

    def _registered(self, conn: rpc.Connection, reply: RegisteredApplication) -> None:
        first = not self.status.app_id
        self.status.app_id = reply.app_id
        if first:
            self.on_registered(reply.app_id)
        self.status.master_url = reply.master_url
        log.info(
            "registered as %s with master %s (epoch %d)",
            reply.app_id,
            reply.master_url,
            reply.epoch,
        )

    def _master_lost(self) -> None:
        log.warning(
            "lost the connection to master %s; looking for the leader", self.status.master_url
        )

    async def stop(self) -> None:
        self.stopping = True
        self._link.settle()
        if self.master is not None and not self.master.is_closed and self.status.app_id:
            try:
                await self.master.ask(UnregisterApplication(app_id=self.status.app_id), timeout=5)
            except (rpc.ConnectionClosed, TimeoutError, rpc.RpcError) as exc:
                log.warning("could not unregister the application: %s", exc)
        for handle in self.status.executors.values():
            if handle.conn is not None and not handle.conn.is_closed:
                handle.conn.send(StopExecutor())
        self._link.close()
        self.server.close()

    # ------------------------------------------------------------------- messages

    def handle(self, conn: rpc.Connection, message: Any) -> Any:
        """Returns a reply, None, or an awaitable reply (file transfers read from disk)."""
        if isinstance(message, TaskFinished):
            self.listener.task_finished(message)
            return None
        if isinstance(message, TaskFailed):
            self.listener.task_failed(message)
            return None
        if isinstance(message, ExecutorExiting):
            if isinstance(conn.attachment, ExecutorHandle):
                self.listener.executor_exiting(conn.attachment.exec_id, message)
            return None
        if isinstance(message, RegisterExecutor):
            return self._executor_registered(conn, message)
        if isinstance(message, FetchFile):
            return self._serve_file(message)
        if isinstance(message, MasterChanged):
            self._link.announce(message)
            return None
        if not self._link.current(message):
            return None  # from a deposed leader
        if isinstance(message, ExecutorAdded):
            handle = ExecutorHandle(message.exec_id, message.worker_id, message.host, message.cores)
            handle.worker_webui_url = message.worker_webui_url
            self.status.add_executor(handle)
            log.info(
                "executor %d granted on %s (%d cores)",
                message.exec_id,
                message.worker_id,
                message.cores,
            )
        elif isinstance(message, ExecutorUpdated):
            self._executor_updated(message)
        elif isinstance(message, ApplicationRemoved):
            self.status.ended = f"{message.state}: {message.message}"
            self._link.settle()  # removed: a new leader must not take the application back
            log.error("master removed the application: %s", self.status.ended)
            self.listener.fail_all(
                f"the application was removed by the master: {self.status.ended}"
            )
        elif isinstance(message, WorkerRemoved):
            log.warning("worker %s lost: %s", message.worker_id, message.message)
            url = self.worker_urls.pop(message.worker_id, None)
            if url:
                self.listener.worker_lost(url)
        self.on_change()
        return None

    def _executor_registered(self, conn: rpc.Connection, m: RegisterExecutor) -> Message:
        handle = self.status.executors.get(m.exec_id)
        if handle is None:  # it registered before the master's ExecutorAdded reached us
            handle = ExecutorHandle(m.exec_id, "", m.host, m.cores)
            self.status.add_executor(handle)
        handle.conn = conn
        handle.pid = m.pid
        handle.worker_url = m.worker_url
        handle.state = ExecutorState.RUNNING
        if handle.worker_id:
            self.worker_urls[handle.worker_id] = m.worker_url
        conn.attachment = handle
        self._announce(handle)
        log.info("executor %d registered from %s (pid %d)", m.exec_id, m.host, m.pid)
        self.on_change()
        self.listener.offer()
        return RegisteredExecutor(app_id=self.status.app_id, files=sorted(self.files))

    async def _serve_file(self, m: FetchFile) -> Message:
        path = self.files.get(m.name)
        if path is None:
            return Failure(message=f"the driver has no file named {m.name!r}")
        return FileData(name=m.name, data=await asyncio.to_thread(path.read_bytes))

    def _executor_updated(self, m: ExecutorUpdated) -> None:
        handle = self.status.executors.get(m.exec_id)
        if handle is None:
            return
        handle.state = m.state
        if m.state.finished:
            log.info("executor %d %s %s", m.exec_id, m.state, m.message)
            del self.status.executors[m.exec_id]
            reason = f"{m.state}: {m.message}"
            self._removed(handle, reason)
            self.listener.executor_lost(m.exec_id, reason)

    def _executor_closed(self, conn: rpc.Connection) -> None:
        handle = conn.attachment
        if isinstance(handle, ExecutorHandle) and handle.conn is conn:
            handle.conn = None
            self.on_change()
            # Executors let go at the end say so; any other close is a loss.
            self._removed(
                handle, "the application stopped" if self.stopping else "its connection closed"
            )
            if not self.stopping:
                self.listener.executor_lost(handle.exec_id, "its connection closed")

    def _announce(self, handle: ExecutorHandle) -> None:
        """SparkListenerExecutorAdded, when the executor registers with us (as Spark's)."""
        if self.events is None or handle.announced:
            return
        handle.announced = True
        urls = {k: v.replace("{app}", self.status.app_id) for k, v in handle.log_urls.items()}
        self.events(
            ev.executor_added(
                time_ms=time.time_ns() // 1_000_000,
                exec_id=handle.exec_id,
                host=handle.host,
                cores=handle.cores,
                log_urls=urls,
            )
        )

    def _removed(self, handle: ExecutorHandle, reason: str) -> None:
        """SparkListenerExecutorRemoved, once, for an executor that was announced."""
        if self.events is None or not handle.announced:
            return
        handle.announced = False
        self.events(
            ev.executor_removed(
                time_ms=time.time_ns() // 1_000_000, exec_id=handle.exec_id, reason=reason
            )
        )

    def ready_executors(self) -> list[ExecutorHandle]:
        return [
            h for h in self.status.executors.values() if h.conn is not None and not h.conn.is_closed
        ]

"""The driver's link to the cluster: registers the application and tracks its executors.

It runs on the driver's background event loop. It asks every master in the URL at once;
only the leader answers ``RegisteredApplication`` (standbys say ``MasterInStandby``), and
the others' links are closed. Executors that the master places connect back to this
driver's own RPC server and register there, so tasks never pass through the master.
"""

from __future__ import annotations

import asyncio
import getpass
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .. import rpc
from ..protocol import (
    ApplicationDescription,
    ApplicationRemoved,
    ExecutorAdded,
    ExecutorState,
    ExecutorUpdated,
    Message,
    RegisterApplication,
    RegisteredApplication,
    RegisteredExecutor,
    RegisterExecutor,
    StopExecutor,
    ToDriver,
    UnregisterApplication,
    WorkerRemoved,
)

log = logging.getLogger("minispark.appclient")

REGISTRATION_ATTEMPTS = 30
REGISTRATION_INTERVAL_S = 1.0


@dataclass
class ExecutorHandle:
    exec_id: int
    worker_id: str
    host: str
    cores: int
    state: ExecutorState = ExecutorState.LAUNCHING
    conn: rpc.Connection | None = None  # set once the executor registers with us
    pid: int = 0


@dataclass
class AppStatus:
    app_id: str = ""
    master_url: str = ""
    epoch: int = 0
    executors: dict[int, ExecutorHandle] = field(default_factory=dict)
    ended: str = ""  # why the master removed us, when it did


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
    ) -> None:
        self.masters = masters
        self.security = security
        self.host = host
        self.status = AppStatus()
        self.on_change = on_change
        self._desc_args: dict[str, Any] = dict(
            name=name,
            user=os.environ.get("USER") or getpass.getuser(),
            memory_per_executor_mb=memory_per_executor_mb,
            cores_per_executor=cores_per_executor,
            max_cores=max_cores,
            conf=conf,
        )
        self.master: rpc.Connection | None = None
        self.server = rpc.Server(
            name="driver", inbound=ToDriver, handler=self.handle, security=security,
            on_close=self._executor_closed,
        )  # fmt: skip
        self.port = 0
        self.stopping = False

    @property
    def driver_url(self) -> str:
        return f"{self.host}:{self.port}"

    async def start(self) -> None:
        self.port = await self.server.start(self.host, 0)
        desc = ApplicationDescription(driver_url=self.driver_url, **self._desc_args)
        for attempt in range(1, REGISTRATION_ATTEMPTS + 1):
            await asyncio.gather(*(self._try_master(h, p, desc) for h, p in self.masters))
            if self.master is not None:
                return
            if attempt == 1:
                log.info("waiting for a master to accept the application...")
            await asyncio.sleep(REGISTRATION_INTERVAL_S)
        raise ConnectionError(
            "no master accepted the application after "
            f"{REGISTRATION_ATTEMPTS} attempts: check that a master is ALIVE at "
            + ",".join(f"{h}:{p}" for h, p in self.masters)
        )

    async def _try_master(self, host: str, port: int, desc: ApplicationDescription) -> None:
        try:
            conn = await rpc.connect(
                host, port, inbound=ToDriver, handler=self.handle, security=self.security,
                role="driver", on_close=self._master_closed,
            )  # fmt: skip
        except rpc.HandshakeError:
            raise
        except (OSError, TimeoutError) as exc:
            log.debug("cannot reach master %s:%d: %s", host, port, exc)
            return
        try:
            reply = await conn.ask(RegisterApplication(app=desc), timeout=10)
        except (rpc.ConnectionClosed, TimeoutError, rpc.RpcError):
            conn.close()
            return
        if isinstance(reply, RegisteredApplication) and self.master is None:
            self.master = conn
            self.status.app_id = reply.app_id
            self.status.master_url = reply.master_url
            self.status.epoch = reply.epoch
            log.info("registered as %s with master %s", reply.app_id, reply.master_url)
        else:
            conn.close()

    async def stop(self) -> None:
        self.stopping = True
        if self.master is not None and not self.master.is_closed and self.status.app_id:
            try:
                await self.master.ask(UnregisterApplication(app_id=self.status.app_id), timeout=5)
            except (rpc.ConnectionClosed, TimeoutError, rpc.RpcError) as exc:
                log.warning("could not unregister the application: %s", exc)
        for handle in self.status.executors.values():
            if handle.conn is not None and not handle.conn.is_closed:
                handle.conn.send(StopExecutor())
        if self.master is not None:
            self.master.close()
        self.server.close()

    # ------------------------------------------------------------------- messages

    def handle(self, conn: rpc.Connection, message: Any) -> Message | None:
        if isinstance(message, RegisterExecutor):
            return self._executor_registered(conn, message)
        if getattr(message, "epoch", self.status.epoch) < self.status.epoch:
            return None  # from a deposed leader
        if isinstance(message, ExecutorAdded):
            self.status.executors[message.exec_id] = ExecutorHandle(
                message.exec_id, message.worker_id, message.host, message.cores
            )
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
            log.error("master removed the application: %s", self.status.ended)
        elif isinstance(message, WorkerRemoved):
            log.warning("worker %s lost: %s", message.worker_id, message.message)
        self.on_change()
        return None

    def _executor_registered(self, conn: rpc.Connection, m: RegisterExecutor) -> Message:
        handle = self.status.executors.get(m.exec_id)
        if handle is None:  # it registered before the master's ExecutorAdded reached us
            handle = ExecutorHandle(m.exec_id, "", m.host, m.cores)
            self.status.executors[m.exec_id] = handle
        handle.conn = conn
        handle.pid = m.pid
        handle.state = ExecutorState.RUNNING
        conn.attachment = handle
        log.info("executor %d registered from %s (pid %d)", m.exec_id, m.host, m.pid)
        self.on_change()
        return RegisteredExecutor(app_id=self.status.app_id)

    def _executor_updated(self, m: ExecutorUpdated) -> None:
        handle = self.status.executors.get(m.exec_id)
        if handle is None:
            return
        handle.state = m.state
        if m.state.finished:
            log.info("executor %d %s %s", m.exec_id, m.state, m.message)
            del self.status.executors[m.exec_id]

    def _executor_closed(self, conn: rpc.Connection) -> None:
        handle = conn.attachment
        if isinstance(handle, ExecutorHandle) and handle.conn is conn:
            handle.conn = None
            self.on_change()

    def _master_closed(self, conn: rpc.Connection) -> None:
        if conn is self.master and not self.status.ended and not self.stopping:
            log.warning("lost the connection to master %s", self.status.master_url)

    def ready_executors(self) -> list[ExecutorHandle]:
        return [
            h for h in self.status.executors.values() if h.conn is not None and not h.conn.is_closed
        ]

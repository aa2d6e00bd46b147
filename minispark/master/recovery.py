"""How a master takes over: persistence and election wiring, and the recovery protocol.

Once elected, the master takes a new epoch, reads the persisted workers and applications and
marks them UNKNOWN, and tells each one (by connecting to its RPC address) that it now leads.
They re-register with their ids; workers report the executors they run, which the master
adopts with their ids intact, so running applications never notice. Recovery completes as
soon as every known worker and application has answered, or after
``spark.deploy.recoveryTimeout``; whoever stayed silent is dropped.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import rpc
from ..conf import Conf
from ..masterurl import parse_host_port
from ..protocol import AppState, MasterChanged, ToMaster, WorkerState
from .leader import Candidate, Monarchy, ZooKeeperElection
from .model import AppInfo, DriverInfo, WorkerInfo
from .persistence import (
    AppRecord,
    BlackHole,
    DriverRecord,
    FileSystemEngine,
    PersistenceEngine,
    Record,
    WorkerRecord,
    ZooKeeperEngine,
)

if TYPE_CHECKING:
    from .master import Master

log = logging.getLogger("minispark.master.recovery")


class Recovery:
    """The master's persistence and election, and what happens when it wins."""

    def __init__(self, master: Master, conf: Conf) -> None:
        self.master = master
        self.mode = conf.get_choice("spark.deploy.recoveryMode")
        self.conf = conf
        self.engine: PersistenceEngine = BlackHole()
        # One thread, so writes land in order (a worker's add before its remove) and the
        # event loop never waits on disk or ZooKeeper.
        self.pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="persist")
        self.agent: Monarchy | ZooKeeperElection | None = None
        self.started_at = 0.0
        self.timer: asyncio.TimerHandle | None = None
        self._announcements: set[asyncio.Task[None]] = set()

    # ----------------------------------------------------------------- wiring

    def start(self, candidate: Candidate) -> None:
        if self.mode == "ZOOKEEPER":
            self.agent = self._zookeeper(candidate)
        else:
            if self.mode == "FILESYSTEM":
                directory = self.conf.require("spark.deploy.recoveryDirectory")
                self.engine = FileSystemEngine(Path(directory))
            self.agent = Monarchy(candidate)
        self.agent.start()

    def _zookeeper(self, candidate: Candidate) -> ZooKeeperElection:
        from kazoo.client import KazooClient
        from kazoo.retry import KazooRetry

        url = self.conf.require("spark.deploy.zookeeper.url")
        root = self.conf.get_str("spark.deploy.zookeeper.dir").rstrip("/")
        session = self.conf.get_duration_s("minispark.zookeeper.sessionTimeout")
        client = KazooClient(
            hosts=url,
            timeout=session,
            connection_retry=KazooRetry(max_tries=-1, delay=0.2, max_delay=2.0),
            command_retry=KazooRetry(max_tries=3, delay=0.1, max_delay=1.0),
        )

        def connected() -> None:
            self.engine = ZooKeeperEngine(client, root)
            log.info("connected to ZooKeeper at %s; waiting in the election", url)

        return ZooKeeperElection(
            candidate,
            client=client,
            root=root,
            identifier=self.master.url,
            on_connected=connected,
        )

    def stop(self) -> None:
        if self.agent is not None:
            self.agent.stop()
        self.pool.shutdown(wait=True)

    def persist(self, action: Callable[[Any], None], arg: Any) -> None:
        """Queue a write; a failure is logged (the next leader re-learns from live clients)."""
        future = self.pool.submit(action, arg)
        future.add_done_callback(_log_failure)

    def put_worker(self, w: WorkerInfo) -> None:
        record = WorkerRecord(id=w.id, host=w.host, port=w.port, cores=w.cores,
                              memory_mb=w.memory_mb, webui_url=w.webui_url)  # fmt: skip
        self.persist(self.engine.put, record)

    def put_driver(self, driver: DriverInfo) -> None:
        record = DriverRecord(id=driver.id, desc=driver.desc, start_ms=driver.start_ms)
        self.persist(self.engine.put, record)

    def put_app(self, app: AppInfo) -> None:
        self.persist(self.engine.put, AppRecord(id=app.id, desc=app.desc, start_ms=app.start_ms))

    # ------------------------------------------------------------ take-over

    async def take_over(self) -> tuple[int, list[Record]]:
        loop = asyncio.get_running_loop()
        epoch = await loop.run_in_executor(self.pool, self.engine.next_epoch)
        records = await loop.run_in_executor(self.pool, self.engine.read_all)
        return epoch, records

    def begin(self, records: list[Record]) -> bool:
        """Load what the last leader knew; False when there is nothing to recover."""
        m = self.master
        for record in records:
            if isinstance(record, DriverRecord):
                m.drivers.recovered(record.id, record.desc, record.start_ms)
            elif isinstance(record, WorkerRecord):
                m.workers[record.id] = WorkerInfo(
                    id=record.id, host=record.host, port=record.port, cores=record.cores,
                    memory_mb=record.memory_mb, webui_url=record.webui_url, conn=None,
                    state=WorkerState.UNKNOWN,
                )  # fmt: skip
            else:
                m.apps[record.id] = AppInfo(
                    id=record.id, desc=record.desc, conn=None, start_ms=record.start_ms,
                    requested_cores=record.desc.max_cores or m.settings.default_cores,
                    state=AppState.UNKNOWN,
                )  # fmt: skip
                m.note_app_number(record.id)
        if not records:
            return False
        self.started_at = time.monotonic()
        log.info("recovering %d workers and %d applications", len(m.workers), len(m.apps))
        for worker in m.workers.values():
            self._announce(worker.host, worker.port)
        for app in m.apps.values():
            host, port = parse_host_port(app.desc.driver_url)
            self._announce(host, port)
        timeout = self.conf.get_duration_s("spark.deploy.recoveryTimeout")
        self.timer = asyncio.get_running_loop().call_later(timeout, self.complete)
        return True

    def _announce(self, host: str, port: int) -> None:
        task = asyncio.ensure_future(self._tell(host, port))
        self._announcements.add(task)
        task.add_done_callback(self._announcements.discard)

    async def _tell(self, host: str, port: int) -> None:
        m = self.master
        message = MasterChanged(master_url=m.url, master_webui_url=m.webui_url, epoch=m.epoch)
        try:
            conn = await rpc.connect(host, port, inbound=ToMaster, handler=lambda c, x: None,
                                     security=m.security, role="master", timeout=3.0)  # fmt: skip
        except (OSError, TimeoutError, rpc.HandshakeError) as exc:
            log.info(
                "could not tell %s:%d that we lead (%s); it may re-register itself", host, port, exc
            )
            return
        with contextlib.suppress(rpc.ConnectionClosed):
            conn.send(message)
            await conn.drain()
        await asyncio.sleep(0.5)  # let the frame leave before closing
        conn.close()

    def answered(self) -> None:
        """A worker or app came back: finish early when nobody is still UNKNOWN."""
        m = self.master
        unknown = [w for w in m.workers.values() if w.state == WorkerState.UNKNOWN]
        unknown_apps = [a for a in m.apps.values() if a.state == AppState.UNKNOWN]
        if not unknown and not unknown_apps:
            self.complete()

    def complete(self) -> None:
        from ..protocol import MasterStatus

        m = self.master
        if m.status != MasterStatus.RECOVERING:
            return  # already done (early completion and the timer both call this)
        if self.timer is not None:
            self.timer.cancel()
        m.set_status(MasterStatus.COMPLETING_RECOVERY)
        for worker in [w for w in m.workers.values() if w.state == WorkerState.UNKNOWN]:
            m.remove_worker(worker, "Not responding for recovery")
        for app in [a for a in m.apps.values() if a.state == AppState.UNKNOWN]:
            m.remove_application(app, AppState.FINISHED, "Not responding for recovery")
        m.drivers.finish_recovery()
        took = (time.monotonic() - self.started_at) * 1000
        m.set_status(MasterStatus.ALIVE)
        log.info("Recovery complete in %.0f ms - resuming operations!", took)
        m.schedule_soon()


def _log_failure(future: concurrent.futures.Future[None]) -> None:
    exc = future.exception()
    if exc is not None:
        log.error("could not persist master state: %s", exc)

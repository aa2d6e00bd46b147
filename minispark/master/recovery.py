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
import contextlib
import logging
import time
from collections.abc import Collection
from pathlib import Path

from .. import rpc
from ..appconf import DRIVER_CERT_KEY
from ..conf import Conf
from ..masterurl import parse_host_port
from ..protocol import AppState, MasterChanged, MasterStatus, ToMaster, WorkerState
from ..rpc import Security
from .effects import (
    AddApp,
    AddDriver,
    AddWorker,
    Announce,
    CompleteAfter,
    Effect,
    FinishDriverRecovery,
    RemoveApp,
    RemoveWorker,
    ScheduleSoon,
    SetStatus,
)
from .leader import Candidate, Monarchy, ZooKeeperElection
from .model import AppInfo, WorkerInfo
from .persistence import (
    BlackHole,
    DriverRecord,
    FileSystemEngine,
    Record,
    Store,
    WorkerRecord,
    ZooKeeperEngine,
)
from .zkauth import login_from, take_over

log = logging.getLogger("minispark.master.recovery")


class Recovery:
    """The master's persistence and election, and the decisions of a take-over.

    It holds no reference to the master: the take-over methods read the tables they are
    given and return the effects (``effects.py``) the master should carry out.
    """

    def __init__(self, conf: Conf) -> None:
        self.mode = conf.get_choice("spark.deploy.recoveryMode")
        self.conf = conf
        # Read now, so that a missing password file stops the master before it serves.
        self.login = login_from(conf) if self.mode == "ZOOKEEPER" else None
        self.url = ""  # this master's identity in the election, known once it serves
        self.store = Store(BlackHole())
        self.agent: Monarchy | ZooKeeperElection | None = None
        self.started_at = 0.0

    # ----------------------------------------------------------------- wiring

    def start(self, candidate: Candidate, url: str) -> None:
        self.url = url
        if self.mode == "ZOOKEEPER":
            self.agent = self._zookeeper(candidate)
        else:
            if self.mode == "FILESYSTEM":
                directory = self.conf.require("spark.deploy.recoveryDirectory")
                self.store.engine = FileSystemEngine(Path(directory))
            self.agent = Monarchy(candidate)
        self.agent.start()

    def _zookeeper(self, candidate: Candidate) -> ZooKeeperElection:
        from kazoo.client import KazooClient
        from kazoo.retry import KazooRetry

        url = self.conf.require("spark.deploy.zookeeper.url")
        root = self.conf.get_str("spark.deploy.zookeeper.dir").rstrip("/")
        session = self.conf.get_duration_s("minispark.zookeeper.sessionTimeout")
        login = self.login
        client = KazooClient(
            hosts=url,
            timeout=session,
            connection_retry=KazooRetry(max_tries=-1, delay=0.2, max_delay=2.0),
            command_retry=KazooRetry(max_tries=3, delay=0.1, max_delay=1.0),
            **(login.client_options() if login else {}),
        )

        def connected() -> None:
            if login is not None:
                # Before the election and the first write: an open tree left by a master
                # without SASL becomes ours, records and all.
                take_over(client, root, client.default_acl)
            self.store.engine = ZooKeeperEngine(client, root)
            log.info("connected to ZooKeeper at %s; waiting in the election", url)

        return ZooKeeperElection(
            candidate,
            client=client,
            root=root,
            identifier=self.url,
            on_connected=connected,
            refusal=login.refusal(url) if login else None,
        )

    def stop(self) -> None:
        if self.agent is not None:
            self.agent.stop()
        self.store.close()

    # ------------------------------------------------------------ take-over

    def begin(
        self, records: list[Record], announcement: MasterChanged, default_cores: int
    ) -> list[Effect]:
        """Restore what the last leader knew and tell everyone in it who leads now; no
        effects when there is nothing to recover."""
        if not records:
            return []
        self.started_at = time.monotonic()
        restored = [_restored(record, default_cores) for record in records]
        addresses = [_address_of(effect) for effect in restored]
        workers = sum(isinstance(e, AddWorker) for e in restored)
        apps = sum(isinstance(e, AddApp) for e in restored)
        log.info("recovering %d workers and %d applications", workers, apps)
        timeout = self.conf.get_duration_s("spark.deploy.recoveryTimeout")
        return [
            *restored,
            SetStatus(MasterStatus.RECOVERING),
            *(Announce(*address, announcement, pin) for address, pin in filter(None, addresses)),
            CompleteAfter(timeout),
        ]

    def answered(
        self, status: MasterStatus, workers: Collection[WorkerInfo], apps: Collection[AppInfo]
    ) -> list[Effect]:
        """A worker or app came back: finish early when nobody is still UNKNOWN."""
        if any(w.state == WorkerState.UNKNOWN for w in workers):
            return []
        if any(a.state == AppState.UNKNOWN for a in apps):
            return []
        return self.complete(status, workers, apps)

    def complete(
        self, status: MasterStatus, workers: Collection[WorkerInfo], apps: Collection[AppInfo]
    ) -> list[Effect]:
        """Drop whoever stayed silent and lead; nothing once done (early completion and
        the timeout both come here)."""
        if status != MasterStatus.RECOVERING:
            return []
        took = (time.monotonic() - self.started_at) * 1000
        log.info("Recovery complete in %.0f ms - resuming operations!", took)
        silent = "Not responding for recovery"
        lost_apps = [a.id for a in apps if a.state == AppState.UNKNOWN]
        return [
            SetStatus(MasterStatus.COMPLETING_RECOVERY),
            *(RemoveWorker(w.id, silent) for w in workers if w.state == WorkerState.UNKNOWN),
            *(RemoveApp(app_id, AppState.FINISHED, silent) for app_id in lost_apps),
            FinishDriverRecovery(),
            SetStatus(MasterStatus.ALIVE),
            ScheduleSoon(),
        ]


def _restored(record: Record, default_cores: int) -> AddWorker | AddApp | AddDriver:
    """The table entry a persisted record comes back as, UNKNOWN until it answers."""
    if isinstance(record, DriverRecord):
        return AddDriver(record)
    if isinstance(record, WorkerRecord):
        return AddWorker(WorkerInfo(
            id=record.id, host=record.host, port=record.port, cores=record.cores,
            memory_mb=record.memory_mb, webui_url=record.webui_url, conn=None,
            state=WorkerState.UNKNOWN,
        ))  # fmt: skip
    return AddApp(AppInfo(
        id=record.id, desc=record.desc, conn=None, start_ms=record.start_ms,
        requested_cores=record.desc.max_cores or default_cores,
        state=AppState.UNKNOWN,
    ))  # fmt: skip


def _address_of(
    effect: AddWorker | AddApp | AddDriver,
) -> tuple[tuple[str, int], str | None] | None:
    """Where to announce the new leader: workers and drivers of applications listen. A
    driver's certificate is pinned by the fingerprint in its settings."""
    if isinstance(effect, AddWorker):
        return (effect.worker.host, effect.worker.port), None
    if isinstance(effect, AddApp):
        return parse_host_port(effect.app.desc.driver_url), effect.app.desc.conf.get(
            DRIVER_CERT_KEY
        )
    return None


async def announce(
    host: str, port: int, message: MasterChanged, security: Security, pin: str | None = None
) -> None:
    """Tell one recovered worker or driver that we lead; it then re-registers with us."""
    if pin and security.tls:
        security = security.pinned(pin)
    try:
        conn = await rpc.connect(host, port, inbound=ToMaster, handler=lambda c, x: None,
                                 security=security, role="master", timeout=3.0)  # fmt: skip
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

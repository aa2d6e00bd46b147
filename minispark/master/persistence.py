"""What a master persists so that the next leader can recover: workers and applications.

Records are versioned JSON documents with a fixed schema (msgspec structs), never pickles:
a newer master can read an older record, and bytes that do not decode are reported and
skipped rather than crashing the leader. Executors are not persisted (as in Spark): the new
leader learns them from the workers that run them.

Engines: ``NONE`` keeps nothing, ``FILESYSTEM`` writes one file per record into
``spark.deploy.recoveryDirectory``, ``ZOOKEEPER`` one znode per record under
``<spark.deploy.zookeeper.dir>/master_status``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import msgspec

from ..protocol import ApplicationDescription, DriverDescription
from .model import AppInfo, DriverInfo, WorkerInfo

log = logging.getLogger("minispark.master.persistence")

RECORD_VERSION = 1


class WorkerRecord(msgspec.Struct, tag="worker", kw_only=True):
    version: int = RECORD_VERSION
    id: str
    host: str
    port: int
    cores: int
    memory_mb: int
    webui_url: str


class AppRecord(msgspec.Struct, tag="app", kw_only=True):
    version: int = RECORD_VERSION
    id: str
    desc: ApplicationDescription
    start_ms: int


class DriverRecord(msgspec.Struct, tag="driver", kw_only=True):
    version: int = RECORD_VERSION
    id: str
    desc: DriverDescription
    start_ms: int


Record = WorkerRecord | AppRecord | DriverRecord
_decoder = msgspec.json.Decoder(Record)


def worker_record(w: WorkerInfo) -> WorkerRecord:
    return WorkerRecord(id=w.id, host=w.host, port=w.port, cores=w.cores,
                        memory_mb=w.memory_mb, webui_url=w.webui_url)  # fmt: skip


def app_record(app: AppInfo) -> AppRecord:
    return AppRecord(id=app.id, desc=app.desc, start_ms=app.start_ms)


def driver_record(driver: DriverInfo) -> DriverRecord:
    return DriverRecord(id=driver.id, desc=driver.desc, start_ms=driver.start_ms)


def key_of(record: Record) -> str:
    prefix = {WorkerRecord: "worker", AppRecord: "app", DriverRecord: "driver"}[type(record)]
    return f"{prefix}_{record.id}"


def encode(record: Record) -> bytes:
    return msgspec.json.encode(record)


def decode(key: str, data: bytes) -> Record | None:
    """A record, or None (logged) when the bytes are not one we can read."""
    try:
        record: Record = _decoder.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError) as exc:
        log.error("skipping persisted record %s: it cannot be read (%s)", key, exc)
        return None
    if record.version > RECORD_VERSION:
        log.error("skipping persisted record %s: version %d is newer than this master's %d",
                  key, record.version, RECORD_VERSION)  # fmt: skip
        return None
    return record


class PersistenceEngine(Protocol):
    def put(self, record: Record) -> None: ...
    def remove(self, key: str) -> None: ...
    def read_all(self) -> list[Record]: ...
    def next_epoch(self) -> int:
        """A leader epoch larger than any earlier leader's (each new leader takes one)."""
        ...


class BlackHole:
    """recoveryMode NONE: nothing survives the master."""

    def __init__(self) -> None:
        self._epoch = 0

    def next_epoch(self) -> int:
        self._epoch += 1
        return self._epoch

    def put(self, record: Record) -> None:
        pass

    def remove(self, key: str) -> None:
        pass

    def read_all(self) -> list[Record]:
        return []


class FileSystemEngine:
    """One file per record; written to a temporary name and renamed, so a crash mid-write
    leaves the old record or the new one, never half of one."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    def next_epoch(self) -> int:
        path = self.directory / "epoch"
        try:
            epoch = int(path.read_text().strip()) + 1
        except (OSError, ValueError):
            epoch = 1
        tmp = path.with_name(".epoch.tmp")
        tmp.write_text(f"{epoch}\n")
        os.replace(tmp, path)
        return epoch

    def put(self, record: Record) -> None:
        path = self.directory / key_of(record)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(encode(record))
        os.replace(tmp, path)

    def remove(self, key: str) -> None:
        (self.directory / key).unlink(missing_ok=True)

    def read_all(self) -> list[Record]:
        records = []
        for path in sorted(self.directory.iterdir()):
            if path.name.startswith(("worker_", "app_", "driver_")):
                record = decode(path.name, path.read_bytes())
                if record is not None:
                    records.append(record)
        return records


class ZooKeeperEngine:
    """One persistent znode per record under ``<dir>/master_status``."""

    def __init__(self, client: Any, root: str) -> None:
        from kazoo.retry import KazooRetry

        self.client = client
        self.path = f"{root}/master_status"
        self.epoch_path = f"{root}/epoch"
        # A member restarting (a rolling restart of the ensemble) drops the connection for a
        # moment; a write retried across that gap is not lost. Bounded, so that writes do
        # not pile up behind a lost quorum (the master steps down then anyway).
        self.retry = KazooRetry(max_tries=8, delay=0.2, backoff=2, max_delay=2.0)
        client.ensure_path(self.path)

    def next_epoch(self) -> int:
        """Compare-and-set on the epoch znode: two leaders can never take the same epoch."""
        from kazoo.exceptions import BadVersionError, NodeExistsError

        self.client.ensure_path(self.epoch_path)
        while True:
            data, stat = self.client.get(self.epoch_path)
            epoch = int(data or b"0") + 1
            try:
                self.client.set(self.epoch_path, str(epoch).encode(), version=stat.version)
                return epoch
            except (BadVersionError, NodeExistsError):
                continue

    def put(self, record: Record) -> None:
        from kazoo.exceptions import NodeExistsError

        node = f"{self.path}/{key_of(record)}"
        data = encode(record)

        def write() -> None:
            try:
                self.client.create(node, data)
            except NodeExistsError:
                self.client.set(node, data)

        self.retry(write)

    def remove(self, key: str) -> None:
        from kazoo.exceptions import NoNodeError

        with contextlib.suppress(NoNodeError):
            self.retry(self.client.delete, f"{self.path}/{key}")

    def read_all(self) -> list[Record]:
        from kazoo.exceptions import NoNodeError

        records = []
        for name in sorted(self.client.get_children(self.path)):
            try:
                data, _ = self.client.get(f"{self.path}/{name}")
            except NoNodeError:
                continue  # removed while we listed
            record = decode(name, data)
            if record is not None:
                records.append(record)
        return records


class Store:
    """Writes go to the engine on one thread of their own, so they land in order (a worker's
    add before its remove) and the event loop never waits on disk or ZooKeeper."""

    def __init__(self, engine: PersistenceEngine) -> None:
        self.engine = engine  # replaced once ZooKeeper is connected
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="persist")

    def put(self, record: Record) -> None:
        self._queue(self.engine.put, record)

    def remove(self, key: str) -> None:
        self._queue(self.engine.remove, key)

    def _queue(self, action: Callable[[Any], None], arg: Any) -> None:
        """A failure is logged: the next leader re-learns from the live clients."""
        future = self._pool.submit(action, arg)
        future.add_done_callback(_log_failure)

    async def take_over(self) -> tuple[int, list[Record]]:
        """A new epoch, then everything the last leader persisted (behind queued writes)."""
        loop = asyncio.get_running_loop()
        epoch = await loop.run_in_executor(self._pool, self.engine.next_epoch)
        records = await loop.run_in_executor(self._pool, self.engine.read_all)
        return epoch, records

    def close(self) -> None:
        self._pool.shutdown(wait=True)


def _log_failure(future: concurrent.futures.Future[None]) -> None:
    exc = future.exception()
    if exc is not None:
        log.error("could not persist master state: %s", exc)

"""A take-over decided without a master, and the persistence store on a real directory."""

from __future__ import annotations

import asyncio
from pathlib import Path

from minispark import protocol as p
from minispark.conf import Conf
from minispark.master.effects import (
    AddApp,
    AddDriver,
    AddWorker,
    Announce,
    CompleteAfter,
    FinishDriverRecovery,
    RemoveApp,
    RemoveWorker,
    ScheduleSoon,
    SetStatus,
)
from minispark.master.model import AppInfo, WorkerInfo
from minispark.master.persistence import (
    AppRecord,
    DriverRecord,
    FileSystemEngine,
    Record,
    Store,
    WorkerRecord,
    worker_record,
)
from minispark.master.recovery import Recovery

APP = p.ApplicationDescription(
    name="a", user="u", driver_url="driver-host:4040", memory_per_executor_mb=1
)
DRIVER = p.DriverDescription(
    name="d", main="m.py", args=[], files={}, conf={}, cores=1, memory_mb=1
)
NEWS = p.MasterChanged(master_url="minispark://m:7077", master_webui_url="http://m:8080", epoch=4)
WORKER = WorkerRecord(id="w1", host="wh", port=7078, cores=2, memory_mb=2048, webui_url="")
APP_RECORD = AppRecord(id="app-20240101000000-0003", desc=APP, start_ms=5)
DRIVER_RECORD = DriverRecord(id="driver-20240101000000-0001", desc=DRIVER, start_ms=6)
RECORDS: list[Record] = [WORKER, APP_RECORD, DRIVER_RECORD]


def recovery(**settings: str) -> Recovery:
    return Recovery(Conf(settings))


def test_nothing_persisted_means_nothing_to_recover() -> None:
    assert recovery().begin([], NEWS, default_cores=8) == []


def test_a_take_over_restores_everyone_as_unknown_and_tells_them_who_leads() -> None:
    effects = recovery(**{"spark.deploy.recoveryTimeout": "20s"}).begin(RECORDS, NEWS, 8)
    add_worker, add_app, add_driver, status, *announcements, timer = effects
    assert isinstance(add_worker, AddWorker) and add_worker.worker.state == p.WorkerState.UNKNOWN
    assert (add_worker.worker.id, add_worker.worker.conn) == ("w1", None)
    assert isinstance(add_app, AddApp) and add_app.app.state == p.AppState.UNKNOWN
    assert add_app.app.requested_cores == 8  # the app set no spark.cores.max
    assert add_driver == AddDriver(DRIVER_RECORD)
    assert status == SetStatus(p.MasterStatus.RECOVERING)
    assert announcements == [Announce("wh", 7078, NEWS), Announce("driver-host", 4040, NEWS)]
    assert timer == CompleteAfter(20.0)


def test_recovery_completes_only_once_everyone_answered() -> None:
    r = recovery()
    workers = [_worker("w1", p.WorkerState.ALIVE), _worker("w2", p.WorkerState.UNKNOWN)]
    apps = [_app("app-1", p.AppState.RUNNING)]
    recovering = p.MasterStatus.RECOVERING
    assert r.answered(recovering, workers, apps) == []
    workers[1].state = p.WorkerState.ALIVE
    assert r.answered(recovering, workers, apps) == [
        SetStatus(p.MasterStatus.COMPLETING_RECOVERY),
        FinishDriverRecovery(),
        SetStatus(p.MasterStatus.ALIVE),
        ScheduleSoon(),
    ]


def test_at_the_timeout_the_silent_are_dropped() -> None:
    workers = [_worker("w1", p.WorkerState.ALIVE), _worker("w2", p.WorkerState.UNKNOWN)]
    apps = [_app("app-1", p.AppState.UNKNOWN), _app("app-2", p.AppState.WAITING)]
    effects = recovery().complete(p.MasterStatus.RECOVERING, workers, apps)
    silent = "Not responding for recovery"
    assert effects[1:3] == [
        RemoveWorker("w2", silent),
        RemoveApp("app-1", p.AppState.FINISHED, silent),
    ]
    assert effects[-2:] == [SetStatus(p.MasterStatus.ALIVE), ScheduleSoon()]


def test_completing_twice_decides_nothing_the_second_time() -> None:
    """Early completion and the timeout both arrive; only the first one counts."""
    assert recovery().complete(p.MasterStatus.ALIVE, [], []) == []


def test_the_store_writes_in_order_and_a_new_leader_reads_it_back(tmp_path: Path) -> None:
    async def run() -> None:
        store = Store(FileSystemEngine(tmp_path))
        worker = _worker("w9", p.WorkerState.ALIVE)
        store.put(worker_record(worker))
        store.put(APP_RECORD)
        store.remove("app_app-20240101000000-0003")  # queued behind its put
        first = await store.take_over()
        second = await Store(FileSystemEngine(tmp_path)).take_over()
        store.close()
        assert first == (1, [worker_record(worker)])
        assert second[0] == 2  # every leader takes a larger epoch

    asyncio.run(run())


def test_filesystem_mode_elects_at_once_and_persists_into_the_directory(tmp_path: Path) -> None:
    class Candidate:
        def __init__(self) -> None:
            self.elected_ = asyncio.Event()

        def elected(self) -> None:
            self.elected_.set()

        def suspended(self) -> None: ...
        def reconnected(self) -> None: ...
        def session_lost(self) -> None: ...

    async def run() -> None:
        r = recovery(
            **{
                "spark.deploy.recoveryMode": "FILESYSTEM",
                "spark.deploy.recoveryDirectory": str(tmp_path),
            }
        )
        candidate = Candidate()
        r.start(candidate, "minispark://m:7077")
        await asyncio.wait_for(candidate.elected_.wait(), 5)
        r.store.put(WORKER)
        epoch, records = await r.store.take_over()
        r.stop()
        assert (epoch, records) == (1, [WORKER])
        assert (tmp_path / "worker_w1").is_file()

    asyncio.run(run())


def _worker(worker_id: str, state: p.WorkerState) -> WorkerInfo:
    return WorkerInfo(
        id=worker_id, host="h", port=1, cores=1, memory_mb=1, webui_url="", conn=None, state=state
    )


def _app(app_id: str, state: p.AppState) -> AppInfo:
    return AppInfo(id=app_id, desc=APP, conn=None, requested_cores=1, state=state)

"""Executors on the master: launches from placement grants, adoption, loss, and the retry limit.

Like ``Drivers``, these functions keep only the executor ledgers of the application and
worker records they are handed (``AppInfo.executors``, ``WorkerInfo.executors``); the
messages and removals they decide come back as effects for the master to carry out.
"""

from __future__ import annotations

import collections
import logging
import time
from collections.abc import Mapping

from ..protocol import (
    AppState,
    ExecutorAdded,
    ExecutorDescription,
    ExecutorState,
    ExecutorStateChanged,
    ExecutorUpdated,
    KillExecutor,
    LaunchExecutor,
)
from . import scheduling
from .effects import Effect, RemoveApp, TellDriver, TellWorker
from .model import UNLIMITED_CORES, AppInfo, ExecutorInfo, WorkerInfo
from .settings import MasterSettings

log = logging.getLogger("minispark.master.executors")


# ------------------------------------------------------------------------ placement


def launches(
    apps: list[AppInfo], workers: list[WorkerInfo], spread_out: bool, epoch: int
) -> list[Effect]:
    """Place what the applications still want on the given (ALIVE, connected) workers."""
    apps = [app for app in apps if app.cores_left > 0]
    if not apps or not workers:
        return []
    slots = [scheduling.WorkerSlot(w.id, w.cores_free, w.memory_free) for w in workers]
    demands = [_demand(app) for app in apps]
    grants = scheduling.place_executors(demands, slots, spread_out)
    by_app, by_worker = {a.id: a for a in apps}, {w.id: w for w in workers}
    effects: list[Effect] = []
    for grant in grants:
        effects += _launch(by_app[grant.app_id], by_worker[grant.worker_id], grant, epoch)
    for app, demand in zip(apps, demands, strict=True):
        if not app.executors and not scheduling.fits_anywhere_executor(demand, slots):
            log.warning("App %s requires more resource than any of Workers could have.", app.id)
    return effects


def _demand(app: AppInfo) -> scheduling.AppDemand:
    per_worker: dict[str, int] = collections.Counter(e.worker_id for e in app.executors.values())
    return scheduling.AppDemand(
        id=app.id,
        cores_left=app.cores_left,
        cores_per_executor=app.desc.cores_per_executor,
        memory_per_executor_mb=app.desc.memory_per_executor_mb,
        executor_limit=UNLIMITED_CORES,
        executors=len(app.executors),
        executors_on=per_worker,
    )


def _launch(
    app: AppInfo, worker: WorkerInfo, grant: scheduling.ExecutorGrant, epoch: int
) -> list[Effect]:
    executor = ExecutorInfo(app.id, app.next_exec_id, worker.id, grant.cores, grant.memory_mb)
    app.next_exec_id += 1
    app.executors[executor.exec_id] = executor
    worker.executors[executor.full_id] = executor
    app.state = AppState.RUNNING
    log.info(
        "launching executor %s on worker %s (%d cores)", executor.full_id, worker.id, grant.cores
    )
    launch = LaunchExecutor(
        epoch=epoch,
        app_id=app.id,
        exec_id=executor.exec_id,
        app=app.desc,
        cores=grant.cores,
        memory_mb=grant.memory_mb,
    )
    added = ExecutorAdded(
        epoch=epoch,
        exec_id=executor.exec_id,
        worker_id=worker.id,
        host=worker.host,
        cores=grant.cores,
        memory_mb=grant.memory_mb,
        worker_webui_url=worker.webui_url,
    )
    return [TellWorker(worker.id, launch), TellDriver(app.id, added)]


# ---------------------------------------------------------------- what workers report


def adopt(apps: Mapping[str, AppInfo], worker: WorkerInfo, desc: ExecutorDescription) -> bool:
    """Take over an executor a worker runs for a live application (after a change of
    leader it keeps its id and keeps running); False when its application is not here."""
    app = apps.get(desc.app_id)
    if app is None or app.finished:
        return False
    if desc.exec_id in app.executors:
        return True
    executor = ExecutorInfo(app.id, desc.exec_id, worker.id, desc.cores, desc.memory_mb, desc.state)
    if desc.state == ExecutorState.RUNNING:
        executor.running_since = time.monotonic()
    app.executors[desc.exec_id] = executor
    worker.executors[executor.full_id] = executor
    app.next_exec_id = max(app.next_exec_id, desc.exec_id + 1)
    if app.state == AppState.WAITING:
        app.state = AppState.RUNNING
    log.info("adopted executor %s on %s", executor.full_id, worker.id)
    return True


def reconcile(
    apps: Mapping[str, AppInfo],
    worker: WorkerInfo | None,
    worker_id: str,
    executors: list[ExecutorDescription],
    *,
    recovering: bool,
    epoch: int,
) -> list[KillExecutor]:
    """Adopt what a worker reports; the kills to send back for executors of applications
    that are gone (SPARK-13604). While recovering, an application may not be back yet."""
    kills = []
    for desc in executors:
        if worker is not None and adopt(apps, worker, desc):
            continue
        if recovering or _knows(apps, worker_id, desc):
            continue
        log.info("telling %s to kill unknown executor %s/%d", worker_id, desc.app_id, desc.exec_id)
        kills.append(KillExecutor(epoch=epoch, app_id=desc.app_id, exec_id=desc.exec_id))
    return kills


def _knows(apps: Mapping[str, AppInfo], worker_id: str, desc: ExecutorDescription) -> bool:
    app = apps.get(desc.app_id)
    info = app.executors.get(desc.exec_id) if app else None
    return info is not None and info.worker_id == worker_id


def state_changed(
    m: ExecutorStateChanged,
    apps: Mapping[str, AppInfo],
    workers: Mapping[str, WorkerInfo],
    epoch: int,
    settings: MasterSettings,
) -> list[Effect]:
    """Pass an executor's new state on to its driver; a failed one counts toward the
    application's retry limit (``spark.deploy.maxExecutorRetries``)."""
    app = apps.get(m.app_id)
    executor = app.executors.get(m.exec_id) if app else None
    if app is None or executor is None:
        log.info("status %s of unknown executor %s/%d ignored", m.state, m.app_id, m.exec_id)
        return []
    executor.state = m.state
    if m.state == ExecutorState.RUNNING:
        executor.running_since = time.monotonic()
    update = ExecutorUpdated(
        epoch=epoch, exec_id=m.exec_id, state=m.state, message=m.message, exit_status=m.exit_status
    )
    effects: list[Effect] = [TellDriver(app.id, update)]
    if m.state.finished:
        log.info("executor %s finished: %s %s", executor.full_id, m.state, m.message)
        _forget(executor, app, workers)
        if m.state != ExecutorState.KILLED and m.exit_status:
            effects += _failed(app, executor, settings)
    return effects


def _failed(app: AppInfo, executor: ExecutorInfo, settings: MasterSettings) -> list[Effect]:
    """Spark resets the failure count at RUNNING, which a worker reports as soon as the
    process starts, so an executor killed over and over never failed the app. Here a
    failure ends the streak only if the executor had run for a heartbeat timeout."""
    since = executor.running_since
    healthy = since is not None and time.monotonic() - since >= settings.worker_timeout_s
    app.retry_count = 1 if healthy else app.retry_count + 1
    limit = settings.max_executor_retries
    running = any(e.state == ExecutorState.RUNNING for e in app.executors.values())
    if running or not 0 <= limit <= app.retry_count:
        return []
    message = (
        f"Application {app.id} with no running executors failed "
        f"{app.retry_count} times; removing it"
    )
    log.error(message)
    return [RemoveApp(app.id, AppState.FAILED, message)]


def _forget(executor: ExecutorInfo, app: AppInfo, workers: Mapping[str, WorkerInfo]) -> None:
    app.executors.pop(executor.exec_id, None)
    worker = workers.get(executor.worker_id)
    if worker is not None:
        worker.executors.pop(executor.full_id, None)


# ------------------------------------------------------------------- removals


def lost_with(
    worker: WorkerInfo, apps: Mapping[str, AppInfo], reason: str, epoch: int
) -> list[Effect]:
    """The worker is gone: its executors are lost, which their drivers must hear."""
    effects: list[Effect] = []
    for executor in list(worker.executors.values()):
        worker.executors.pop(executor.full_id, None)
        app = apps.get(executor.app_id)
        if app is None:
            continue
        app.executors.pop(executor.exec_id, None)
        update = ExecutorUpdated(
            epoch=epoch,
            exec_id=executor.exec_id,
            state=ExecutorState.LOST,
            message=f"worker lost: {reason}",
            worker_host=worker.host,
        )
        effects.append(TellDriver(app.id, update))
    return effects


def kill_all(app: AppInfo, workers: Mapping[str, WorkerInfo], epoch: int) -> list[Effect]:
    """The application is over: its workers kill its executors."""
    effects: list[Effect] = []
    for executor in app.executors.values():
        worker = workers.get(executor.worker_id)
        if worker is not None:
            worker.executors.pop(executor.full_id, None)
            kill = KillExecutor(epoch=epoch, app_id=executor.app_id, exec_id=executor.exec_id)
            effects.append(TellWorker(worker.id, kill))
    app.executors.clear()
    return effects

"""Executor decisions on the master, made on plain records: read the effects."""

from __future__ import annotations

import time

from minispark import protocol as p
from minispark.conf import Conf
from minispark.master import executors
from minispark.master.effects import Effect, RemoveApp, TellDriver, TellWorker
from minispark.master.model import AppInfo, ExecutorInfo, WorkerInfo
from minispark.master.settings import MasterSettings

DESC = p.ApplicationDescription(
    name="a", user="u", driver_url="d:1", memory_per_executor_mb=512, cores_per_executor=1
)
SETTINGS = MasterSettings.from_conf(Conf({"spark.deploy.maxExecutorRetries": "2"}))


def worker(worker_id: str = "w1", cores: int = 2) -> WorkerInfo:
    return WorkerInfo(
        id=worker_id, host="wh", port=1, cores=cores, memory_mb=4096, webui_url="", conn=None
    )


def app(app_id: str = "app-1", cores: int = 2) -> AppInfo:
    return AppInfo(id=app_id, desc=DESC, conn=None, requested_cores=cores)


def sent(effects: list[Effect]) -> list[p.Message]:
    return [e.message for e in effects if isinstance(e, TellWorker | TellDriver)]


def running_executor(a: AppInfo, w: WorkerInfo, exec_id: int = 0) -> ExecutorInfo:
    executor = ExecutorInfo(a.id, exec_id, w.id, 1, 512, p.ExecutorState.RUNNING)
    a.executors[exec_id] = executor
    w.executors[executor.full_id] = executor
    return executor


def test_grants_become_a_launch_for_the_worker_and_news_for_the_driver() -> None:
    a, w = app(cores=2), worker(cores=2)
    effects = executors.launches([a], [w], spread_out=True, epoch=7)
    launches = [e for e in effects if isinstance(e, TellWorker)]
    added = [e for e in effects if isinstance(e, TellDriver)]
    assert [e.worker_id for e in launches] == ["w1", "w1"]
    assert [e.app_id for e in added] == ["app-1", "app-1"]
    orders = [e.message for e in launches if isinstance(e.message, p.LaunchExecutor)]
    news = [e.message for e in added if isinstance(e.message, p.ExecutorAdded)]
    assert [m.exec_id for m in orders] == [m.exec_id for m in news] == [0, 1]
    assert {m.epoch for m in orders} == {m.epoch for m in news} == {7}
    assert a.state == p.AppState.RUNNING and a.cores_left == 0 and w.cores_free == 0
    assert executors.launches([a], [w], spread_out=True, epoch=7) == []  # nothing left to want


def test_reported_executors_of_live_apps_are_adopted_and_the_rest_killed() -> None:
    a, w = app(), worker()
    ours = p.ExecutorDescription(
        app_id="app-1", exec_id=4, cores=1, memory_mb=512, state=p.ExecutorState.RUNNING
    )
    stray = p.ExecutorDescription(
        app_id="app-gone", exec_id=0, cores=1, memory_mb=512, state=p.ExecutorState.RUNNING
    )
    kills = executors.reconcile({"app-1": a}, w, "w1", [ours, stray], recovering=False, epoch=3)
    assert kills == [p.KillExecutor(epoch=3, app_id="app-gone", exec_id=0)]
    assert a.executors[4].worker_id == "w1" and "app-1/4" in w.executors
    assert a.next_exec_id == 5  # ids the executor holds are never handed out again
    assert executors.reconcile({}, w, "w1", [stray], recovering=True, epoch=3) == []


def test_a_failure_limit_removes_an_app_without_running_executors() -> None:
    a, w = app(), worker()
    apps, workers = {"app-1": a}, {"w1": w}
    for attempt in (0, 1):
        running_executor(a, w, attempt)
        failed = p.ExecutorStateChanged(
            app_id="app-1",
            exec_id=attempt,
            state=p.ExecutorState.FAILED,
            message="boom",
            exit_status=1,
        )
        effects = executors.state_changed(failed, apps, workers, 2, SETTINGS)
        update = sent(effects)[0]
        assert isinstance(update, p.ExecutorUpdated) and update.state == p.ExecutorState.FAILED
    removal = effects[-1]
    assert isinstance(removal, RemoveApp) and removal.state == p.AppState.FAILED
    assert removal.app_id == "app-1" and "failed 2 times" in removal.reason
    assert a.executors == {} and w.executors == {}


def test_a_failure_after_a_healthy_run_starts_the_count_again() -> None:
    a, w = app(), worker()
    a.retry_count = 1
    executor = running_executor(a, w)
    executor.running_since = time.monotonic() - SETTINGS.worker_timeout_s - 1
    failed = p.ExecutorStateChanged(
        app_id="app-1", exec_id=0, state=p.ExecutorState.FAILED, message="", exit_status=1
    )
    effects = executors.state_changed(failed, {"app-1": a}, {"w1": w}, 1, SETTINGS)
    assert not any(isinstance(e, RemoveApp) for e in effects) and a.retry_count == 1


def test_a_lost_worker_loses_its_executors_and_an_ended_app_kills_them() -> None:
    a, w1, w2 = app(), worker("w1"), worker("w2")
    running_executor(a, w1, 0)
    running_executor(a, w2, 1)
    (lost,) = executors.lost_with(w1, {"app-1": a}, "gone", epoch=2)
    assert isinstance(lost, TellDriver) and isinstance(lost.message, p.ExecutorUpdated)
    assert lost.message.state == p.ExecutorState.LOST and lost.message.worker_host == "wh"
    assert list(a.executors) == [1] and w1.executors == {}
    kills = executors.kill_all(a, {"w1": w1, "w2": w2}, epoch=2)
    assert kills == [TellWorker("w2", p.KillExecutor(epoch=2, app_id="app-1", exec_id=1))]
    assert a.executors == {} and w2.executors == {}

"""The master's handlers as a state machine, driven with recording fake connections."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from minispark import protocol as p
from minispark.conf import Conf
from minispark.master.master import Master


class FakeConn:
    def __init__(self) -> None:
        self.sent: list[Any] = []
        self.attachment: object = None
        self.is_closed = False

    def send(self, message: Any) -> None:
        self.sent.append(message)

    def close(self, reason: str = "") -> None:
        self.is_closed = True


@pytest.fixture
def master() -> Master:
    return Master(Conf({}), host="127.0.0.1", port=7077, webui_port=8080)


def in_loop(test: Callable[[Master], Coroutine[Any, Any, None]]) -> Callable[[Master], None]:
    """Handlers schedule placement on the running loop, as they do in the daemon."""

    @functools.wraps(test)
    def run(master: Master) -> None:
        asyncio.run(test(master))

    return run


def register(m: Master, conn: FakeConn, worker_id: str = "w1", port: int = 1000) -> Any:
    msg = p.RegisterWorker(
        worker_id=worker_id,
        host="h",
        port=port,
        cores=4,
        memory_mb=4096,
        webui_url="",
        master_address="m:7077",
    )
    return m.handle(conn, msg)  # type: ignore[arg-type]


@in_loop
async def test_standby_answers_in_standby(master: Master) -> None:
    assert isinstance(register(master, FakeConn()), p.MasterInStandby)


@in_loop
async def test_registration_carries_epoch_and_heartbeat_pace(master: Master) -> None:
    master.become_leader()
    reply = register(master, FakeConn())
    assert isinstance(reply, p.RegisteredWorker)
    assert reply.epoch == 1 and not reply.duplicate
    assert reply.heartbeat_s == pytest.approx(15 / 4)


@in_loop
async def test_same_id_again_is_a_duplicate_that_takes_the_new_link(master: Master) -> None:
    master.become_leader()
    first, second = FakeConn(), FakeConn()
    register(master, first)
    reply = register(master, second)
    assert reply.duplicate
    assert first.is_closed and master.workers["w1"].conn is second


@in_loop
async def test_another_worker_at_the_same_address_is_refused(master: Master) -> None:
    master.become_leader()
    register(master, FakeConn(), "w1", 1000)
    reply = register(master, FakeConn(), "w2", 1000)
    assert isinstance(reply, p.RegisterWorkerFailed)
    assert "same address" in reply.message


@in_loop
async def test_dead_worker_heartbeat_gets_reconnect(master: Master) -> None:
    master.become_leader()
    conn = FakeConn()
    register(master, conn)
    master.remove_worker(master.workers["w1"], "test")
    again = FakeConn()
    master.handle(again, p.Heartbeat(worker_id="w1"))  # type: ignore[arg-type]
    assert isinstance(again.sent[-1], p.ReconnectWorker)
    # and a new worker at the dead one's address is welcome
    assert isinstance(register(master, FakeConn(), "w3", 1000), p.RegisteredWorker)


@in_loop
async def test_unknown_executor_reported_by_a_worker_is_killed(master: Master) -> None:
    master.become_leader()
    conn = FakeConn()
    register(master, conn)
    desc = p.ExecutorDescription(
        app_id="app-x", exec_id=3, cores=1, memory_mb=1, state=p.ExecutorState.RUNNING
    )
    master.handle(conn, p.WorkerLatestState(worker_id="w1", executors=[desc]))  # type: ignore[arg-type]
    kill = conn.sent[-1]
    assert isinstance(kill, p.KillExecutor) and (kill.app_id, kill.exec_id) == ("app-x", 3)


@in_loop
async def test_app_registration_is_idempotent_per_link(master: Master) -> None:
    master.become_leader()
    driver = FakeConn()
    app = p.ApplicationDescription(name="a", user="u", driver_url="d:1", memory_per_executor_mb=1)
    first = master.handle(driver, p.RegisterApplication(app=app))  # type: ignore[arg-type]
    second = master.handle(driver, p.RegisterApplication(app=app))  # type: ignore[arg-type]
    assert isinstance(first, p.RegisteredApplication) and first == second
    assert first.app_id.startswith("app-") and len(master.apps) == 1


APP = p.ApplicationDescription(name="a", user="u", driver_url="d:1", memory_per_executor_mb=1)


@in_loop
async def test_app_unknown_to_a_new_leader_keeps_its_id_and_used_executor_ids(
    master: Master,
) -> None:
    """A leader that never heard of an app (its record was not persisted) takes it back as
    it is: same id, and no executor id the driver already used is handed out again."""
    master.become_leader()
    worker = FakeConn()
    register(master, worker)
    driver = FakeConn()
    old_id = "app-20240101000000-0041"
    reply = master.handle(driver, p.RegisterApplication(app=APP, app_id=old_id, next_exec_id=5))  # type: ignore[arg-type]
    assert isinstance(reply, p.RegisteredApplication) and reply.app_id == old_id
    await asyncio.sleep(0)  # the placement pass
    (launch,) = [m for m in worker.sent if isinstance(m, p.LaunchExecutor)]
    (added,) = [m for m in driver.sent if isinstance(m, p.ExecutorAdded)]
    assert (launch.app_id, launch.exec_id, added.exec_id) == (old_id, 5, 5)
    fresh = master.handle(FakeConn(), p.RegisterApplication(app=APP))  # type: ignore[arg-type]
    assert fresh.app_id.endswith("-0042")  # numbering goes on past the recovered id


@in_loop
async def test_app_returning_on_a_new_link_is_the_same_app(master: Master) -> None:
    master.become_leader()
    first, second = FakeConn(), FakeConn()
    reply = master.handle(first, p.RegisterApplication(app=APP))  # type: ignore[arg-type]
    again = master.handle(  # type: ignore[arg-type]
        second, p.RegisterApplication(app=APP, app_id=reply.app_id, next_exec_id=7)
    )
    assert again == reply and len(master.apps) == 1
    app = master.apps[reply.app_id]
    assert app.conn is second and second.attachment is app and first.attachment is None
    assert app.next_exec_id == 7


@in_loop
async def test_the_master_keeps_the_ui_url_an_app_registers_and_re_registers(
    master: Master,
) -> None:
    master.become_leader()
    ui = "http://127.0.0.1:4040"
    reply = master.handle(FakeConn(), p.RegisterApplication(app=APP, ui_url=ui))  # type: ignore[arg-type]
    app = master.apps[reply.app_id]
    assert app.ui_url == ui
    master.handle(  # type: ignore[arg-type]
        FakeConn(), p.RegisterApplication(app=APP, app_id=app.id, ui_url="http://h:4041")
    )
    assert app.ui_url == "http://h:4041"
    old = master.handle(FakeConn(), p.RegisterApplication(app=APP))  # type: ignore[arg-type]
    assert master.apps[old.app_id].ui_url == ""  # an older driver sends none


@in_loop
async def test_links_closing_while_the_master_stops_remove_nobody(master: Master) -> None:
    """The next leader needs the records of the workers and apps this master served."""
    master.become_leader()
    conn = FakeConn()
    register(master, conn)
    master.stopping = True
    master._connection_closed(conn)  # type: ignore[arg-type]
    assert master.workers["w1"].state == p.WorkerState.ALIVE

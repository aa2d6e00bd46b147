"""Cluster-mode drivers on the master, decided without a master: read the effects."""

from __future__ import annotations

from minispark import protocol as p
from minispark.master.drivers import Drivers, refusal
from minispark.master.effects import Effect, Forget, Persist, ScheduleSoon, TellWorker
from minispark.master.model import WorkerInfo
from minispark.master.persistence import DriverRecord

SUPERVISED = p.DriverDescription(
    name="job",
    main="job.py",
    args=[],
    files={"job.py": b""},
    conf={},
    cores=1,
    memory_mb=512,
    supervise=True,
)
PLAIN = p.DriverDescription(
    name="job", main="job.py", args=[], files={"job.py": b""}, conf={}, cores=1, memory_mb=512
)


def worker(worker_id: str = "w1", cores: int = 4, memory_mb: int = 4096) -> WorkerInfo:
    return WorkerInfo(
        id=worker_id, host="h", port=1, cores=cores, memory_mb=memory_mb, webui_url="", conn=None
    )


def messages(effects: list[Effect]) -> list[tuple[str, p.Message]]:
    return [(e.worker_id, e.message) for e in effects if isinstance(e, TellWorker)]


def submitted(drivers: Drivers, workers: dict[str, WorkerInfo], desc: p.DriverDescription) -> str:
    reply, _ = drivers.submit(desc, None, workers)
    assert reply.success
    return reply.driver_id


def test_a_standby_refuses_every_request_and_decides_nothing() -> None:
    drivers = Drivers(retained=10)
    why = refusal("minispark://m:7077", p.MasterStatus.STANDBY)
    assert why is not None and why.startswith(p.NOT_LEADER) and "STANDBY" in why
    assert refusal("minispark://m:7077", p.MasterStatus.ALIVE) is None
    reply, effects = drivers.submit(PLAIN, why, {})
    assert not reply.success and reply.message == why and effects == []
    kill, effects = drivers.kill("driver-x", why, {}, epoch=1)
    assert not kill.success and effects == []
    assert not drivers.status("driver-x", why, {}, 3).found
    assert drivers.active == {}


def test_accepting_a_driver_persists_it_and_asks_for_placement() -> None:
    drivers = Drivers(retained=10)
    reply, effects = drivers.submit(PLAIN, None, {"w1": worker()})
    assert reply.success and reply.driver_id.startswith("driver-")
    persist, schedule = effects
    assert isinstance(persist, Persist) and isinstance(persist.record, DriverRecord)
    assert persist.record.id == reply.driver_id and schedule == ScheduleSoon()
    status = drivers.status(reply.driver_id, None, {}, 3)
    assert status.state == "SUBMITTED" and status.epoch == 3  # clients compare claimants by it


def test_a_driver_larger_than_every_worker_is_refused_at_submit() -> None:
    drivers = Drivers(retained=10)
    big = p.DriverDescription(
        name="big", main="m.py", args=[], files={}, conf={}, cores=8, memory_mb=512
    )
    reply, effects = drivers.submit(big, None, {"w1": worker(cores=4)})
    assert not reply.success and "8 cores" in reply.message and effects == []


def test_placement_launches_on_a_worker_with_room_and_books_its_resources() -> None:
    drivers = Drivers(retained=10)
    small, roomy = worker("small", cores=1, memory_mb=256), worker("roomy")
    driver_id = submitted(drivers, {"roomy": roomy}, PLAIN)
    ((target, launch),) = messages(drivers.place([small, roomy], epoch=3))
    assert target == "roomy" and isinstance(launch, p.LaunchDriver)
    assert (launch.driver_id, launch.epoch) == (driver_id, 3)
    assert roomy.cores_used == 1 and driver_id in roomy.drivers
    assert drivers.place([small, roomy], epoch=3) == []  # nothing is waiting any more


def test_killing_a_placed_driver_asks_its_worker() -> None:
    drivers = Drivers(retained=10)
    w = worker()
    driver_id = submitted(drivers, {"w1": w}, PLAIN)
    drivers.place([w], epoch=2)
    reply, effects = drivers.kill(driver_id, None, {"w1": w}, epoch=2)
    assert reply.success
    assert messages(effects) == [("w1", p.KillDriver(epoch=2, driver_id=driver_id))]
    assert driver_id in drivers.active  # it ends when the worker reports it killed


def test_killing_a_waiting_driver_ends_it_at_once() -> None:
    drivers = Drivers(retained=10)
    driver_id = submitted(drivers, {}, PLAIN)
    reply, effects = drivers.kill(driver_id, None, {}, epoch=1)
    assert reply.success and effects == [Forget(f"driver_{driver_id}"), ScheduleSoon()]
    assert drivers.status(driver_id, None, {}, 3).state == "KILLED"


def test_a_final_state_from_the_worker_frees_its_resources() -> None:
    drivers = Drivers(retained=10)
    w = worker()
    driver_id = submitted(drivers, {"w1": w}, PLAIN)
    drivers.place([w], epoch=1)
    running = p.DriverStateChanged(driver_id=driver_id, state=p.DriverState.RUNNING, message="")
    assert drivers.state_changed(running, {"w1": w}) == []
    done = p.DriverStateChanged(driver_id=driver_id, state=p.DriverState.FINISHED, message="ok")
    assert drivers.state_changed(done, {"w1": w}) == [Forget(f"driver_{driver_id}"), ScheduleSoon()]
    assert w.drivers == {} and drivers.status(driver_id, None, {}, 3).state == "FINISHED"


def test_a_lost_worker_relaunches_supervised_drivers_under_a_new_id() -> None:
    drivers = Drivers(retained=10)
    w = worker()
    kept = submitted(drivers, {"w1": w}, SUPERVISED)
    dropped = submitted(drivers, {"w1": w}, PLAIN)
    drivers.place([w], epoch=1)
    effects = drivers.worker_lost(w, {"w1": w})
    (replacement,) = [e.record.id for e in effects if isinstance(e, Persist)]
    assert replacement not in (kept, dropped)
    assert Forget(f"driver_{kept}") in effects and Forget(f"driver_{dropped}") in effects
    assert drivers.status(kept, None, {}, 3).state == "RELAUNCHING"
    assert drivers.status(dropped, None, {}, 3).state == "ERROR"
    assert drivers.status(replacement, None, {}, 3).state == "SUBMITTED"
    assert w.drivers == {}


def test_recovered_drivers_are_adopted_or_given_up_when_recovery_ends() -> None:
    drivers = Drivers(retained=10)
    record = DriverRecord(id="driver-20240101000000-0007", desc=PLAIN, start_ms=1)
    silent = DriverRecord(id="driver-20240101000000-0008", desc=PLAIN, start_ms=1)
    drivers.recovered(record)
    drivers.recovered(silent)
    w = worker()
    drivers.adopt(w, [record.id])
    assert record.id in w.drivers and drivers.active[record.id].worker_id == "w1"
    effects = drivers.finish_recovery({"w1": w})
    assert effects == [Forget(f"driver_{silent.id}"), ScheduleSoon()]
    assert drivers.status(silent.id, None, {}, 3).state == "ERROR"
    assert drivers.status(record.id, None, {"w1": w}, 3).worker_host_port == "h:1"
    # new ids continue after the recovered ones
    assert submitted(drivers, {}, PLAIN).endswith("-0009")

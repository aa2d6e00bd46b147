"""Cluster-mode drivers on the master: accept, place, kill, report, relaunch, recover.

Drivers are placed before executors (Spark: "drivers take strict precedence"). A driver whose
worker is lost is relaunched elsewhere under a **new** id when supervised (SPARK-19900: the
same id would let a partitioned old worker's late report kill the new driver), and ends in
ERROR otherwise. Only the ALIVE master answers submit, kill and status.
"""

from __future__ import annotations

import collections
import logging
from typing import TYPE_CHECKING

from ..protocol import (
    NOT_LEADER,
    DriverDescription,
    DriverState,
    DriverStateChanged,
    DriverStatusResponse,
    KillDriver,
    KillDriverResponse,
    LaunchDriver,
    MasterStatus,
    SubmitDriverResponse,
    WorkerState,
)
from . import scheduling
from .model import DriverInfo, WorkerInfo, spark_id

if TYPE_CHECKING:
    from .master import Master

log = logging.getLogger("minispark.master.drivers")

FINAL = (DriverState.FINISHED, DriverState.FAILED, DriverState.KILLED, DriverState.ERROR)


class Drivers:
    def __init__(self, master: Master, retained: int) -> None:
        self.m = master
        self.active: dict[str, DriverInfo] = {}
        self.completed: collections.deque[DriverInfo] = collections.deque(maxlen=retained)
        self._number = 0
        self._cursor = 0  # round-robin position over workers (Spark 4's spreadOutDrivers)

    # ------------------------------------------------------------ client requests

    def _standby_answer(self) -> str | None:
        if self.m.status != MasterStatus.ALIVE:
            return f"{NOT_LEADER}master {self.m.url} is {self.m.status}"
        return None

    def submit(self, desc: DriverDescription) -> SubmitDriverResponse:
        refusal = self._standby_answer() or self._never_fits(desc)
        if refusal:
            return SubmitDriverResponse(success=False, driver_id="", message=refusal)
        driver = self._create(desc)
        log.info("accepted driver %s (%s)", driver.id, desc.name)
        self.m.schedule_soon()
        return SubmitDriverResponse(
            success=True,
            driver_id=driver.id,
            message=f"Driver successfully submitted as {driver.id}",
        )

    def _never_fits(self, desc: DriverDescription) -> str | None:
        alive = [w for w in self.m.workers.values() if w.state == WorkerState.ALIVE]
        slots = [scheduling.WorkerSlot(w.id, w.cores, w.memory_mb) for w in alive]
        demand = scheduling.DriverDemand("new", desc.cores, desc.memory_mb)
        if alive and not scheduling.fits_anywhere_driver(demand, slots):
            largest = max(alive, key=lambda w: (w.memory_mb, w.cores))
            return (
                f"the driver needs {desc.cores} cores and {desc.memory_mb} MiB, more than any "
                f"worker has (the largest: {largest.cores} cores, {largest.memory_mb} MiB); "
                "lower --driver-cores/--driver-memory"
            )
        return None

    def _create(self, desc: DriverDescription) -> DriverInfo:
        self._number += 1
        driver = DriverInfo(spark_id("driver", self._number), desc)
        self.active[driver.id] = driver
        self.m.recovery.put_driver(driver)
        return driver

    def kill(self, driver_id: str) -> KillDriverResponse:
        refusal = self._standby_answer()
        if refusal:
            return KillDriverResponse(success=False, message=refusal)
        driver = self.active.get(driver_id)
        if driver is None:
            return KillDriverResponse(
                success=False, message=f"Driver {driver_id} has already finished or does not exist"
            )
        if driver.state == DriverState.SUBMITTED:  # not placed yet: nothing runs anywhere
            self.remove(driver, DriverState.KILLED, "killed before it was placed")
        else:
            worker = self.m.workers.get(driver.worker_id)
            if worker is not None:
                self.m.tell_worker(worker, KillDriver(epoch=self.m.epoch, driver_id=driver_id))
        return KillDriverResponse(success=True, message=f"Kill request for {driver_id} submitted")

    def status(self, driver_id: str) -> DriverStatusResponse:
        refusal = self._standby_answer()
        if refusal:
            return DriverStatusResponse(found=False, message=refusal)
        driver = self.active.get(driver_id) or next(
            (d for d in self.completed if d.id == driver_id), None
        )
        if driver is None:
            return DriverStatusResponse(
                found=False, message=f"no driver {driver_id} is known here", epoch=self.m.epoch
            )
        worker = self.m.workers.get(driver.worker_id)
        return DriverStatusResponse(
            found=True,
            state=str(driver.state),
            worker_id=driver.worker_id,
            worker_host_port=worker.address if worker else "",
            message=driver.message,
            epoch=self.m.epoch,
        )

    # --------------------------------------------------------------- placement

    def place(self, workers: list[WorkerInfo]) -> None:
        waiting = [d for d in self.active.values() if d.state == DriverState.SUBMITTED]
        if not waiting or not workers:
            return
        slots = [scheduling.WorkerSlot(w.id, w.cores_free, w.memory_free) for w in workers]
        demands = [scheduling.DriverDemand(d.id, d.desc.cores, d.desc.memory_mb) for d in waiting]
        placed, self._cursor = scheduling.place_drivers(demands, slots, self._cursor)
        for driver_id, worker_id in placed:
            self._launch(self.active[driver_id], self.m.workers[worker_id])

    def _launch(self, driver: DriverInfo, worker: WorkerInfo) -> None:
        log.info("launching driver %s on worker %s", driver.id, worker.id)
        driver.state = DriverState.RUNNING
        driver.worker_id = worker.id
        worker.drivers[driver.id] = driver
        self.m.tell_worker(
            worker, LaunchDriver(epoch=self.m.epoch, driver_id=driver.id, driver=driver.desc)
        )

    # ------------------------------------------------------------------ events

    def state_changed(self, m: DriverStateChanged) -> None:
        driver = self.active.get(m.driver_id)
        if driver is None or m.state not in FINAL:
            return
        self.remove(driver, m.state, m.message)

    def remove(self, driver: DriverInfo, state: DriverState, message: str) -> None:
        log.info("driver %s %s %s", driver.id, state, message)
        driver.state = state
        driver.message = message
        self.active.pop(driver.id, None)
        worker = self.m.workers.get(driver.worker_id)
        if worker is not None:
            worker.drivers.pop(driver.id, None)
        self.completed.append(driver)
        self.m.recovery.persist(self.m.recovery.engine.remove, f"driver_{driver.id}")
        self.m.schedule_soon()

    def worker_lost(self, worker: WorkerInfo) -> None:
        for driver in list(worker.drivers.values()):
            worker.drivers.pop(driver.id, None)
            self.orphaned(driver, f"its worker {worker.id} was lost")

    def orphaned(self, driver: DriverInfo, why: str) -> None:
        """Supervised: relaunch elsewhere under a new id; otherwise it ends in ERROR."""
        if driver.desc.supervise:
            replacement = self._create(driver.desc)
            self.remove(driver, DriverState.RELAUNCHING, f"{why}; relaunched as {replacement.id}")
        else:
            self.remove(driver, DriverState.ERROR, why)

    # ---------------------------------------------------------------- recovery

    def recovered(self, driver_id: str, desc: DriverDescription, start_ms: int) -> None:
        driver = DriverInfo(driver_id, desc, DriverState.UNKNOWN, start_ms=start_ms)
        self.active[driver_id] = driver
        tail = driver_id.rsplit("-", 1)[-1]
        if tail.isdigit():
            self._number = max(self._number, int(tail))

    def adopt(self, worker: WorkerInfo, driver_ids: list[str]) -> None:
        for driver_id in driver_ids:
            driver = self.active.get(driver_id)
            if driver is not None and driver.state in (DriverState.UNKNOWN, DriverState.RUNNING):
                driver.state = DriverState.RUNNING
                driver.worker_id = worker.id
                worker.drivers[driver_id] = driver

    def finish_recovery(self) -> None:
        for driver in [d for d in self.active.values() if d.state == DriverState.UNKNOWN]:
            self.orphaned(driver, "it was not found after master recovery")

    def json(self, driver: DriverInfo) -> dict[str, object]:
        from .model import submit_date

        return {
            "id": driver.id,
            "starttime": driver.start_ms,
            "state": str(driver.state),
            "cores": driver.desc.cores,
            "memory": driver.desc.memory_mb,
            "submitdate": submit_date(driver.start_ms),
            "worker": driver.worker_id,
            "mainclass": driver.desc.main,
        }

"""Cluster-mode drivers on the master: accept, place, kill, report, relaunch, recover.

Drivers are placed before executors (Spark: "drivers take strict precedence"). A driver whose
worker is lost is relaunched elsewhere under a **new** id when supervised (SPARK-19900: the
same id would let a partitioned old worker's late report kill the new driver), and ends in
ERROR otherwise. Only the ALIVE master answers submit, kill and status.

``Drivers`` keeps the driver records and the ``drivers`` ledger of the workers it is handed;
everything else it decides (messages, persistence, a placement pass) it returns as effects.
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Mapping

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
from .effects import Effect, Forget, Persist, ScheduleSoon, TellWorker
from .model import DriverInfo, WorkerInfo, spark_id
from .persistence import DriverRecord, driver_record

log = logging.getLogger("minispark.master.drivers")

FINAL = (DriverState.FINISHED, DriverState.FAILED, DriverState.KILLED, DriverState.ERROR)
Workers = Mapping[str, WorkerInfo]


def refusal(url: str, status: MasterStatus) -> str | None:
    """Why a master that is not (yet) the ALIVE leader turns a client request away."""
    if status != MasterStatus.ALIVE:
        return f"{NOT_LEADER}master {url} is {status}"
    return None


class Drivers:
    def __init__(self, retained: int) -> None:
        self.active: dict[str, DriverInfo] = {}
        self.completed: collections.deque[DriverInfo] = collections.deque(maxlen=retained)
        self._number = 0
        self._cursor = 0  # round-robin position over workers (Spark 4's spreadOutDrivers)

    # ------------------------------------------------------------ client requests

    def submit(
        self, desc: DriverDescription, refused: str | None, workers: Workers
    ) -> tuple[SubmitDriverResponse, list[Effect]]:
        refused = refused or self._never_fits(desc, workers)
        if refused:
            return SubmitDriverResponse(success=False, driver_id="", message=refused), []
        driver, persist = self._create(desc)
        log.info("accepted driver %s (%s)", driver.id, desc.name)
        reply = SubmitDriverResponse(
            success=True,
            driver_id=driver.id,
            message=f"Driver successfully submitted as {driver.id}",
        )
        return reply, [persist, ScheduleSoon()]

    def _never_fits(self, desc: DriverDescription, workers: Workers) -> str | None:
        alive = [w for w in workers.values() if w.state == WorkerState.ALIVE]
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

    def _create(self, desc: DriverDescription) -> tuple[DriverInfo, Persist]:
        self._number += 1
        driver = DriverInfo(spark_id("driver", self._number), desc)
        self.active[driver.id] = driver
        return driver, Persist(driver_record(driver))

    def kill(
        self, driver_id: str, refused: str | None, workers: Workers, epoch: int
    ) -> tuple[KillDriverResponse, list[Effect]]:
        if refused:
            return KillDriverResponse(success=False, message=refused), []
        driver = self.active.get(driver_id)
        if driver is None:
            message = f"Driver {driver_id} has already finished or does not exist"
            return KillDriverResponse(success=False, message=message), []
        effects: list[Effect] = []
        if driver.state == DriverState.SUBMITTED:  # not placed yet: nothing runs anywhere
            effects = self.remove(
                driver, DriverState.KILLED, "killed before it was placed", workers
            )
        elif driver.worker_id in workers:
            effects = [TellWorker(driver.worker_id, KillDriver(epoch=epoch, driver_id=driver_id))]
        reply = KillDriverResponse(success=True, message=f"Kill request for {driver_id} submitted")
        return reply, effects

    def status(
        self, driver_id: str, refused: str | None, workers: Workers, epoch: int
    ) -> DriverStatusResponse:
        """The leader's answer carries its epoch: how a client tells two claimants apart."""
        if refused:
            return DriverStatusResponse(found=False, message=refused)
        driver = self.active.get(driver_id) or next(
            (d for d in self.completed if d.id == driver_id), None
        )
        if driver is None:
            return DriverStatusResponse(
                found=False, message=f"no driver {driver_id} is known here", epoch=epoch
            )
        worker = workers.get(driver.worker_id)
        return DriverStatusResponse(
            found=True,
            state=str(driver.state),
            worker_id=driver.worker_id,
            worker_host_port=worker.address if worker else "",
            message=driver.message,
            epoch=epoch,
        )

    # --------------------------------------------------------------- placement

    def place(self, workers: list[WorkerInfo], epoch: int) -> list[Effect]:
        """Launch waiting drivers on the given (ALIVE, connected) workers."""
        waiting = [d for d in self.active.values() if d.state == DriverState.SUBMITTED]
        if not waiting or not workers:
            return []
        slots = [scheduling.WorkerSlot(w.id, w.cores_free, w.memory_free) for w in workers]
        demands = [scheduling.DriverDemand(d.id, d.desc.cores, d.desc.memory_mb) for d in waiting]
        placed, self._cursor = scheduling.place_drivers(demands, slots, self._cursor)
        by_id = {w.id: w for w in workers}
        return [self._launch(self.active[d], by_id[w], epoch) for d, w in placed]

    def _launch(self, driver: DriverInfo, worker: WorkerInfo, epoch: int) -> TellWorker:
        log.info("launching driver %s on worker %s", driver.id, worker.id)
        driver.state = DriverState.RUNNING
        driver.worker_id = worker.id
        worker.drivers[driver.id] = driver
        launch = LaunchDriver(epoch=epoch, driver_id=driver.id, driver=driver.desc)
        return TellWorker(worker.id, launch)

    # ------------------------------------------------------------------ events

    def state_changed(self, m: DriverStateChanged, workers: Workers) -> list[Effect]:
        driver = self.active.get(m.driver_id)
        if driver is None or m.state not in FINAL:
            return []
        return self.remove(driver, m.state, m.message, workers)

    def remove(
        self, driver: DriverInfo, state: DriverState, message: str, workers: Workers
    ) -> list[Effect]:
        log.info("driver %s %s %s", driver.id, state, message)
        driver.state = state
        driver.message = message
        self.active.pop(driver.id, None)
        worker = workers.get(driver.worker_id)
        if worker is not None:
            worker.drivers.pop(driver.id, None)
        self.completed.append(driver)
        return [Forget(f"driver_{driver.id}"), ScheduleSoon()]

    def worker_lost(self, worker: WorkerInfo, workers: Workers) -> list[Effect]:
        effects: list[Effect] = []
        for driver in list(worker.drivers.values()):
            worker.drivers.pop(driver.id, None)
            effects += self._orphaned(driver, f"its worker {worker.id} was lost", workers)
        return effects

    def _orphaned(self, driver: DriverInfo, why: str, workers: Workers) -> list[Effect]:
        """Supervised: relaunch elsewhere under a new id; otherwise it ends in ERROR."""
        if not driver.desc.supervise:
            return self.remove(driver, DriverState.ERROR, why, workers)
        replacement, persist = self._create(driver.desc)
        relaunched = f"{why}; relaunched as {replacement.id}"
        return [persist, *self.remove(driver, DriverState.RELAUNCHING, relaunched, workers)]

    # ---------------------------------------------------------------- recovery

    def recovered(self, record: DriverRecord) -> None:
        driver = DriverInfo(record.id, record.desc, DriverState.UNKNOWN, start_ms=record.start_ms)
        self.active[driver.id] = driver
        tail = driver.id.rsplit("-", 1)[-1]
        if tail.isdigit():
            self._number = max(self._number, int(tail))

    def adopt(self, worker: WorkerInfo, driver_ids: list[str]) -> None:
        for driver_id in driver_ids:
            driver = self.active.get(driver_id)
            if driver is not None and driver.state in (DriverState.UNKNOWN, DriverState.RUNNING):
                driver.state = DriverState.RUNNING
                driver.worker_id = worker.id
                worker.drivers[driver_id] = driver

    def finish_recovery(self, workers: Workers) -> list[Effect]:
        effects: list[Effect] = []
        for driver in [d for d in self.active.values() if d.state == DriverState.UNKNOWN]:
            effects += self._orphaned(driver, "it was not found after master recovery", workers)
        return effects

"""Pure placement logic of the standalone Master's ``schedule()``.

This ports Spark 4's ``Master.scheduleExecutorsOnWorkers``, ``startExecutorsOnWorkers``,
``allocateWorkerResourceToExecutors`` and the ``spark.deploy.spreadOutDrivers`` driver loop
(reference: spark_standalone.md sections 2.4 and 2.7). Everything works on plain frozen
data. Nothing here sends messages, logs or keeps state, so the Master can call these functions
inside its event loop and the tests can use them without any networking.

Callers pass only ALIVE, non-decommissioned workers, as Spark filters ``WorkerState.ALIVE``
before scheduling. Custom resources (GPUs and so on) and ``spark.deploy.maxDrivers`` are not
modelled. A caller that needs ``maxDrivers`` truncates the driver list before calling.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class WorkerSlot:
    """Free capacity of one ALIVE worker, as ``WorkerInfo.coresFree`` / ``memoryFree``."""

    id: str
    cores_free: int
    memory_free_mb: int


@dataclass(frozen=True)
class AppDemand:
    """What an application still wants, as ``ApplicationInfo`` plus its executor description.

    ``executors_on`` (this app's existing executors per worker id) is informational. Following
    Spark, the algorithm does not read it. In ``scheduleExecutorsOnWorkers`` the per-worker
    executor count (``assignedExecutors``) covers only executors assigned *in this call*. So
    even with ``cores_per_executor=None`` (``oneExecutorPerWorker``), a worker that already
    hosts one of the app's executors can still get a new one. It gets one only if it has
    ``memory_per_executor_mb`` free beyond what the existing executor already holds, and that
    is already reflected in ``WorkerSlot.memory_free_mb``. Spark's own comment calls this out:
    "we may still launch multiple executors from the same application on the same worker".
    Existing executors matter only through ``executors``, which counts toward
    ``executor_limit``.
    """

    id: str
    cores_left: int
    cores_per_executor: int | None
    memory_per_executor_mb: int
    executor_limit: int
    executors: int
    # hash=False keeps the frozen dataclass hashable even though the default is a dict.
    executors_on: Mapping[str, int] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        # A block size of 0 would make the block loop below spin forever. Spark rejects
        # spark.executor.cores < 1 at submit time, so we reject it when the demand is built.
        if self.cores_per_executor is not None and self.cores_per_executor < 1:
            raise ValueError(f"cores_per_executor must be >= 1, got {self.cores_per_executor}")


@dataclass(frozen=True)
class ExecutorGrant:
    """One executor to launch: the ``LaunchExecutor`` payload minus identifiers."""

    app_id: str
    worker_id: str
    cores: int
    memory_mb: int


@dataclass(frozen=True)
class DriverDemand:
    """A waiting cluster-mode driver (``DriverDescription.cores`` / ``mem``)."""

    id: str
    cores: int
    memory_mb: int


def _min_cores(app: AppDemand) -> int:
    # Spark: minCoresPerExecutor = coresPerExecutor.getOrElse(1)
    return app.cores_per_executor if app.cores_per_executor is not None else 1


def _fits(worker: WorkerSlot, memory_mb: int, cores: int) -> bool:
    # Spark's canLaunch(): enough memory and enough cores (custom resources not modelled).
    return worker.memory_free_mb >= memory_mb and worker.cores_free >= cores


def assign_cores(app: AppDemand, workers: Sequence[WorkerSlot], spread_out: bool) -> list[int]:
    """Spark's scheduleExecutorsOnWorkers: cores assigned per worker, same order as `workers`.

    ``workers`` should already be the usable, sorted list (``place_executors`` builds it).
    Any other worker simply gets 0. Cores go out in blocks of ``cores_per_executor`` (or 1
    when it is unset), never one core at a time (SPARK-8881). Otherwise 4 workers x 16 cores
    with cores.max=48 and executor.cores=16 would end up with 12 cores on each worker, and
    no executor could start. With ``spread_out`` each qualifying worker gets one block per
    round-robin pass. Without it, a worker is filled until it cannot take another block, and
    then the next worker is tried.
    """
    min_cores = _min_cores(app)
    one_executor_per_worker = app.cores_per_executor is None
    assigned_cores = [0] * len(workers)
    assigned_executors = [0] * len(workers)  # NEW executors per worker in this call only
    new_executors = 0  # running sum(assigned_executors), Spark's assignedExecutors.sum
    cores_to_assign = min(app.cores_left, sum(w.cores_free for w in workers))

    def can_launch(pos: int) -> bool:
        keep_scheduling = cores_to_assign >= min_cores
        enough_cores = workers[pos].cores_free - assigned_cores[pos] >= min_cores
        # With one executor per worker, later blocks only grow the executor already assigned
        # here. That needs no extra memory and does not count against the executor limit.
        if one_executor_per_worker and assigned_executors[pos] > 0:
            return keep_scheduling and enough_cores
        assigned_memory = assigned_executors[pos] * app.memory_per_executor_mb
        enough_memory = workers[pos].memory_free_mb - assigned_memory >= app.memory_per_executor_mb
        under_limit = new_executors + app.executors < app.executor_limit
        return keep_scheduling and enough_cores and enough_memory and under_limit

    free_workers = [pos for pos in range(len(workers)) if can_launch(pos)]
    while free_workers:
        for pos in free_workers:
            while can_launch(pos):
                cores_to_assign -= min_cores
                assigned_cores[pos] += min_cores
                # One executor per worker: later blocks grow the same executor.
                if not one_executor_per_worker or assigned_executors[pos] == 0:
                    assigned_executors[pos] += 1
                    new_executors += 1
                if spread_out:
                    break  # one block per worker per pass
        free_workers = [pos for pos in free_workers if can_launch(pos)]
    return assigned_cores


def _usable_indices(app: AppDemand, workers: Sequence[WorkerSlot]) -> list[int]:
    """Indices of the workers that can take one executor, in CORES_FREE_DESC order.

    This matches Spark 4 exactly: ``sortBy(w => (w.coresFree, w.id)).reverse``. Ties on free
    cores therefore go to the *larger* worker id first.
    """
    usable = [
        i for i, w in enumerate(workers) if _fits(w, app.memory_per_executor_mb, _min_cores(app))
    ]
    return sorted(usable, key=lambda i: (workers[i].cores_free, workers[i].id), reverse=True)


def _allocate(app: AppDemand, worker: WorkerSlot, cores: int) -> list[ExecutorGrant]:
    # Spark's allocateWorkerResourceToExecutors: assigned cores are always a whole number of
    # blocks, so they split evenly into executors of cores_per_executor. When it is unset,
    # a single executor takes everything assigned on this worker.
    if app.cores_per_executor is None:
        return [ExecutorGrant(app.id, worker.id, cores, app.memory_per_executor_mb)]
    count = cores // app.cores_per_executor
    grant = ExecutorGrant(app.id, worker.id, app.cores_per_executor, app.memory_per_executor_mb)
    return [grant] * count


def _consume(worker: WorkerSlot, cores: int, memory_mb: int) -> WorkerSlot:
    return replace(
        worker,
        cores_free=worker.cores_free - cores,
        memory_free_mb=worker.memory_free_mb - memory_mb,
    )


def place_executors(
    apps: Sequence[AppDemand], workers: Sequence[WorkerSlot], spread_out: bool
) -> list[ExecutorGrant]:
    """Spark's startExecutorsOnWorkers: a FIFO over ``apps`` ("simple FIFO scheduler").

    For each app, in order:

    - Skip the app if ``cores_left < cores_per_executor`` (or < 1 when unset). Leftover
      cores smaller than one executor are never allocated.
    - Rank the usable workers CORES_FREE_DESC, Spark 4's default ``workerSelectionPolicy``.
      Ties go to the larger worker id, as Spark reverses an ascending (cores, id) sort.
    - Run ``assign_cores`` and turn each worker's cores into grants.

    Resources granted to one app are taken off the workers before the next app is placed.
    That is why, with the default unlimited cores, the first app takes the whole cluster.
    Grants come out app by app, in the same order the workers were ranked.
    """
    current = list(workers)
    grants: list[ExecutorGrant] = []
    for app in apps:
        if app.cores_left < _min_cores(app):
            continue
        order = _usable_indices(app, current)
        assigned = assign_cores(app, [current[i] for i in order], spread_out)
        for idx, cores in zip(order, assigned, strict=True):
            if cores <= 0:
                continue
            new = _allocate(app, current[idx], cores)
            current[idx] = _consume(current[idx], cores, len(new) * app.memory_per_executor_mb)
            grants.extend(new)
    return grants


def place_drivers(
    drivers: Sequence[DriverDemand], workers: Sequence[WorkerSlot], start: int = 0
) -> tuple[list[tuple[str, str]], int]:
    """Spark 4's spreadOutDrivers loop, made deterministic (no ``Random.shuffle``).

    ``start`` is Spark's ``curPos``: the index (mod ``len(workers)``) of the first worker to
    try. Each driver visits at most every worker once, starting where the last one stopped,
    and takes the first worker where ``memory_free >= mem`` and ``cores_free >= cores``.
    Earlier placements in this call are deducted first. Drivers take precedence over
    executors, so the caller must also deduct them before ``place_executors``. A driver
    that fits nowhere is left out and the cursor comes back to where it began. The function
    returns ``[(driver_id, worker_id)]`` and the cursor to pass as ``start`` next time: the
    worker after the last one visited.
    """
    n = len(workers)
    if n == 0:
        return [], start
    current = list(workers)
    pos = start % n
    placed: list[tuple[str, str]] = []
    for driver in drivers:
        for _ in range(n):
            idx, pos = pos, (pos + 1) % n
            if _fits(current[idx], driver.memory_mb, driver.cores):
                current[idx] = _consume(current[idx], driver.cores, driver.memory_mb)
                placed.append((driver.id, current[idx].id))
                break
    return placed, pos


def fits_anywhere_executor(app: AppDemand, workers: Sequence[WorkerSlot]) -> bool:
    """Whether any worker can take one executor of ``app`` (Spark's ``canLaunchExecutor``).

    Spark logs "App <id> requires more resource than any of Workers could have." when this
    is false and the app is the only waiting one and has no executors. Pass free capacity
    to ask "fits now", or total capacity to ask "could ever fit".
    """
    return _any_fits(workers, app.memory_per_executor_mb, _min_cores(app))


def fits_anywhere_driver(d: DriverDemand, workers: Sequence[WorkerSlot]) -> bool:
    """Whether any worker can take driver ``d`` (Spark's ``canLaunchDriver``).

    This backs the "Driver <id> requires more resource than any of Workers could have." log.
    Pass free or total capacity, as for ``fits_anywhere_executor``.
    """
    return _any_fits(workers, d.memory_mb, d.cores)


def _any_fits(workers: Iterable[WorkerSlot], memory_mb: int, cores: int) -> bool:
    return any(_fits(w, memory_mb, cores) for w in workers)

"""Inside a task process: run one task at a time for the executor that forked us.

An executor with C cores keeps C of these processes (forked warm, with everything imported),
so C tasks run at once for real, free of the GIL. Each receives a stage's pickled RDD chain
once, caches it, and then runs that stage's tasks as they come.
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import os
import pickle
import signal
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import cloudpickle

from .. import rpc
from ..protocol import (
    FetchShuffleBlock,
    Message,
    ShuffleBlock,
    TaskFailed,
    TaskFinished,
    TaskMetrics,
    ToExecutor,
)
from ..rdd import taskcontext
from ..rdd.dependency import ShuffleDependency
from . import shuffle
from .peakrss import PeakRss
from .shuffle import MemoryBudget

PR_SET_PDEATHSIG = 1
STAGE_CACHE = 8  # deserialised stages kept per process; stages of one job reuse them


@dataclass(frozen=True)
class Environment:
    """What every task process of an executor shares."""

    app_id: str
    worker_url: str  # host:port of our worker, which serves this host's shuffle files
    dirs: list[Path]  # the app's local dirs on this host
    security: rpc.Security
    task_memory_bytes: int | None  # spill above this resident size


@dataclass(frozen=True)
class Assignment:
    """One task, as the executor's main process hands it to a task process."""

    task_id: int
    stage_key: tuple[int, int]  # (stage id, stage attempt)
    binary: bytes | None  # only when this process has not seen the stage yet
    kind: str
    partition: int
    attempt: int
    locations: dict[int, list[str]]
    inputs: bytes = b""  # this task's own data (parallelize slices), pickled by the driver


class FetchFailedError(Exception):
    def __init__(self, shuffle_id: int, map_id: int, reason: str) -> None:
        super().__init__(f"could not fetch shuffle {shuffle_id} map {map_id}: {reason}")
        self.shuffle_id = shuffle_id
        self.map_id = map_id


@dataclass(frozen=True)
class _Unloadable:
    error: Exception
    trace: str


class StageLoadError(Exception):
    """The stage's pickled code could not be loaded here (e.g. a module the executor lacks:
    ship it with --py-files)."""


class ClusterTaskContext(taskcontext.TaskContext):
    def __init__(self, env: Environment, a: Assignment, clients: dict[str, rpc.BlockingClient]):
        super().__init__(stage_id=a.stage_key[0], partition_id=a.partition, attempt=a.attempt)
        self.env = env
        self.locations = a.locations
        self.clients = clients
        self.budget = MemoryBudget(env.task_memory_bytes)
        self.metrics = TaskMetrics()  # the shuffle figures as they are read and written

    def read_shuffle(self, dep: ShuffleDependency, reduce_id: int) -> Iterator[tuple[Any, Any]]:
        pairs = self._fetch_all(dep.shuffle_id, reduce_id)
        if dep.aggregator is None:
            return pairs
        return shuffle.combine_by_key(
            pairs,
            dep.aggregator,
            combined=dep.map_side_combine,
            budget=self.budget,
            scratch=self.env.dirs[0],
        )

    def _fetch_all(self, shuffle_id: int, reduce_id: int) -> Iterator[tuple[Any, Any]]:
        metrics = self.metrics
        for map_id, location in enumerate(self.locations[shuffle_id]):
            started = time.perf_counter_ns()
            data = self._fetch(shuffle_id, map_id, location, reduce_id)
            metrics.shuffle_fetch_wait_ms += (time.perf_counter_ns() - started) // 1_000_000
            for batch in shuffle.batch_lists(io.BytesIO(data)):
                metrics.shuffle_read_records += len(batch)
                yield from batch

    def _fetch(self, shuffle_id: int, map_id: int, location: str, reduce_id: int) -> bytes:
        worker, _, name = location.partition("/")
        metrics = self.metrics
        try:
            if worker == self.env.worker_url:  # written on this host: read the file directly
                data = shuffle.read_segment(self._dir_of(name), name, reduce_id)
                metrics.shuffle_local_blocks += 1
                metrics.shuffle_local_bytes += len(data)
            else:
                data = self._remote(worker, name, reduce_id)
                metrics.shuffle_remote_blocks += 1
                metrics.shuffle_remote_bytes += len(data)
        except (OSError, ValueError, rpc.RpcError, rpc.HandshakeError) as exc:
            raise FetchFailedError(shuffle_id, map_id, str(exc)) from exc
        return data

    def _dir_of(self, name: str) -> Path:
        for directory in self.env.dirs:
            if (directory / f"{name}.index").exists():
                return directory
        raise FileNotFoundError(f"{name} is not on this host")

    def _remote(self, worker: str, name: str, reduce_id: int) -> bytes:
        client = self.clients.get(worker)
        if client is None:
            host, _, port = worker.rpartition(":")
            client = rpc.BlockingClient(
                host, int(port), security=self.env.security, role="executor", inbound=ToExecutor
            )
            self.clients[worker] = client
        try:
            reply = client.ask(
                FetchShuffleBlock(app_id=self.env.app_id, file=name, reduce_id=reduce_id)
            )
        except (OSError, rpc.ConnectionClosed):
            self.clients.pop(worker, None)
            raise
        if not isinstance(reply, ShuffleBlock):
            raise ValueError(f"unexpected reply {type(reply).__name__}")
        return reply.data

    def cache_get(self, rdd_id: int, partition: int) -> list[Any] | None:
        path = self.env.dirs[0] / f"rdd_{rdd_id}_{partition}"
        try:
            with path.open("rb") as f:
                return pickle.load(f)  # type: ignore[no-any-return]
        except (OSError, EOFError, pickle.UnpicklingError):
            return None

    def cache_put(self, rdd_id: int, partition: int, records: Any) -> list[Any]:
        data = list(records)
        path = self.env.dirs[0] / f"rdd_{rdd_id}_{partition}"
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        with tmp.open("wb") as f:
            pickle.dump(data, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
        return data


class TaskProcess:
    def __init__(self, env: Environment, conn: Connection) -> None:
        self.env = env
        self.conn = conn
        self.stages: dict[tuple[int, int], Any] = {}
        self.clients: dict[str, rpc.BlockingClient] = {}
        self.peak = PeakRss()  # opened here, in the forked process it measures

    def serve(self) -> None:
        while True:
            try:
                assignment = self.conn.recv()
            except EOFError:  # the executor is gone: so are we
                return
            self.conn.send(self.run(assignment))

    def _stage(self, a: Assignment) -> Any:
        if a.binary is not None:
            if len(self.stages) >= STAGE_CACHE:
                self.stages.pop(next(iter(self.stages)))
            try:
                self.stages[a.stage_key] = cloudpickle.loads(a.binary)
            except Exception as exc:
                # The binary comes only once: remember why it failed, so every task of the
                # stage reports the real cause (a module missing on executors, say).
                self.stages[a.stage_key] = _Unloadable(exc, traceback.format_exc())
        stage = self.stages[a.stage_key]
        if isinstance(stage, _Unloadable):
            raise StageLoadError(f"cannot load the stage's code: {stage.error}\n{stage.trace}")
        return stage

    def run(self, a: Assignment) -> Message:
        started, cpu_started = time.perf_counter_ns(), time.process_time_ns()
        self.peak.reset()
        context = ClusterTaskContext(self.env, a, self.clients)
        taskcontext.set_current(context)
        try:
            reply = self._attempt(a, context)
        finally:
            taskcontext.set_current(None)
        metrics = context.metrics
        metrics.run_time_ms = (time.perf_counter_ns() - started) // 1_000_000
        metrics.cpu_time_ns = time.process_time_ns() - cpu_started
        metrics.peak_rss_bytes = self.peak.peak_bytes()
        metrics.input_bytes += context.input_bytes
        metrics.input_records = context.input_records
        metrics.memory_spilled_bytes = context.budget.memory_spilled_bytes
        metrics.disk_spilled_bytes = context.budget.disk_spilled_bytes
        if isinstance(reply, TaskFinished):
            metrics.result_bytes = len(reply.result)
        reply.metrics = metrics
        return reply

    def _attempt(self, a: Assignment, context: ClusterTaskContext) -> TaskFinished | TaskFailed:
        try:
            if a.inputs:
                context.task_inputs = pickle.loads(a.inputs)
                context.metrics.input_bytes = len(a.inputs)  # the slices, as they travelled
            rdd, work = self._stage(a)
            result = (
                self._run_map(a, rdd, work, context)
                if a.kind == "map"
                else self._run_result(rdd, work, context)
            )
            accumulators = pickle.dumps(context.accumulator_updates)
            return TaskFinished(
                task_id=a.task_id,
                result=result,
                accumulators=accumulators,
                spills=context.budget.spills,
            )
        except FetchFailedError as exc:
            return TaskFailed(
                task_id=a.task_id,
                error=str(exc),
                traceback="",
                fetch_failed_shuffle=exc.shuffle_id,
                fetch_failed_map=exc.map_id,
                error_class=_class_name(exc),
            )
        except BaseException as exc:  # user code: report everything, keep serving
            return TaskFailed(
                task_id=a.task_id,
                error=f"{type(exc).__name__}: {exc}",
                traceback=traceback.format_exc(),
                error_class=_class_name(exc),
            )

    def _run_result(self, rdd: Any, func: Any, context: ClusterTaskContext) -> bytes:
        value = func(context, rdd.iterator(context.partition_id, context))
        return bytes(cloudpickle.dumps(value))

    def _run_map(
        self, a: Assignment, rdd: Any, dep: ShuffleDependency, context: ClusterTaskContext
    ) -> bytes:
        name = shuffle.file_id(dep.shuffle_id, a.partition, a.task_id)
        directory = self.env.dirs[a.partition % len(self.env.dirs)]
        output = shuffle.write_map_output(
            rdd.iterator(a.partition, context),
            directory=directory,
            name=name,
            partition=dep.partitioner.partition,
            partitions=dep.partitioner.num_partitions,
            aggregator=dep.aggregator if dep.map_side_combine else None,
            budget=context.budget,
        )
        context.metrics.shuffle_write_bytes = output.bytes
        context.metrics.shuffle_write_records = output.records
        context.metrics.shuffle_write_time_ns = output.write_time_ns
        return f"{self.env.worker_url}/{name}".encode()


def _class_name(exc: BaseException) -> str:
    kind = type(exc)
    return (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )


def _detach(keep: int) -> None:
    """Close what the fork copied from the executor (its sockets to worker and driver: a
    dead executor's links must close) and die with the executor, even mid-task."""
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd > 2 and fd != keep:
            with contextlib.suppress(OSError):
                os.close(fd)
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() == 1:  # the executor died before the prctl took effect
            os._exit(1)


def main(env: Environment, conn: Connection) -> None:
    """Entry point of a forked task process."""
    _detach(conn.fileno())
    TaskProcess(env, conn).serve()

"""An in-process engine for the RDD unit tests: ``LocalContext(ContextAPI)``.

It keeps the cluster's rules where they catch mistakes in RDD code:

- every job's ``(rdd, func)`` and every map stage's ``(rdd, dependency)`` go through
  cloudpickle, and one unpickled copy serves all the stage's tasks (as a task process reuses
  a stage's closure), so unpicklable lineage and state leaking between tasks both show up;
- results, shuffle records, cached blocks and accumulator updates travel pickled;
- a shuffled RDD's tasks can only read the shuffle through ``read_shuffle``: map outputs are
  computed up front, parents first, with the dependency's partitioner and (map-side) combiner.

It also records each job's RDD id and partitions, so tests can check what actions scanned.
"""

from __future__ import annotations

import functools
import itertools
import pickle
from collections.abc import Callable, Iterable, Iterator, Sequence
from types import TracebackType
from typing import Any, TypeVar

import cloudpickle

from minispark.driver.dag import shuffle_boundaries, task_inputs
from minispark.rdd import taskcontext
from minispark.rdd.base import RDD
from minispark.rdd.contextapi import ContextAPI
from minispark.rdd.dependency import ShuffleDependency
from minispark.rdd.shared import merge_accumulator_updates
from minispark.rdd.sparkconf import SparkConf
from minispark.rdd.taskcontext import TaskContext

R = TypeVar("R")

MapOutput = list[list[tuple[Any, Any]]]  # reduce partition -> records


def _round_trip(value: Any) -> Any:
    return pickle.loads(cloudpickle.dumps(value))


class LocalTaskContext(TaskContext):
    def __init__(self, engine: LocalContext, stage_id: int, partition_id: int) -> None:
        super().__init__(stage_id, partition_id)
        self.engine = engine

    def read_shuffle(self, dep: ShuffleDependency, reduce_id: int) -> Iterator[tuple[Any, Any]]:
        outputs = self.engine.shuffles[dep.shuffle_id]
        records = itertools.chain.from_iterable(output[reduce_id] for output in outputs)
        aggregator = dep.aggregator
        if aggregator is None:
            return iter(list(records))
        merged: dict[Any, Any] = {}
        for key, value in records:
            if key not in merged:
                merged[key] = value if dep.map_side_combine else aggregator.create_combiner(value)
            elif dep.map_side_combine:
                merged[key] = aggregator.merge_combiners(merged[key], value)
            else:
                merged[key] = aggregator.merge_value(merged[key], value)
        return iter(merged.items())

    def cache_get(self, rdd_id: int, partition: int) -> list[Any] | None:
        block = self.engine.cache.get((rdd_id, partition))
        return None if block is None else list(pickle.loads(block))

    def cache_put(self, rdd_id: int, partition: int, records: Iterable[Any]) -> list[Any]:
        values = list(records)
        self.engine.cache[(rdd_id, partition)] = cloudpickle.dumps(values)
        return values


class LocalContext(ContextAPI):
    def __init__(self, parallelism: int = 2, conf: SparkConf | None = None) -> None:
        self._conf = conf or SparkConf(loadDefaults=False)
        self._parallelism = parallelism
        self.cache: dict[tuple[int, int], bytes] = {}
        self.shuffles: dict[int, list[MapOutput]] = {}
        self.jobs: list[tuple[int, list[int]]] = []  # (rdd id, partitions) per runJob
        self._stages = itertools.count()

    @property
    def defaultParallelism(self) -> int:  # noqa: N802
        configured = self._conf.get("spark.default.parallelism")
        return int(configured) if configured else self._parallelism

    def stop(self) -> None:
        self.cache.clear()
        self.shuffles.clear()

    def __enter__(self) -> LocalContext:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _unpersist_rdd(self, rdd_id: int, blocking: bool) -> None:
        for key in [key for key in self.cache if key[0] == rdd_id]:
            del self.cache[key]

    def runJob(  # noqa: N802
        self,
        rdd: RDD[Any],
        func: Callable[[TaskContext, Iterator[Any]], R],
        partitions: Sequence[int] | None = None,
    ) -> list[R]:
        count = rdd.getNumPartitions()
        splits = list(range(count)) if partitions is None else list(partitions)
        if any(not 0 <= split < count for split in splits):
            raise ValueError(f"partitions {splits} out of range for {count} partitions")
        self.jobs.append((rdd.id, splits))
        self._run_shuffles(rdd)
        task_rdd, task_func = _round_trip((rdd, func))
        stage = next(self._stages)
        return [self._run_task(stage, rdd, task_rdd, task_func, split) for split in splits]

    def _run_task(
        self,
        stage: int,
        original: RDD[Any],
        rdd: RDD[Any],
        func: Callable[[TaskContext, Iterator[Any]], Any],
        split: int,
    ) -> Any:
        context = LocalTaskContext(self, stage, split)
        # As the cluster engine does: the task's own data travels with it, pickled.
        context.task_inputs = _round_trip(task_inputs(original, split))
        previous = taskcontext.current()
        taskcontext.set_current(context)
        try:
            result = func(context, rdd.iterator(split, context))
        finally:
            taskcontext.set_current(previous)
        merge_accumulator_updates(pickle.loads(pickle.dumps(context.accumulator_updates)))
        return _round_trip(result)

    def _run_shuffles(self, rdd: RDD[Any]) -> None:
        """Compute the map side of every shuffle ``rdd`` reads, parents first."""
        for dep in shuffle_boundaries(rdd):
            if dep.shuffle_id in self.shuffles:
                continue
            self._run_shuffles(dep.rdd)
            parent, task_dep = _round_trip((dep.rdd, dep))
            stage = next(self._stages)
            map_task = functools.partial(_map_side, task_dep)
            self.shuffles[dep.shuffle_id] = [
                self._run_task(stage, dep.rdd, parent, map_task, split)
                for split in range(dep.num_maps)
            ]


def _map_side(
    dep: ShuffleDependency, _context: TaskContext, records: Iterator[tuple[Any, Any]]
) -> MapOutput:
    partitioner = dep.partitioner
    count = partitioner.num_partitions
    if not dep.map_side_combine:
        buckets: MapOutput = [[] for _ in range(count)]
        for key, value in records:
            buckets[_checked(partitioner.partition(key), count)].append((key, value))
        return buckets
    assert dep.aggregator is not None
    aggregator = dep.aggregator
    combined: list[dict[Any, Any]] = [{} for _ in range(count)]
    for key, value in records:
        bucket = combined[_checked(partitioner.partition(key), count)]
        if key in bucket:
            bucket[key] = aggregator.merge_value(bucket[key], value)
        else:
            bucket[key] = aggregator.create_combiner(value)
    return [list(bucket.items()) for bucket in combined]


def _checked(partition: int, count: int) -> int:
    if not 0 <= partition < count:
        raise ValueError(f"partitioner returned {partition}, outside 0..{count - 1}")
    return partition

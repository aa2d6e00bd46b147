"""``RDD``: a resilient distributed dataset, with PySpark's names, defaults and results.

An RDD is a recipe: how many partitions it has, which parents it needs (``dependencies``) and
how to compute one partition from them (``compute``). Transformations build new recipes on
the driver; actions hand a recipe and a per-partition function to ``ctx.runJob`` and combine
what comes back. The same objects are pickled into tasks, where ``ctx`` is None and only
``iterator``/``compute`` run, so everything a partition needs lives on the RDD itself.

This class is the public surface; the longer algorithms live in modules named after them
(``pairs``, ``sorting``, ``sampling``, ``actions``, ``textfiles``, ``histogram``, ``pipe``,
``lineage``), the RDD kinds that transformations make in ``derived``, and the functions tasks
run in ``perpartition``.

The RDD kinds in ``derived`` and ``textfiles`` subclass ``RDD``, so the methods that build
them import those modules when called: the package's one accepted function-level import.
"""

from __future__ import annotations

import copy
import functools
import itertools
import operator
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from . import actions, lineage, pairs, perpartition, sampling, sorting
from .dependency import Aggregator, Dependency, Partitioner, portable_hash
from .histogram import histogram
from .pipe import PipeThrough
from .statcounter import StatCounter
from .storagelevel import StorageLevel
from .taskcontext import TaskContext

if TYPE_CHECKING:
    from typing_extensions import TypeVar as DefaultedTypeVar

    from .contextapi import ContextAPI
    from .pairs import ResultIterable

    # With a default, a bare ``RDD`` annotation (as in the dependency contract) means
    # ``RDD[Any]``; typing_extensions is only needed by the type checker.
    T = DefaultedTypeVar("T", default=Any)
else:
    T = TypeVar("T")
U = TypeVar("U")
K = TypeVar("K")
V = TypeVar("V")
W = TypeVar("W")
C = TypeVar("C")

# Spark's SPARK-5063 advice, for an RDD used where only its pickled copy exists.
NO_CONTEXT = (
    "RDD transformations and actions can only be invoked by the driver, not inside of other "
    "transformations; for example, rdd1.map(lambda x: rdd2.values.count() * x) is invalid"
)


class RDDId(int):
    """An RDD's id: an ``int`` for the engine's keys, and callable, because PySpark's
    ``rdd.id()`` is a method."""

    def __call__(self) -> int:
        return int(self)


class RDD(Generic[T]):
    id: RDDId
    partitioner: Partitioner | None

    def __init__(self, ctx: ContextAPI, deps: Sequence[Dependency] = ()) -> None:
        self.ctx: ContextAPI | None = ctx
        self.id = RDDId(ctx._new_rdd_id())
        self._deps = list(deps)
        self.partitioner = None
        self._storage_level = StorageLevel.NONE
        self._name: str | None = None
        self._site = lineage.creation_site()

    # ------------------------------------------------------------ what kinds define

    def getNumPartitions(self) -> int:  # noqa: N802
        raise NotImplementedError

    def dependencies(self) -> list[Dependency]:
        return self._deps

    def compute(self, split: int, context: TaskContext) -> Iterator[T]:
        raise NotImplementedError

    # ------------------------------------------------------------ running in a task

    def iterator(self, split: int, context: TaskContext) -> Iterator[T]:
        """Partition ``split``: from the block cache when persisted, else computed."""
        if self._storage_level == StorageLevel.NONE:
            return self.compute(split, context)
        cached = context.cache_get(self.id, split)
        if cached is None:
            cached = context.cache_put(self.id, split, self.compute(split, context))
        return iter(cached)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["ctx"] = None  # the driver's context never travels; executors have none
        return state

    # ------------------------------------------------------------ identity

    @property
    def context(self) -> ContextAPI:
        if self.ctx is None:
            raise RuntimeError(NO_CONTEXT)
        return self.ctx

    def name(self) -> str | None:
        return self._name

    def setName(self, name: str) -> RDD[T]:  # noqa: N802
        self._name = name
        return self

    def __repr__(self) -> str:
        label = f"{self._name} " if self._name else ""
        return f"{label}{type(self).__name__}[{self.id}] at {self._site}"

    def toDebugString(self) -> bytes:  # noqa: N802
        """The lineage, one RDD per line, indented at each shuffle (bytes, as in PySpark)."""
        return lineage.debug_string(self).encode("utf-8")

    # ------------------------------------------------------------ persistence

    @property
    def is_cached(self) -> bool:
        return self._storage_level != StorageLevel.NONE

    def cache(self) -> RDD[T]:
        return self.persist(StorageLevel.MEMORY_ONLY)

    def persist(self, storageLevel: StorageLevel = StorageLevel.MEMORY_ONLY) -> RDD[T]:  # noqa: N803
        if self.is_cached and storageLevel != self._storage_level:
            raise ValueError(
                "Cannot change storage level of an RDD after it was already assigned a level"
            )
        self._storage_level = storageLevel
        return self

    def unpersist(self, blocking: bool = False) -> RDD[T]:
        self._storage_level = StorageLevel.NONE
        self.context._unpersist_rdd(self.id, blocking)
        return self

    def getStorageLevel(self) -> StorageLevel:  # noqa: N802
        return self._storage_level

    def isCheckpointed(self) -> bool:  # noqa: N802
        return False

    # ------------------------------------------------------------ element transformations

    def mapPartitionsWithIndex(  # noqa: N802
        self,
        f: Callable[[int, Iterator[T]], Iterable[U]],
        preservesPartitioning: bool = False,  # noqa: N803
    ) -> RDD[U]:
        from .derived import MapPartitionsRDD  # derived imports this module

        return MapPartitionsRDD(self, f, preservesPartitioning)

    def mapPartitions(  # noqa: N802
        self,
        f: Callable[[Iterator[T]], Iterable[U]],
        preservesPartitioning: bool = False,  # noqa: N803
    ) -> RDD[U]:
        return self.mapPartitionsWithIndex(
            functools.partial(perpartition.without_index, f), preservesPartitioning
        )

    def mapPartitionsWithSplit(  # noqa: N802
        self,
        f: Callable[[int, Iterator[T]], Iterable[U]],
        preservesPartitioning: bool = False,  # noqa: N803
    ) -> RDD[U]:
        """Deprecated PySpark alias of ``mapPartitionsWithIndex``."""
        return self.mapPartitionsWithIndex(f, preservesPartitioning)

    def map(self, f: Callable[[T], U], preservesPartitioning: bool = False) -> RDD[U]:  # noqa: N803
        return self.mapPartitionsWithIndex(
            functools.partial(perpartition.map_each, f), preservesPartitioning
        )

    def flatMap(  # noqa: N802
        self,
        f: Callable[[T], Iterable[U]],
        preservesPartitioning: bool = False,  # noqa: N803
    ) -> RDD[U]:
        return self.mapPartitionsWithIndex(
            functools.partial(perpartition.flat_map_each, f), preservesPartitioning
        )

    def filter(self, f: Callable[[T], object]) -> RDD[T]:
        return self.mapPartitionsWithIndex(functools.partial(perpartition.filter_each, f), True)

    def glom(self) -> RDD[list[T]]:
        return self.mapPartitionsWithIndex(perpartition.glom)

    def keyBy(self, f: Callable[[T], K]) -> RDD[tuple[K, T]]:  # noqa: N802
        return self.map(functools.partial(perpartition.key_by, f))

    def distinct(self, numPartitions: int | None = None) -> RDD[T]:  # noqa: N803
        # Typed Any: mypy confuses the class's T with the method's when self-types nest.
        keyed: RDD[Any] = self.map(perpartition.with_none)
        return keyed.reduceByKey(perpartition.keep_first, numPartitions).keys()

    def sample(self, withReplacement: bool, fraction: float, seed: int | None = None) -> RDD[T]:  # noqa: N803
        sampler = sampling.Sampler(withReplacement, fraction, seed)
        return self.mapPartitionsWithIndex(sampler, True)

    def sampleByKey(  # noqa: N802
        self: RDD[tuple[K, V]],
        withReplacement: bool,  # noqa: N803
        fractions: dict[K, float],
        seed: int | None = None,
    ) -> RDD[tuple[K, V]]:
        """``sample`` with a fraction per key (every key must have one)."""
        sampler = sampling.StratifiedSampler(withReplacement, fractions, seed)
        return self.mapPartitionsWithIndex(sampler, True)

    def randomSplit(self, weights: Sequence[float], seed: int | None = None) -> list[RDD[T]]:  # noqa: N802
        return [
            self.mapPartitionsWithIndex(band, True) for band in sampling.split_bands(weights, seed)
        ]

    def union(self, other: RDD[U]) -> RDD[T | U]:
        from .derived import union_of  # derived imports this module

        return union_of(self.context, [self, other])

    def __add__(self, other: RDD[U]) -> RDD[T | U]:
        if not isinstance(other, RDD):
            raise TypeError(f"can only add an RDD to an RDD, not {type(other).__name__}")
        return self.union(other)

    def intersection(self, other: RDD[T]) -> RDD[T]:
        return pairs.intersection(self, other)

    def subtract(self, other: RDD[T], numPartitions: int | None = None) -> RDD[T]:  # noqa: N803
        return pairs.subtract(self, other, numPartitions)

    def cartesian(self, other: RDD[U]) -> RDD[tuple[T, U]]:
        from .derived import CartesianRDD  # derived imports this module

        return CartesianRDD(self, other)

    def zip(self, other: RDD[U]) -> RDD[tuple[T, U]]:
        from .derived import ZippedRDD  # derived imports this module

        if self.getNumPartitions() != other.getNumPartitions():
            raise ValueError("Can only zip with RDD which has the same number of partitions")
        return ZippedRDD(self, other)

    def zipWithIndex(self) -> RDD[tuple[T, int]]:  # noqa: N802
        """Pairs each element with its position; runs a job to count the partitions first."""
        starts = [0]
        if self.getNumPartitions() > 1:
            counts = self.context.runJob(self, perpartition.count_partition)
            starts = list(itertools.accumulate(counts[:-1], initial=0))
        return self.mapPartitionsWithIndex(functools.partial(perpartition.index_from, starts))

    def zipWithUniqueId(self) -> RDD[tuple[T, int]]:  # noqa: N802
        """Ids ``k, n+k, 2n+k, ...`` in partition ``k`` of ``n``: unique without a job."""
        n = self.getNumPartitions()
        return self.mapPartitionsWithIndex(functools.partial(perpartition.unique_ids, n))

    def groupBy(  # noqa: N802
        self,
        f: Callable[[T], K],
        numPartitions: int | None = None,  # noqa: N803
        partitionFunc: Callable[[K], int] = portable_hash,  # noqa: N803
    ) -> RDD[tuple[K, ResultIterable[T]]]:
        keyed: RDD[Any] = self.keyBy(f)
        return keyed.groupByKey(numPartitions, partitionFunc)

    def sortBy(  # noqa: N802
        self,
        keyfunc: Callable[[T], Any],
        ascending: bool = True,
        numPartitions: int | None = None,  # noqa: N803
    ) -> RDD[T]:
        keyed: RDD[Any] = self.keyBy(keyfunc)
        return keyed.sortByKey(ascending, numPartitions).values()

    def coalesce(self, numPartitions: int, shuffle: bool = False) -> RDD[T]:  # noqa: N803
        from .derived import coalesced  # derived imports this module

        return coalesced(self, numPartitions, shuffle)

    def repartition(self, numPartitions: int) -> RDD[T]:  # noqa: N803
        return self.coalesce(numPartitions, shuffle=True)

    def pipe(
        self,
        command: str,
        env: dict[str, str] | None = None,
        checkCode: bool = False,  # noqa: N803
    ) -> RDD[str]:
        return self.mapPartitions(PipeThrough(command, env or {}, checkCode))

    # ------------------------------------------------------------ pair transformations

    def keys(self: RDD[tuple[K, V]]) -> RDD[K]:
        return self.map(perpartition.first)

    def values(self: RDD[tuple[K, V]]) -> RDD[V]:
        return self.map(perpartition.second)

    def mapValues(self: RDD[tuple[K, V]], f: Callable[[V], U]) -> RDD[tuple[K, U]]:  # noqa: N802
        return self.map(functools.partial(perpartition.map_value, f), preservesPartitioning=True)

    def flatMapValues(  # noqa: N802
        self: RDD[tuple[K, V]], f: Callable[[V], Iterable[U]]
    ) -> RDD[tuple[K, U]]:
        return self.flatMap(
            functools.partial(perpartition.flat_map_value, f), preservesPartitioning=True
        )

    def partitionBy(  # noqa: N802
        self: RDD[tuple[K, V]],
        numPartitions: int | None,  # noqa: N803
        partitionFunc: Callable[[K], int] = portable_hash,  # noqa: N803
    ) -> RDD[tuple[K, V]]:
        return pairs.partition_by(self, numPartitions, partitionFunc)

    def combineByKey(  # noqa: N802
        self: RDD[tuple[K, V]],
        createCombiner: Callable[[V], C],  # noqa: N803
        mergeValue: Callable[[C, V], C],  # noqa: N803
        mergeCombiners: Callable[[C, C], C],  # noqa: N803
        numPartitions: int | None = None,  # noqa: N803
        partitionFunc: Callable[[K], int] = portable_hash,  # noqa: N803
    ) -> RDD[tuple[K, C]]:
        aggregator = Aggregator(createCombiner, mergeValue, mergeCombiners)
        return pairs.combine_by_key(self, aggregator, numPartitions, partitionFunc)

    def reduceByKey(  # noqa: N802
        self: RDD[tuple[K, V]],
        func: Callable[[V, V], V],
        numPartitions: int | None = None,  # noqa: N803
        partitionFunc: Callable[[K], int] = portable_hash,  # noqa: N803
    ) -> RDD[tuple[K, V]]:
        return self.combineByKey(perpartition.identity, func, func, numPartitions, partitionFunc)

    def foldByKey(  # noqa: N802
        self: RDD[tuple[K, V]],
        zeroValue: V,  # noqa: N803
        func: Callable[[V, V], V],
        numPartitions: int | None = None,  # noqa: N803
        partitionFunc: Callable[[K], int] = portable_hash,  # noqa: N803
    ) -> RDD[tuple[K, V]]:
        start = functools.partial(pairs.fold_first, zeroValue, func)
        return self.combineByKey(start, func, func, numPartitions, partitionFunc)

    def aggregateByKey(  # noqa: N802
        self: RDD[tuple[K, V]],
        zeroValue: U,  # noqa: N803
        seqFunc: Callable[[U, V], U],  # noqa: N803
        combFunc: Callable[[U, U], U],  # noqa: N803
        numPartitions: int | None = None,  # noqa: N803
        partitionFunc: Callable[[K], int] = portable_hash,  # noqa: N803
    ) -> RDD[tuple[K, U]]:
        start = functools.partial(pairs.fold_first, zeroValue, seqFunc)
        return self.combineByKey(start, seqFunc, combFunc, numPartitions, partitionFunc)

    def groupByKey(  # noqa: N802
        self: RDD[tuple[K, V]],
        numPartitions: int | None = None,  # noqa: N803
        partitionFunc: Callable[[K], int] = portable_hash,  # noqa: N803
    ) -> RDD[tuple[K, ResultIterable[V]]]:
        return pairs.group_by_key(self, numPartitions, partitionFunc)

    def sortByKey(  # noqa: N802
        self: RDD[tuple[K, V]],
        ascending: bool = True,
        numPartitions: int | None = None,  # noqa: N803
        keyfunc: Callable[[K], Any] = perpartition.identity,
    ) -> RDD[tuple[K, V]]:
        return sorting.sort_by_key(self, ascending, numPartitions, keyfunc)

    def repartitionAndSortWithinPartitions(  # noqa: N802
        self: RDD[tuple[K, V]],
        numPartitions: int | None = None,  # noqa: N803
        partitionFunc: Callable[[K], int] = portable_hash,  # noqa: N803
        ascending: bool = True,
        keyfunc: Callable[[K], Any] = perpartition.identity,
    ) -> RDD[tuple[K, V]]:
        partitioned = self.partitionBy(numPartitions, partitionFunc)
        return sorting.sort_each_partition(partitioned, ascending, keyfunc)

    def join(
        self: RDD[tuple[K, V]],
        other: RDD[tuple[K, W]],
        numPartitions: int | None = None,  # noqa: N803
    ) -> RDD[tuple[K, tuple[V, W]]]:
        return pairs.join(self, other, numPartitions, keep_left=False, keep_right=False)

    def leftOuterJoin(  # noqa: N802
        self: RDD[tuple[K, V]],
        other: RDD[tuple[K, W]],
        numPartitions: int | None = None,  # noqa: N803
    ) -> RDD[tuple[K, tuple[V, W | None]]]:
        return pairs.join(self, other, numPartitions, keep_left=True, keep_right=False)

    def rightOuterJoin(  # noqa: N802
        self: RDD[tuple[K, V]],
        other: RDD[tuple[K, W]],
        numPartitions: int | None = None,  # noqa: N803
    ) -> RDD[tuple[K, tuple[V | None, W]]]:
        return pairs.join(self, other, numPartitions, keep_left=False, keep_right=True)

    def fullOuterJoin(  # noqa: N802
        self: RDD[tuple[K, V]],
        other: RDD[tuple[K, W]],
        numPartitions: int | None = None,  # noqa: N803
    ) -> RDD[tuple[K, tuple[V | None, W | None]]]:
        return pairs.join(self, other, numPartitions, keep_left=True, keep_right=True)

    def cogroup(
        self: RDD[tuple[K, V]],
        other: RDD[tuple[K, W]],
        numPartitions: int | None = None,  # noqa: N803
    ) -> RDD[tuple[K, tuple[ResultIterable[V], ResultIterable[W]]]]:
        return pairs.cogroup([self, other], numPartitions)  # type: ignore[return-value]

    def groupWith(  # noqa: N802
        self: RDD[tuple[K, Any]], other: RDD[tuple[K, Any]], *others: RDD[tuple[K, Any]]
    ) -> RDD[tuple[K, tuple[ResultIterable[Any], ...]]]:
        return pairs.cogroup([self, other, *others], None)

    def subtractByKey(  # noqa: N802
        self: RDD[tuple[K, V]],
        other: RDD[tuple[K, Any]],
        numPartitions: int | None = None,  # noqa: N803
    ) -> RDD[tuple[K, V]]:
        return pairs.subtract_by_key(self, other, numPartitions)

    # ------------------------------------------------------------ the engine's entry

    def _shuffle(
        self: RDD[tuple[K, V]],
        partitioner: Partitioner,
        aggregator: Aggregator[V, Any] | None = None,
        map_side_combine: bool = False,
    ) -> RDD[tuple[K, Any]]:
        """A stage boundary: records regrouped by ``partitioner``, optionally combined."""
        from .derived import ShuffledRDD  # derived imports this module

        return ShuffledRDD(self, partitioner, aggregator, map_side_combine)

    # ------------------------------------------------------------ actions

    def collect(self) -> list[T]:
        return [
            x for part in self.context.runJob(self, perpartition.collect_partition) for x in part
        ]

    def toLocalIterator(self, prefetchPartitions: bool = False) -> Iterator[T]:  # noqa: N802, N803
        """Every element, fetching one partition at a time (one job each)."""
        for split in range(self.getNumPartitions()):
            yield from self.context.runJob(self, perpartition.collect_partition, [split])[0]

    def count(self) -> int:
        return sum(self.context.runJob(self, perpartition.count_partition))

    def first(self) -> T:
        found = self.take(1)
        if not found:
            raise ValueError("RDD is empty")
        return found[0]

    def isEmpty(self) -> bool:  # noqa: N802
        return self.getNumPartitions() == 0 or not self.take(1)

    def take(self, num: int) -> list[T]:
        """The first ``num`` elements, scanning one partition first and then more at a time
        (up to four times as many as already scanned, guided by how many were found)."""
        return actions.take(self, num)

    def takeOrdered(self, num: int, key: Callable[[T], Any] | None = None) -> list[T]:  # noqa: N802
        return actions.top_n(self, num, key, largest=False)

    def top(self, num: int, key: Callable[[T], Any] | None = None) -> list[T]:
        return actions.top_n(self, num, key, largest=True)

    def takeSample(  # noqa: N802
        self,
        withReplacement: bool,  # noqa: N803
        num: int,
        seed: int | None = None,
    ) -> list[T]:
        return sampling.take_sample(self, withReplacement, num, seed)

    def reduce(self, f: Callable[[T, T], T]) -> T:
        return actions.reduce(self, f)

    def treeReduce(self, f: Callable[[T, T], T], depth: int = 2) -> T:  # noqa: N802
        return actions.tree_reduce(self, f, depth)

    def fold(self, zeroValue: T, op: Callable[[T, T], T]) -> T:  # noqa: N803
        """Folds each partition from a fresh copy of ``zeroValue``, then the partition results
        from another, on the driver."""
        job = functools.partial(perpartition.fold_partition, zeroValue, op)
        return functools.reduce(op, self.context.runJob(self, job), copy.deepcopy(zeroValue))

    def aggregate(
        self,
        zeroValue: U,  # noqa: N803
        seqOp: Callable[[U, T], U],  # noqa: N803
        combOp: Callable[[U, U], U],  # noqa: N803
    ) -> U:
        job = functools.partial(perpartition.fold_partition, zeroValue, seqOp)
        return functools.reduce(combOp, self.context.runJob(self, job), copy.deepcopy(zeroValue))

    def treeAggregate(  # noqa: N802
        self,
        zeroValue: U,  # noqa: N803
        seqOp: Callable[[U, T], U],  # noqa: N803
        combOp: Callable[[U, U], U],  # noqa: N803
        depth: int = 2,
    ) -> U:
        """Like ``aggregate``, but partition results are combined in rounds of shuffles so
        that the driver receives a few values instead of one per partition."""
        return actions.tree_aggregate(self, zeroValue, seqOp, combOp, depth)

    def sum(self) -> Any:
        return functools.reduce(
            operator.add, self.context.runJob(self, perpartition.sum_partition), 0
        )

    def max(self, key: Callable[[T], Any] | None = None) -> T:
        return self.reduce(functools.partial(perpartition.larger, key))

    def min(self, key: Callable[[T], Any] | None = None) -> T:
        return self.reduce(functools.partial(perpartition.smaller, key))

    def stats(self) -> StatCounter:
        counters = self.context.runJob(self, perpartition.stat_partition)
        return functools.reduce(StatCounter.mergeStats, counters, StatCounter())

    def mean(self) -> float:
        return self.stats().mean()

    def variance(self) -> float:
        return self.stats().variance()

    def stdev(self) -> float:
        return self.stats().stdev()

    def sampleStdev(self) -> float:  # noqa: N802
        return self.stats().sampleStdev()

    def sampleVariance(self) -> float:  # noqa: N802
        return self.stats().sampleVariance()

    def histogram(self, buckets: int | Sequence[Any]) -> tuple[Sequence[Any], list[int]]:
        return histogram(self, buckets)

    def countByValue(self) -> defaultdict[T, int]:  # noqa: N802
        return actions.count_by_value(self)

    def countByKey(self: RDD[tuple[K, V]]) -> defaultdict[K, int]:  # noqa: N802
        return self.keys().countByValue()

    def collectAsMap(self: RDD[tuple[K, V]]) -> dict[K, V]:  # noqa: N802
        return dict(self.collect())

    def reduceByKeyLocally(self: RDD[tuple[K, V]], func: Callable[[V, V], V]) -> dict[K, V]:  # noqa: N802
        return pairs.reduce_by_key_locally(self, func)

    def lookup(self: RDD[tuple[K, V]], key: K) -> list[V]:
        """Values for ``key``; only the one partition that can hold it when partitioned."""
        return pairs.lookup(self, key)

    def foreach(self, f: Callable[[T], Any]) -> None:
        self.context.runJob(self, functools.partial(perpartition.apply_each, f))

    def foreachPartition(self, f: Callable[[Iterator[T]], Any]) -> None:  # noqa: N802
        self.context.runJob(self, functools.partial(perpartition.apply_partition, f))

    def saveAsTextFile(self, path: str, compressionCodecClass: str | None = None) -> None:  # noqa: N802, N803
        from .textfiles import save_as_text_file  # textfiles imports this module

        save_as_text_file(self, path, compressionCodecClass)

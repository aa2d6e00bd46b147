"""The RDD kinds that transformations make, each saying how a partition comes from its parents.

Every kind keeps its parents and small per-partition plans as plain attributes: these objects
are pickled into tasks, and a task has nothing else to go on.
"""

from __future__ import annotations

import functools
import itertools
import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from .base import RDD
from .dependency import (
    Aggregator,
    Dependency,
    HashPartitioner,
    NarrowDependency,
    OneToOneDependency,
    Partitioner,
    RangeDependency,
    ShuffleDependency,
)
from .taskcontext import TaskContext

if TYPE_CHECKING:
    from .contextapi import ContextAPI

T = TypeVar("T")
U = TypeVar("U")


class MapPartitionsRDD(RDD[U]):
    """``func(split, parent's iterator)``: map, filter, flatMap, mapPartitions and friends.

    Consecutive ones are pipelined, as PySpark does: on top of another that is not
    persisted, the new functions join the old ones in one flat list over the same parent.
    That keeps long chains of transformations (iterative programs) to one object in a task's
    pickle, where a nested chain would exceed pickle's recursion limit after a few hundred.
    """

    prev: RDD[Any]
    funcs: list[Callable[[int, Iterator[Any]], Iterable[Any]]]

    def __init__(
        self,
        prev: RDD[Any],
        func: Callable[[int, Iterator[Any]], Iterable[U]],
        preserves_partitioning: bool = False,
    ) -> None:
        partitioner = prev.partitioner
        funcs: list[Callable[[int, Iterator[Any]], Iterable[Any]]] = [func]
        parent: RDD[Any] = prev
        if isinstance(prev, MapPartitionsRDD) and not prev.is_cached:
            funcs = [*prev.funcs, func]
            parent = prev.prev
        super().__init__(parent.context, [OneToOneDependency(parent)])
        self.prev = parent
        self.funcs = funcs
        if preserves_partitioning:
            self.partitioner = partitioner

    def getNumPartitions(self) -> int:  # noqa: N802
        return self.prev.getNumPartitions()

    def compute(self, split: int, context: TaskContext) -> Iterator[U]:
        records: Iterator[Any] = self.prev.iterator(split, context)
        for func in self.funcs:
            records = iter(func(split, records))
        return records


class UnionRDD(RDD[T]):
    """The parents' partitions one after another."""

    def __init__(self, ctx: ContextAPI, rdds: Sequence[RDD[T]]) -> None:
        deps: list[Dependency] = []
        self.rdds = list(rdds)
        self.splits: list[tuple[int, int]] = []  # (which parent, its partition)
        for which, rdd in enumerate(self.rdds):
            count = rdd.getNumPartitions()
            deps.append(RangeDependency(rdd, 0, len(self.splits), count))
            self.splits.extend((which, split) for split in range(count))
        super().__init__(ctx, deps)

    def getNumPartitions(self) -> int:  # noqa: N802
        return len(self.splits)

    def compute(self, split: int, context: TaskContext) -> Iterator[T]:
        which, parent_split = self.splits[split]
        return self.rdds[which].iterator(parent_split, context)


class PartitionerAwareUnionRDD(RDD[T]):
    """A union of parents partitioned alike: partition ``i`` joins every parent's ``i``, so
    the result keeps the partitioner and a following by-key operation needs no shuffle."""

    def __init__(self, ctx: ContextAPI, rdds: Sequence[RDD[T]]) -> None:
        self.rdds = list(rdds)
        super().__init__(ctx, [OneToOneDependency(rdd) for rdd in self.rdds])
        self.partitioner = self.rdds[0].partitioner

    def getNumPartitions(self) -> int:  # noqa: N802
        return self.rdds[0].getNumPartitions()

    def compute(self, split: int, context: TaskContext) -> Iterator[T]:
        return itertools.chain.from_iterable(rdd.iterator(split, context) for rdd in self.rdds)


def union_of(ctx: ContextAPI, rdds: Sequence[RDD[Any]]) -> RDD[Any]:
    """One union of ``rdds``. Unions among them are opened up (unless persisted), so that
    a program that grows an RDD by a union per iteration keeps a flat lineage."""
    if not rdds:
        raise ValueError("union needs at least one RDD")
    rdds = [
        part
        for rdd in rdds
        for part in (rdd.rdds if isinstance(rdd, UnionRDD) and not rdd.is_cached else [rdd])
    ]
    partitioners = {rdd.partitioner for rdd in rdds}
    if len(partitioners) == 1 and None not in partitioners:
        return PartitionerAwareUnionRDD(ctx, rdds)
    return UnionRDD(ctx, rdds)


class _CartesianDependency(NarrowDependency):
    """Cartesian partition ``p`` pairs left partition ``p // n`` with right ``p % n``."""

    def __init__(self, rdd: RDD[Any], right_count: int, left: bool) -> None:
        super().__init__(rdd)
        self.right_count = right_count
        self.left = left

    def get_parents(self, partition: int) -> list[int]:
        quotient, remainder = divmod(partition, self.right_count)
        return [quotient if self.left else remainder]


class CartesianRDD(RDD[tuple[T, U]]):
    def __init__(self, left: RDD[T], right: RDD[U]) -> None:
        self.left = left
        self.right = right
        self.right_count = right.getNumPartitions()
        super().__init__(
            left.context,
            [
                _CartesianDependency(left, self.right_count, left=True),
                _CartesianDependency(right, self.right_count, left=False),
            ],
        )

    def getNumPartitions(self) -> int:  # noqa: N802
        return self.left.getNumPartitions() * self.right_count

    def compute(self, split: int, context: TaskContext) -> Iterator[tuple[T, U]]:
        left_split, right_split = divmod(split, self.right_count)
        rights = list(self.right.iterator(right_split, context))  # read once, paired many times
        for x in self.left.iterator(left_split, context):
            for y in rights:
                yield (x, y)


class ZippedRDD(RDD[tuple[T, U]]):
    # Parents are ``left``/``right``: ``first`` would hide the RDD.first() action.
    def __init__(self, left: RDD[T], right: RDD[U]) -> None:
        super().__init__(left.context, [OneToOneDependency(left), OneToOneDependency(right)])
        self.left = left
        self.right = right

    def getNumPartitions(self) -> int:  # noqa: N802
        return self.left.getNumPartitions()

    def compute(self, split: int, context: TaskContext) -> Iterator[tuple[T, U]]:
        missing: Any = object()
        pairs = itertools.zip_longest(
            self.left.iterator(split, context),
            self.right.iterator(split, context),
            fillvalue=missing,
        )
        for x, y in pairs:
            if x is missing or y is missing:
                raise ValueError("Can only zip RDDs with same number of elements in each partition")
            yield (x, y)


class _CoalescedDependency(NarrowDependency):
    def __init__(self, rdd: RDD[Any], groups: list[list[int]]) -> None:
        super().__init__(rdd)
        self.groups = groups

    def get_parents(self, partition: int) -> list[int]:
        return self.groups[partition]


class CoalescedRDD(RDD[T]):
    """Fewer partitions without a shuffle: each takes a contiguous run of parent partitions,
    so the order of elements is kept."""

    def __init__(self, prev: RDD[T], count: int) -> None:
        total = prev.getNumPartitions()
        count = min(count, total)
        self.groups = [
            list(range(i * total // count, (i + 1) * total // count)) for i in range(count)
        ]
        super().__init__(prev.context, [_CoalescedDependency(prev, self.groups)])
        self.prev = prev

    def getNumPartitions(self) -> int:  # noqa: N802
        return len(self.groups)

    def compute(self, split: int, context: TaskContext) -> Iterator[T]:
        return itertools.chain.from_iterable(
            self.prev.iterator(parent, context) for parent in self.groups[split]
        )


class ShuffledRDD(RDD[tuple[Any, Any]]):
    """The reduce side of a shuffle: reads its partition of every map output, never the
    parent itself (the dependency is pickled without it)."""

    def __init__(
        self,
        prev: RDD[Any],
        partitioner: Partitioner,
        aggregator: Aggregator[Any, Any] | None = None,
        map_side_combine: bool = False,
    ) -> None:
        self.shuffle_dep = ShuffleDependency(prev, partitioner, aggregator, map_side_combine)
        super().__init__(prev.context, [self.shuffle_dep])
        self.partitioner = partitioner

    def getNumPartitions(self) -> int:  # noqa: N802
        return self.shuffle_dep.partitioner.num_partitions

    def compute(self, split: int, context: TaskContext) -> Iterator[tuple[Any, Any]]:
        return iter(context.read_shuffle(self.shuffle_dep, split))


def coalesced(rdd: RDD[T], count: int, shuffle: bool) -> RDD[T]:
    """``coalesce``: without a shuffle, runs of parent partitions joined in order; with one,
    the elements dealt out afresh (``repartition``)."""
    if not count > 0:
        raise ValueError("Number of partitions must be positive.")
    if shuffle:
        return round_robin_shuffle(rdd, count)
    return CoalescedRDD(rdd, count)


def round_robin_shuffle(rdd: RDD[T], count: int) -> RDD[T]:
    """``repartition``: deal each partition's elements round-robin over ``count`` partitions,
    from a start that varies by partition so that small partitions do not all pile into the
    first few."""
    dealt = rdd.mapPartitionsWithIndex(functools.partial(_deal, count))
    shuffled = dealt._shuffle(HashPartitioner(count, _position))
    return shuffled.values()


def _deal(count: int, split: int, it: Iterator[T]) -> Iterator[tuple[int, T]]:
    start = random.Random(split).randrange(count)
    return (((start + i) % count, x) for i, x in enumerate(it))


def _position(key: int) -> int:
    return key

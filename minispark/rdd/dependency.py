"""How an RDD depends on its parents, and how shuffled data is split and combined.

This is the contract between the RDD API (``rdd.py``) and the engine that runs it
(``dag.py`` and the executors). A narrow dependency lets a partition be computed from a few
parent partitions in the same task; a ``ShuffleDependency`` is where the DAG scheduler cuts
a stage: map tasks partition (and, with an aggregator, pre-combine) the parent's records,
and the child reads its partition from every map task's output.
"""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from .base import RDD

K = TypeVar("K")
V = TypeVar("V")
C = TypeVar("C")


def portable_hash(value: Any) -> int:
    """A hash that is the same in every process, unlike ``hash(str)`` (randomised per process).

    Shuffle map tasks and the driver (``lookup``, ``partitionBy``) must agree on which partition
    a key belongs to, so strings and bytes use CRC32 rather than Python's seeded hash; tuples
    combine their items the way PySpark's portable_hash does.
    """
    if value is None:
        return 0
    if isinstance(value, str):
        return zlib.crc32(value.encode("utf-8", "surrogatepass"))
    if isinstance(value, bytes | bytearray):
        return zlib.crc32(value)
    if isinstance(value, tuple):
        h = 0x345678
        for item in value:
            h ^= portable_hash(item)
            h = (h * 1000003) & 0xFFFFFFFFFFFFFFFF
        return h ^ len(value)
    if isinstance(value, frozenset):
        return sum(portable_hash(item) for item in value) & 0xFFFFFFFFFFFFFFFF
    return hash(value)


class Partitioner:
    """Maps a key to a partition in ``range(num_partitions)``."""

    def __init__(self, num_partitions: int) -> None:
        if num_partitions < 1:
            raise ValueError(f"number of partitions must be at least 1, got {num_partitions}")
        self.num_partitions = num_partitions

    def partition(self, key: Any) -> int:
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and vars(other) == vars(self)

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.num_partitions))


class HashPartitioner(Partitioner):
    """PySpark's default: ``partition_func(key) % n`` with ``portable_hash``."""

    def __init__(self, num_partitions: int, partition_func: Callable[[Any], int] = portable_hash):
        super().__init__(num_partitions)
        self.partition_func = partition_func

    def partition(self, key: Any) -> int:
        return self.partition_func(key) % self.num_partitions


class RangePartitioner(Partitioner):
    """Sorted ranges between ``bounds`` (for sortByKey); ``bounds`` has n-1 sorted keys."""

    def __init__(
        self,
        bounds: list[Any],
        ascending: bool = True,
        key_func: Callable[[Any], Any] = lambda k: k,
    ) -> None:
        super().__init__(len(bounds) + 1)
        self.bounds = bounds
        self.ascending = ascending
        self.key_func = key_func

    def partition(self, key: Any) -> int:
        import bisect

        index = bisect.bisect_left(self.bounds, self.key_func(key))
        return index if self.ascending else self.num_partitions - 1 - index


@dataclass(frozen=True)
class Aggregator(Generic[V, C]):
    """combineByKey's three functions: the unit of map-side and reduce-side combining."""

    create_combiner: Callable[[V], C]
    merge_value: Callable[[C, V], C]
    merge_combiners: Callable[[C, C], C]


class Dependency:
    def __init__(self, rdd: RDD) -> None:
        self.rdd = rdd


class NarrowDependency(Dependency):
    """Each child partition needs only the parent partitions ``get_parents`` names."""

    def get_parents(self, partition: int) -> list[int]:
        raise NotImplementedError


class OneToOneDependency(NarrowDependency):
    def get_parents(self, partition: int) -> list[int]:
        return [partition]


class RangeDependency(NarrowDependency):
    """Child partitions ``out_start..out_start+length`` are parent's ``in_start..`` (union)."""

    def __init__(self, rdd: RDD, in_start: int, out_start: int, length: int) -> None:
        super().__init__(rdd)
        self.in_start = in_start
        self.out_start = out_start
        self.length = length

    def get_parents(self, partition: int) -> list[int]:
        if self.out_start <= partition < self.out_start + self.length:
            return [partition - self.out_start + self.in_start]
        return []


_shuffle_ids = itertools.count()


class ShuffleDependency(Dependency):
    """A stage boundary. Pickled into the child's tasks *without* the parent RDD (the
    executors read the shuffle output; they never recompute the parent), as Spark marks
    ``ShuffleDependency.rdd`` transient."""

    def __init__(
        self,
        rdd: RDD,
        partitioner: Partitioner,
        aggregator: Aggregator[Any, Any] | None = None,
        map_side_combine: bool = False,
    ) -> None:
        super().__init__(rdd)
        self.partitioner = partitioner
        self.aggregator = aggregator
        self.map_side_combine = map_side_combine and aggregator is not None
        self.shuffle_id = next(_shuffle_ids)
        self.num_maps = rdd.getNumPartitions()

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["rdd"] = None
        return state


def is_hashable(value: Any) -> bool:
    return isinstance(value, Hashable)

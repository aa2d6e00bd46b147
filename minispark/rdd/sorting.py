"""``sortByKey``: a total order across partitions from a sample of the keys.

A small sample (about 20 keys per output partition, as Spark's RangePartitioner takes) picks
boundary keys so that output partition ``i`` holds only keys before those of ``i + 1``; each
partition is then sorted on its own, so ``collect()`` comes back in order.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from .dependency import RangePartitioner
from .pairs import partition_count, with_partitioner

if TYPE_CHECKING:
    from .base import RDD

K = TypeVar("K")
V = TypeVar("V")

SAMPLE_PER_PARTITION = 20.0
SAMPLE_SEED = 1  # fixed, so that sorting the same data twice partitions it the same way


def sort_by_key(
    rdd: RDD[tuple[K, V]], ascending: bool, count: int | None, keyfunc: Callable[[K], Any]
) -> RDD[tuple[K, V]]:
    count = partition_count(rdd, count)
    if count == 1:
        single = rdd.coalesce(1) if rdd.getNumPartitions() > 1 else rdd
        return sort_each_partition(single, ascending, keyfunc)
    size = rdd.count()
    if not size:
        return rdd
    bounds = _bounds(rdd, size, count, keyfunc)
    partitioner = RangePartitioner(bounds, ascending, keyfunc)
    return sort_each_partition(with_partitioner(rdd, partitioner), ascending, keyfunc)


def _bounds(rdd: RDD[tuple[K, V]], size: int, count: int, keyfunc: Callable[[K], Any]) -> list[Any]:
    """``count - 1`` evenly spaced sort keys from a sample: the partitions' upper limits."""
    fraction = min(SAMPLE_PER_PARTITION * count / size, 1.0)
    sample = rdd.sample(False, fraction, SAMPLE_SEED).keys().collect()
    keys = sorted(keyfunc(key) for key in sample)
    if not keys:
        return []
    return [keys[len(keys) * (i + 1) // count] for i in range(count - 1)]


def sort_each_partition(
    rdd: RDD[tuple[K, V]], ascending: bool, keyfunc: Callable[[K], Any]
) -> RDD[tuple[K, V]]:
    return rdd.mapPartitions(functools.partial(_sorted, ascending, keyfunc), True)


def _sorted(
    ascending: bool, keyfunc: Callable[[K], Any], it: Iterator[tuple[K, V]]
) -> list[tuple[K, V]]:
    return sorted(it, key=lambda pair: keyfunc(pair[0]), reverse=not ascending)

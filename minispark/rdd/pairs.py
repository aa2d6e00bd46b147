"""By-key operations on RDDs of ``(key, value)`` pairs: combining, grouping, joining.

Everything here is built on one primitive, ``combineByKey``: a shuffle whose map side
pre-combines values per key (``Aggregator``) and whose reduce side merges the combiners. When
the RDD is already partitioned the way the result would be, no shuffle is needed at all.
Joins and cogroup tag each side's values, union the sides and group by key, as PySpark does.
The by-key actions (``lookup``, ``reduceByKeyLocally``) are here too.
"""

from __future__ import annotations

import copy
import functools
import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from . import perpartition
from .dependency import Aggregator, HashPartitioner, Partitioner

if TYPE_CHECKING:
    from .base import RDD

T = TypeVar("T")
K = TypeVar("K")
V = TypeVar("V")
C = TypeVar("C")


class ResultIterable(Generic[T]):
    """The values of one key after a grouping: iterable, sized, and ``.data`` is the list."""

    def __init__(self, data: list[T]) -> None:
        self.data = data
        self.index = 0
        self.maxindex = len(data)

    def __iter__(self) -> Iterator[T]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)


def partition_by(
    rdd: RDD[tuple[K, V]], count: int | None, partition_func: Callable[[K], int]
) -> RDD[tuple[K, V]]:
    partitioner = HashPartitioner(partition_count(rdd, count), partition_func)
    return with_partitioner(rdd, partitioner)


def with_partitioner(rdd: RDD[tuple[K, V]], partitioner: Partitioner) -> RDD[tuple[K, V]]:
    """``rdd`` laid out by ``partitioner``: itself when it already is."""
    if rdd.partitioner == partitioner:
        return rdd
    return rdd._shuffle(partitioner)


def combine_by_key(
    rdd: RDD[tuple[K, V]],
    aggregator: Aggregator[V, C],
    count: int | None,
    partition_func: Callable[[K], int],
) -> RDD[tuple[K, C]]:
    partitioner = HashPartitioner(partition_count(rdd, count), partition_func)
    if rdd.partitioner == partitioner:  # every key is already in its partition
        return rdd.mapPartitions(functools.partial(_combine_locally, aggregator), True)
    return rdd._shuffle(partitioner, aggregator, map_side_combine=True)


def group_by_key(
    rdd: RDD[tuple[K, V]], count: int | None, partition_func: Callable[[K], int]
) -> RDD[tuple[K, ResultIterable[V]]]:
    # No map-side combine: putting values in lists saves nothing on the wire.
    aggregator: Aggregator[V, list[V]] = Aggregator(_single, _append, _extend)
    partitioner = HashPartitioner(partition_count(rdd, count), partition_func)
    grouped: RDD[tuple[K, list[V]]]
    if rdd.partitioner == partitioner:
        grouped = rdd.mapPartitions(functools.partial(_combine_locally, aggregator), True)
    else:
        grouped = rdd._shuffle(partitioner, aggregator, map_side_combine=False)
    return grouped.mapValues(ResultIterable)


def join(
    left: RDD[tuple[K, Any]],
    right: RDD[tuple[K, Any]],
    count: int | None,
    *,
    keep_left: bool,
    keep_right: bool,
) -> RDD[tuple[K, Any]]:
    """Inner and outer joins: ``keep_left`` keeps left values without a match (paired with
    None), ``keep_right`` the same for the right side."""
    grouped = _tagged([left, right]).groupByKey(count)
    return grouped.flatMapValues(functools.partial(_pair_up, keep_left, keep_right))


def cogroup(
    rdds: Sequence[RDD[tuple[K, Any]]], count: int | None
) -> RDD[tuple[K, tuple[ResultIterable[Any], ...]]]:
    grouped = _tagged(rdds).groupByKey(count)
    return grouped.mapValues(functools.partial(_split_by_tag, len(rdds)))


def subtract_by_key(
    rdd: RDD[tuple[K, V]], other: RDD[tuple[K, Any]], count: int | None
) -> RDD[tuple[K, V]]:
    grouped = rdd.cogroup(other, count)
    return grouped.filter(_only_in_first).flatMapValues(_first_group)


def subtract(rdd: RDD[T], other: RDD[T], count: int | None) -> RDD[T]:
    mine = rdd.map(_with_true)
    theirs = other.map(_with_true)
    return mine.subtractByKey(theirs, count).keys()


def intersection(rdd: RDD[T], other: RDD[T]) -> RDD[T]:
    grouped = rdd.map(_with_none).cogroup(other.map(_with_none))
    return grouped.filter(_in_all).keys()


def fold_first(zero: C, func: Callable[[C, V], C], value: V) -> C:
    """A key's first value folded into its own copy of the zero (foldByKey, aggregateByKey)."""
    return func(copy.deepcopy(zero), value)


def reduce_by_key_locally(rdd: RDD[tuple[K, V]], func: Callable[[V, V], V]) -> dict[K, V]:
    """Each partition reduced to a dict in its task, the dicts merged on the driver."""
    merged: dict[K, V] = {}
    for part in rdd.context.runJob(rdd, functools.partial(reduce_locally, func)):
        for key, value in part.items():
            merged[key] = func(merged[key], value) if key in merged else value
    return merged


def reduce_locally(
    func: Callable[[V, V], V], _context: Any, it: Iterator[tuple[K, V]]
) -> dict[K, V]:
    merged: dict[K, V] = {}
    for key, value in it:
        merged[key] = func(merged[key], value) if key in merged else value
    return merged


def lookup(rdd: RDD[tuple[K, V]], key: K) -> list[V]:
    found = rdd.filter(functools.partial(perpartition.has_key, key)).values()
    if rdd.partitioner is None:
        return found.collect()
    split = rdd.partitioner.partition(key)
    return rdd.context.runJob(found, perpartition.collect_partition, [split])[0]


def partition_count(rdd: RDD[Any], count: int | None) -> int:
    """A shuffle's partition count: ``count`` when given, else PySpark's rule,
    spark.default.parallelism when set, else the parent's count."""
    if count is not None:
        return count
    context = rdd.context
    if context._conf.contains("spark.default.parallelism"):
        return context.defaultParallelism
    return max(1, rdd.getNumPartitions())


def _combine_locally(
    aggregator: Aggregator[V, C], it: Iterator[tuple[K, V]]
) -> Iterator[tuple[K, C]]:
    combined: dict[K, C] = {}
    for key, value in it:
        if key in combined:
            combined[key] = aggregator.merge_value(combined[key], value)
        else:
            combined[key] = aggregator.create_combiner(value)
    return iter(combined.items())


def _single(value: V) -> list[V]:
    return [value]


def _append(values: list[V], value: V) -> list[V]:
    values.append(value)
    return values


def _extend(values: list[V], more: list[V]) -> list[V]:
    values.extend(more)
    return values


def _tagged(rdds: Sequence[RDD[tuple[K, Any]]]) -> RDD[tuple[K, tuple[int, Any]]]:
    """The union of ``rdds`` with each value tagged by the position of its RDD."""
    tagged = [rdd.mapValues(functools.partial(_tag, i)) for i, rdd in enumerate(rdds)]
    return functools.reduce(lambda a, b: a.union(b), tagged)


def _tag(tag: int, value: V) -> tuple[int, V]:
    return (tag, value)


def _split_by_tag(count: int, tagged: Iterable[tuple[int, Any]]) -> tuple[ResultIterable[Any], ...]:
    groups: list[list[Any]] = [[] for _ in range(count)]
    for tag, value in tagged:
        groups[tag].append(value)
    return tuple(ResultIterable(group) for group in groups)


def _pair_up(
    keep_left: bool, keep_right: bool, tagged: Iterable[tuple[int, Any]]
) -> Iterator[tuple[Any, Any]]:
    lefts, rights = _split_by_tag(2, tagged)
    left_values: list[Any] = lefts.data or ([None] if keep_right else [])
    right_values: list[Any] = rights.data or ([None] if keep_left else [])
    return itertools.product(left_values, right_values)


def _only_in_first(pair: tuple[Any, tuple[ResultIterable[Any], ...]]) -> bool:
    mine, theirs = pair[1]
    return bool(mine) and not theirs


def _first_group(groups: tuple[ResultIterable[V], ...]) -> ResultIterable[V]:
    return groups[0]


def _in_all(pair: tuple[Any, tuple[ResultIterable[Any], ...]]) -> bool:
    return all(pair[1])


def _with_true(x: T) -> tuple[T, bool]:
    return (x, True)


def _with_none(x: T) -> tuple[T, None]:
    return (x, None)

"""The driver's side of the actions that do more than run one job and concatenate: ``take``'s
widening scan, ``reduce`` and ``countByValue`` merging partition results, and
``treeAggregate``'s rounds of shuffles (with ``treeReduce`` on top).

What each task computes is in ``perpartition``; these functions decide which jobs to run and
how their results meet on the driver.
"""

from __future__ import annotations

import copy
import functools
import itertools
import math
from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from . import perpartition

if TYPE_CHECKING:
    from .base import RDD

T = TypeVar("T")
U = TypeVar("U")


def take(rdd: RDD[T], num: int) -> list[T]:
    items: list[T] = []
    total = rdd.getNumPartitions()
    scanned = 0
    while len(items) < num and scanned < total:
        tries = _partitions_to_try(num, len(items), scanned)
        splits = list(range(scanned, min(scanned + tries, total)))
        job = functools.partial(perpartition.take_from_partition, num - len(items))
        for part in rdd.context.runJob(rdd, job, splits):
            items.extend(part)
        scanned += tries
    return items[:num]


def _partitions_to_try(num: int, found: int, scanned: int) -> int:
    """How many more partitions ``take`` should scan: one at first, four times the scanned
    count while nothing is found, else an estimate from the rate so far, padded by half."""
    if scanned == 0:
        return 1
    if found == 0:
        return scanned * 4
    estimate = int(1.5 * num * scanned / found) - scanned
    return min(max(estimate, 1), scanned * 4)


def reduce(rdd: RDD[T], f: Callable[[T, T], T]) -> T:
    job = functools.partial(perpartition.reduce_partition, f)
    partials = [x for part in rdd.context.runJob(rdd, job) for x in part]
    if not partials:
        raise ValueError("Can not reduce() empty RDD")
    return functools.reduce(f, partials)


def count_by_value(rdd: RDD[T]) -> defaultdict[T, int]:
    counts: defaultdict[T, int] = defaultdict(int)
    for part in rdd.context.runJob(rdd, perpartition.count_values):
        for value, n in part.items():
            counts[value] += n
    return counts


def tree_reduce(rdd: RDD[T], f: Callable[[T, T], T], depth: int) -> T:
    if depth < 1:
        raise ValueError(f"Depth cannot be smaller than 1 but got {depth}.")
    # Wrap elements so that the zero is told apart from real values without a sentinel
    # object, whose identity would not survive pickling.
    zero: tuple[Any, bool] = (None, True)
    merge = functools.partial(perpartition.merge_present, f)
    found = tree_aggregate(rdd.map(perpartition.present), zero, merge, merge, depth)
    if found[1]:
        raise ValueError("Cannot reduce empty RDD.")
    result: T = found[0]
    return result


def tree_aggregate(
    rdd: RDD[T],
    zero: U,
    seq_op: Callable[[U, T], U],
    comb_op: Callable[[U, U], U],
    depth: int,
) -> U:
    if depth < 1:
        raise ValueError(f"Depth cannot be smaller than 1 but got {depth}.")
    if rdd.getNumPartitions() == 0:
        return copy.deepcopy(zero)
    partial: RDD[U] = rdd.mapPartitions(functools.partial(perpartition.fold_to_list, zero, seq_op))
    count = float(partial.getNumPartitions())
    scale = max(math.ceil(count ** (1.0 / depth)), 2)
    while count > scale + count / scale:  # another round still saves the driver work
        count /= scale
        target = int(count)
        keyed = partial.mapPartitionsWithIndex(functools.partial(perpartition.key_by_split, target))
        partial = keyed.reduceByKey(comb_op, target).values()
    return reduce(partial, comb_op)


def top_n(rdd: RDD[T], num: int, key: Callable[[T], Any] | None, *, largest: bool) -> list[T]:
    """``top`` (the ``num`` largest) and ``takeOrdered`` (the ``num`` smallest): each
    partition sends its best ``num``, and the driver picks among them."""
    if num < 0:
        raise ValueError("top N cannot be negative.")
    if largest:
        best_of_partition, best = perpartition.largest, perpartition.nlargest
    else:
        best_of_partition, best = perpartition.smallest, perpartition.nsmallest
    job = functools.partial(best_of_partition, num, key)
    return best(num, itertools.chain(*rdd.context.runJob(rdd, job)), key)

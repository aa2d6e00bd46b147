"""``RDD.histogram``: counts per bucket, with PySpark's bucket rules.

Buckets are right-open except the last, which is closed: ``[1, 10, 20, 50]`` means
``[1, 10) [10, 20) [20, 50]``. Given a number, evenly spaced buckets span the data's min to
max (kept integral when they divide exactly). None, NaN and values outside the buckets are
ignored. Evenly spaced buckets find their slot by arithmetic, others by bisection.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import math
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .base import RDD


def histogram(rdd: RDD[Any], buckets: int | Sequence[Any]) -> tuple[Sequence[Any], list[int]]:
    if isinstance(buckets, int):
        return _even_histogram(rdd, buckets)
    if not isinstance(buckets, list | tuple):
        raise TypeError("buckets should be a list or tuple or number(int or long)")
    _check_buckets(buckets)
    step = _even_step(buckets)
    counts = _count(rdd, list(buckets), step)
    return buckets, counts


def _even_histogram(rdd: RDD[Any], count: int) -> tuple[list[Any], list[int]]:
    if count < 1:
        raise ValueError("number of buckets must be >= 1")
    values = rdd.filter(_comparable)
    try:
        low, high = values.map(_twice).reduce(_min_max)
    except ValueError as exc:
        raise ValueError("can not generate buckets from empty RDD") from exc
    if low == high or count == 1:
        return [low, high], [values.count()]
    try:
        step = (high - low) / count
    except TypeError as exc:
        raise TypeError("Can not generate buckets with non-number in RDD") from exc
    if math.isinf(step):
        raise ValueError("Can not generate buckets with infinite value")
    if int(step) * count == high - low:  # keep integer buckets integral
        step = int(step)
    edges = [low + i * step for i in range(count)]
    edges.append(high)  # exactly the max, whatever rounding did to the sum
    return edges, _count(rdd, edges, step)


def _check_buckets(buckets: Sequence[Any]) -> None:
    if len(buckets) < 2:
        raise ValueError("buckets should have more than one value")
    if any(not _comparable(b) for b in buckets):
        raise ValueError("can not have None or NaN in buckets")
    if sorted(buckets) != list(buckets):
        raise ValueError("buckets should be sorted")
    if len(set(buckets)) != len(buckets):
        raise ValueError("buckets should not contain duplicated values")


def _even_step(buckets: Sequence[Any]) -> float | None:
    """The common width of ``buckets`` when they are evenly spaced numbers, else None."""
    try:
        widths = [b - a for a, b in itertools.pairwise(buckets)]
    except TypeError:  # not numbers (strings, say): bisection still works
        return None
    if max(widths) - min(widths) < 1e-10:  # equal up to rounding
        return float(buckets[-1] - buckets[0]) / (len(buckets) - 1)
    return None


def _count(rdd: RDD[Any], edges: list[Any], step: float | None) -> list[int]:
    counts = rdd.mapPartitions(functools.partial(_count_partition, edges, step))
    return counts.reduce(_add_counts)


def _count_partition(
    edges: list[Any], step: float | None, it: Iterator[Any]
) -> Iterator[list[int]]:
    low, high = edges[0], edges[-1]
    counts = [0] * len(edges)
    for x in it:
        if not _comparable(x) or x < low or x > high:
            continue
        slot = int((x - low) / step) if step else bisect.bisect_right(edges, x) - 1
        counts[slot] += 1
    # The max lands one past the last bucket; the last bucket is closed, so it belongs there.
    last = counts.pop()
    counts[-1] += last
    yield counts


def _add_counts(a: list[int], b: list[int]) -> list[int]:
    return [x + y for x, y in zip(a, b, strict=True)]


def _comparable(x: Any) -> bool:
    return x is not None and not (isinstance(x, float) and math.isnan(x))


def _twice(x: Any) -> tuple[Any, Any]:
    return (x, x)


def _min_max(a: tuple[Any, Any], b: tuple[Any, Any]) -> tuple[Any, Any]:
    return (min(a[0], b[0]), max(a[1], b[1]))

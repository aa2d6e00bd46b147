"""The functions RDDs hand to tasks: each works on one partition's iterator (or element).

They live at module level, with arguments bound by ``functools.partial``, so that a task
pickles them by reference (a name) rather than by value, and so that they close over nothing
but what they are given.
"""

from __future__ import annotations

import copy
import functools
import heapq
import itertools
import operator
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Iterator
from typing import Any, TypeVar, cast

from .statcounter import StatCounter
from .taskcontext import TaskContext

T = TypeVar("T")
U = TypeVar("U")
K = TypeVar("K")
V = TypeVar("V")


def without_index(
    f: Callable[[Iterator[T]], Iterable[U]], _split: int, it: Iterator[T]
) -> Iterable[U]:
    return f(it)


def map_each(f: Callable[[T], U], _split: int, it: Iterator[T]) -> Iterator[U]:
    return map(f, it)


def flat_map_each(f: Callable[[T], Iterable[U]], _split: int, it: Iterator[T]) -> Iterator[U]:
    return itertools.chain.from_iterable(map(f, it))


def filter_each(f: Callable[[T], object], _split: int, it: Iterator[T]) -> Iterator[T]:
    return filter(f, it)


def glom(_split: int, it: Iterator[T]) -> Iterator[list[T]]:
    yield list(it)


def key_by(f: Callable[[T], K], x: T) -> tuple[K, T]:
    return (f(x), x)


def with_none(x: T) -> tuple[T, None]:
    return (x, None)


def keep_first(a: T, _b: T) -> T:
    return a


def identity(x: T) -> T:
    return x


def first(pair: tuple[K, Any]) -> K:
    return pair[0]


def second(pair: tuple[Any, V]) -> V:
    return pair[1]


def map_value(f: Callable[[V], U], pair: tuple[K, V]) -> tuple[K, U]:
    return (pair[0], f(pair[1]))


def flat_map_value(f: Callable[[V], Iterable[U]], pair: tuple[K, V]) -> Iterator[tuple[K, U]]:
    key = pair[0]
    return ((key, x) for x in f(pair[1]))


def has_key(key: Hashable, pair: tuple[Any, Any]) -> bool:
    return bool(pair[0] == key)


def index_from(starts: list[int], split: int, it: Iterator[T]) -> Iterator[tuple[T, int]]:
    return zip(it, itertools.count(starts[split]), strict=False)


def unique_ids(n: int, split: int, it: Iterator[T]) -> Iterator[tuple[T, int]]:
    return ((x, i * n + split) for i, x in enumerate(it))


def key_by_split(count: int, split: int, it: Iterator[T]) -> Iterator[tuple[int, T]]:
    return ((split % count, x) for x in it)


def present(x: T) -> tuple[T, bool]:
    return (x, False)


def merge_present(
    f: Callable[[Any, Any], Any], a: tuple[Any, bool], b: tuple[Any, bool]
) -> tuple[Any, bool]:
    if a[1]:
        return b
    if b[1]:
        return a
    return (f(a[0], b[0]), False)


# ``key=None`` compares elements themselves; the stubs cannot say that for any ``T``.


def larger(key: Callable[[T], Any] | None, a: T, b: T) -> T:
    return max(a, b, key=cast(Any, key))


def smaller(key: Callable[[T], Any] | None, a: T, b: T) -> T:
    return min(a, b, key=cast(Any, key))


def nsmallest(num: int, items: Iterable[T], key: Callable[[T], Any] | None) -> list[T]:
    return heapq.nsmallest(num, items, key=cast(Any, key))


def nlargest(num: int, items: Iterable[T], key: Callable[[T], Any] | None) -> list[T]:
    return heapq.nlargest(num, items, key=cast(Any, key))


def collect_partition(_context: TaskContext, it: Iterator[T]) -> list[T]:
    return list(it)


def count_partition(_context: TaskContext, it: Iterator[Any]) -> int:
    return sum(1 for _ in it)


def sum_partition(_context: TaskContext, it: Iterator[Any]) -> Any:
    return functools.reduce(operator.add, it, 0)


def stat_partition(_context: TaskContext, it: Iterator[float]) -> StatCounter:
    return StatCounter(it)


def count_values(_context: TaskContext, it: Iterator[T]) -> dict[T, int]:
    counts: dict[T, int] = defaultdict(int)
    for x in it:
        counts[x] += 1
    return dict(counts)


def take_from_partition(limit: int, _context: TaskContext, it: Iterator[T]) -> list[T]:
    return list(itertools.islice(it, limit))


def smallest(
    num: int, key: Callable[[T], Any] | None, _context: TaskContext, it: Iterator[T]
) -> list[T]:
    return nsmallest(num, it, key)


def largest(
    num: int, key: Callable[[T], Any] | None, _context: TaskContext, it: Iterator[T]
) -> list[T]:
    return nlargest(num, it, key)


def reduce_partition(f: Callable[[T, T], T], _context: TaskContext, it: Iterator[T]) -> list[T]:
    for head in it:
        return [functools.reduce(f, it, head)]
    return []


def fold_partition(zero: U, op: Callable[[U, T], U], _context: TaskContext, it: Iterator[T]) -> U:
    # A copy per partition: a task process reuses one unpickled closure for many tasks, and
    # ``op`` may mutate its accumulator.
    return functools.reduce(op, it, copy.deepcopy(zero))


def fold_to_list(zero: U, op: Callable[[U, T], U], it: Iterator[T]) -> list[U]:
    return [functools.reduce(op, it, copy.deepcopy(zero))]


def apply_each(f: Callable[[T], Any], _context: TaskContext, it: Iterator[T]) -> None:
    for x in it:
        f(x)


def apply_partition(
    f: Callable[[Iterator[T]], Any], _context: TaskContext, it: Iterator[T]
) -> None:
    result = f(it)
    if isinstance(result, Iterable):  # PySpark drains a returned iterable: it may be lazy work
        for _ in result:
            pass

"""Properties of the RDD API: each operation agrees with its plain-Python meaning for any
data and any partitioning."""

from __future__ import annotations

import operator
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minispark.rdd.base import RDD

from .localrunner import LocalContext

ints = st.lists(st.integers(min_value=-50, max_value=50), max_size=40)
slices = st.integers(min_value=1, max_value=9)
pairs = st.lists(st.tuples(st.integers(0, 6), st.integers(-20, 20)), max_size=30)

fast = settings(max_examples=60, deadline=None)


def _nested_loop_join(
    left: list[tuple[int, int]], right: list[tuple[int, int]], keep_left: bool, keep_right: bool
) -> list[tuple[int, tuple[Any, Any]]]:
    joined: list[tuple[int, tuple[Any, Any]]] = [
        (k, (v, w)) for k, v in left for j, w in right if k == j
    ]
    right_keys = {k for k, _ in right}
    left_keys = {k for k, _ in left}
    if keep_left:
        joined += [(k, (v, None)) for k, v in left if k not in right_keys]
    if keep_right:
        joined += [(k, (None, w)) for k, w in right if k not in left_keys]
    return sorted(joined, key=repr)


@fast
@given(data=ints, count=slices)
def test_parallelize_collect_is_identity(data: list[int], count: int) -> None:
    rdd = LocalContext().parallelize(data, count)
    parts = rdd.glom().collect()
    assert len(parts) == count
    assert [x for part in parts for x in part] == data
    assert rdd.collect() == data
    assert rdd.count() == len(data)


@fast
@given(
    start=st.integers(-100, 100),
    length=st.integers(0, 60),
    step=st.integers(-7, 7).filter(bool),
    count=slices,
)
def test_range_matches_builtin(start: int, length: int, step: int, count: int) -> None:
    expected = list(range(start, start + length * step, step))
    sc = LocalContext()
    assert sc.range(start, start + length * step, step, count).collect() == expected
    assert sc.parallelize(range(start, start + length * step, step), count).count() == len(expected)


@fast
@given(data=ints, count=slices, ascending=st.booleans(), out=st.integers(1, 5))
def test_sort_by_equals_sorted(data: list[int], count: int, ascending: bool, out: int) -> None:
    rdd = LocalContext().parallelize(data, count)
    result = rdd.sortBy(lambda x: x, ascending, out).collect()
    assert result == sorted(data, reverse=not ascending)


@fast
@given(data=pairs, count=slices, out=st.integers(1, 5))
def test_reduce_by_key_is_a_dict_fold(data: list[tuple[int, int]], count: int, out: int) -> None:
    expected: dict[int, int] = defaultdict(int)
    for k, v in data:
        expected[k] += v
    rdd = LocalContext().parallelize(data, count)
    assert dict(rdd.reduceByKey(operator.add, out).collect()) == expected
    assert rdd.reduceByKeyLocally(operator.add) == expected
    assert dict(rdd.foldByKey(0, operator.add, out).collect()) == expected


@fast
@given(data=pairs, count=slices)
def test_group_by_key_keeps_every_value(data: list[tuple[int, int]], count: int) -> None:
    expected: dict[int, list[int]] = defaultdict(list)
    for k, v in data:
        expected[k].append(v)
    grouped = LocalContext().parallelize(data, count).groupByKey().mapValues(sorted).collect()
    assert dict(grouped) == {k: sorted(vs) for k, vs in expected.items()}
    assert len(grouped) == len(expected)


@fast
@given(
    left=pairs, right=pairs, count=slices, kind=st.sampled_from(["inner", "left", "right", "full"])
)
def test_joins_equal_a_nested_loop_join(
    left: list[tuple[int, int]], right: list[tuple[int, int]], count: int, kind: str
) -> None:
    sc = LocalContext()
    a, b = sc.parallelize(left, count), sc.parallelize(right, 2)
    method: dict[str, Callable[[RDD[Any]], RDD[Any]]] = {
        "inner": a.join,
        "left": a.leftOuterJoin,
        "right": a.rightOuterJoin,
        "full": a.fullOuterJoin,
    }
    keep_left, keep_right = kind in ("left", "full"), kind in ("right", "full")
    expected = _nested_loop_join(left, right, keep_left, keep_right)
    assert sorted(method[kind](b).collect(), key=repr) == expected


@fast
@given(data=ints, other=ints, count=slices)
def test_set_operations(data: list[int], other: list[int], count: int) -> None:
    sc = LocalContext()
    a, b = sc.parallelize(data, count), sc.parallelize(other, 3)
    assert sorted(a.distinct().collect()) == sorted(set(data))
    assert sorted(a.intersection(b).collect()) == sorted(set(data) & set(other))
    assert sorted(a.subtract(b).collect()) == sorted(x for x in data if x not in set(other))
    assert a.union(b).collect() == data + other
    assert sorted(a.cartesian(b).collect()) == sorted((x, y) for x in data for y in other)


@fast
@given(data=ints, count=slices, n=st.integers(0, 45))
def test_take_and_friends(data: list[int], count: int, n: int) -> None:
    rdd = LocalContext().parallelize(data, count)
    assert rdd.take(n) == data[:n]
    assert rdd.takeOrdered(n) == sorted(data)[:n]
    assert rdd.top(n) == sorted(data, reverse=True)[:n]
    assert rdd.zipWithIndex().collect() == [(x, i) for i, x in enumerate(data)]
    ids = [i for _, i in rdd.zipWithUniqueId().collect()]
    assert len(set(ids)) == len(data)
    assert rdd.isEmpty() == (not data)


@fast
@given(data=ints, count=slices, out=st.integers(1, 12))
def test_repartitioning_keeps_the_data(data: list[int], count: int, out: int) -> None:
    rdd = LocalContext().parallelize(data, count)
    assert rdd.coalesce(out).collect() == data  # no shuffle: order kept
    assert rdd.coalesce(out).getNumPartitions() == min(out, count)
    shuffled = rdd.repartition(out)
    assert shuffled.getNumPartitions() == out
    assert sorted(shuffled.collect()) == sorted(data)


@fast
@given(data=ints, count=slices)
def test_folds_agree_with_python(data: list[int], count: int) -> None:
    rdd = LocalContext().parallelize(data, count)
    assert rdd.sum() == sum(data)
    assert rdd.fold(0, operator.add) == sum(data)
    assert rdd.aggregate(0, operator.add, operator.add) == sum(data)
    assert rdd.treeAggregate(0, operator.add, operator.add, 2) == sum(data)
    assert dict(rdd.countByValue()) == {x: data.count(x) for x in set(data)}
    if data:
        assert rdd.reduce(operator.add) == sum(data)
        assert (rdd.min(), rdd.max()) == (min(data), max(data))
        assert rdd.stats().mean() == pytest.approx(sum(data) / len(data))

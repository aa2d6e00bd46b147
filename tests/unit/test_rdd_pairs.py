"""By-key operations, sorting and joins, checked against PySpark's documented results."""

from __future__ import annotations

import operator
from typing import Any

import pytest

from minispark.rdd.dependency import HashPartitioner, RangePartitioner
from minispark.rdd.pairs import ResultIterable

from .localrunner import LocalContext


@pytest.fixture
def sc() -> LocalContext:
    return LocalContext(parallelism=2)


def test_map_values_and_flat_map_values(sc: LocalContext) -> None:
    fruit = sc.parallelize([("a", ["apple", "banana", "lemon"]), ("b", ["grapes"])])
    assert fruit.mapValues(len).collect() == [("a", 3), ("b", 1)]
    letters = sc.parallelize([("a", ["x", "y", "z"]), ("b", ["p", "r"])])
    assert letters.flatMapValues(lambda x: x).collect() == [
        ("a", "x"),
        ("a", "y"),
        ("a", "z"),
        ("b", "p"),
        ("b", "r"),
    ]


def test_partition_by(sc: LocalContext) -> None:
    pairs = sc.parallelize([1, 2, 3, 4, 2, 4, 1]).map(lambda x: (x, x))
    sets = pairs.partitionBy(2).glom().collect()
    assert len(set(sets[0]).intersection(set(sets[1]))) == 0
    parted = pairs.partitionBy(3, lambda k: k)
    assert [sorted({k for k, _ in part}) for part in parted.glom().collect()] == [[3], [1, 4], [2]]
    assert parted.partitionBy(3, parted.partitioner.partition_func) is parted  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="at least 1"):
        pairs.partitionBy(0)


def test_combine_by_key(sc: LocalContext) -> None:
    rdd = sc.parallelize([("a", 1), ("b", 1), ("a", 2)])

    def to_list(a: int) -> list[int]:
        return [a]

    def append(a: list[int], b: int) -> list[int]:
        a.append(b)
        return a

    def extend(a: list[int], b: list[int]) -> list[int]:
        a.extend(b)
        return a

    combined = rdd.combineByKey(to_list, append, extend)
    assert sorted(combined.collect()) == [("a", [1, 2]), ("b", [1])]
    assert isinstance(combined.partitioner, HashPartitioner)


def test_reduce_fold_aggregate_by_key(sc: LocalContext) -> None:
    rdd = sc.parallelize([("a", 1), ("b", 1), ("a", 1)])
    assert sorted(rdd.reduceByKey(operator.add).collect()) == [("a", 2), ("b", 1)]
    assert sorted(rdd.foldByKey(0, operator.add).collect()) == [("a", 2), ("b", 1)]
    assert rdd.reduceByKey(operator.add, 5).getNumPartitions() == 5
    rdd = sc.parallelize([("a", 1), ("b", 1), ("a", 2)])

    def seq(x: tuple[int, int], y: int) -> tuple[int, int]:
        return (x[0] + y, x[1] + 1)

    def comb(x: tuple[int, int], y: tuple[int, int]) -> tuple[int, int]:
        return (x[0] + y[0], x[1] + y[1])

    assert sorted(rdd.aggregateByKey((0, 0), seq, comb).collect()) == [("a", (3, 2)), ("b", (1, 1))]


def test_by_key_zero_values_are_copied_per_key(sc: LocalContext) -> None:
    def add_to(acc: list[int], x: int) -> list[int]:
        acc.append(x)
        return acc

    def extend(acc: list[int], more: list[int]) -> list[int]:
        acc.extend(more)
        return acc

    rdd = sc.parallelize([("a", 1), ("b", 2), ("a", 3)], 1)
    empty: list[int] = []
    grouped = rdd.aggregateByKey(empty, add_to, operator.add).collect()
    assert sorted(grouped) == [("a", [1, 3]), ("b", [2])]
    lists = sc.parallelize([("a", [1]), ("b", [2]), ("a", [3])], 1)
    assert sorted(lists.foldByKey(empty, extend).collect()) == [("a", [1, 3]), ("b", [2])]
    assert empty == []


def test_reduce_by_key_combines_on_the_map_side(sc: LocalContext) -> None:
    rdd = sc.parallelize([("a", 1)] * 50 + [("b", 1)] * 50, 2)
    summed = rdd.reduceByKey(operator.add)
    assert sorted(summed.collect()) == [("a", 50), ("b", 50)]
    (output,) = [sc.shuffles[sid] for sid in sc.shuffles]
    assert sum(len(bucket) for map_output in output for bucket in map_output) <= 4


def test_group_by_key(sc: LocalContext) -> None:
    rdd = sc.parallelize([("a", 1), ("b", 1), ("a", 1)])
    assert sorted(rdd.groupByKey().mapValues(len).collect()) == [("a", 2), ("b", 1)]
    assert sorted(rdd.groupByKey().mapValues(list).collect()) == [("a", [1, 1]), ("b", [1])]
    values = dict(rdd.groupByKey().collect())["a"]
    assert isinstance(values, ResultIterable)
    assert len(values) == 2
    assert values.data == [1, 1]


def test_already_partitioned_rdd_is_not_shuffled_again(sc: LocalContext) -> None:
    parted = sc.parallelize([(i % 4, i) for i in range(20)]).partitionBy(2).cache()
    parted.count()
    shuffles = len(sc.shuffles)
    assert sorted(parted.reduceByKey(operator.add, 2).collect()) == [
        (0, 40),
        (1, 45),
        (2, 50),
        (3, 55),
    ]
    assert sorted(parted.groupByKey(2).mapValues(len).collect()) == [(0, 5), (1, 5), (2, 5), (3, 5)]
    assert len(sc.shuffles) == shuffles
    assert parted.reduceByKey(operator.add, 3).getNumPartitions() == 3  # a different layout


def test_sort_by_key(sc: LocalContext) -> None:
    tmp = [("a", 1), ("b", 2), ("1", 3), ("d", 4), ("2", 5)]
    ordered = [("1", 3), ("2", 5), ("a", 1), ("b", 2), ("d", 4)]
    assert sc.parallelize(tmp).sortByKey().first() == ("1", 3)
    assert sc.parallelize(tmp).sortByKey(True, 1).collect() == ordered
    assert sc.parallelize(tmp).sortByKey(True, 2).collect() == ordered
    assert sc.parallelize(tmp).sortByKey(False, 3).collect() == ordered[::-1]
    tmp2 = [("Mary", 1), ("had", 2), ("a", 3), ("little", 4), ("lamb", 5)]
    tmp2.extend([("whose", 6), ("fleece", 7), ("was", 8), ("white", 9)])
    assert sc.parallelize(tmp2).sortByKey(True, 3, keyfunc=lambda k: k.lower()).collect() == [
        ("a", 3),
        ("fleece", 7),
        ("had", 2),
        ("lamb", 5),
        ("little", 4),
        ("Mary", 1),
        ("was", 8),
        ("white", 9),
        ("whose", 6),
    ]


def test_sort_by_key_partitions_by_range(sc: LocalContext) -> None:
    rdd = sc.parallelize([(i, i) for i in reversed(range(200))], 4).sortByKey(numPartitions=4)
    assert isinstance(rdd.partitioner, RangePartitioner)
    parts = rdd.glom().collect()
    assert len(parts) == 4
    assert all(len(part) > 10 for part in parts)  # the sample spreads the keys
    assert [k for part in parts for k, _ in part] == list(range(200))
    assert sc.parallelize([], 2).sortByKey().collect() == []


def test_sort_by(sc: LocalContext) -> None:
    tmp = [("a", 1), ("b", 2), ("1", 3), ("d", 4), ("2", 5)]
    assert sc.parallelize(tmp).sortBy(lambda x: x[0]).collect() == [
        ("1", 3),
        ("2", 5),
        ("a", 1),
        ("b", 2),
        ("d", 4),
    ]
    assert sc.parallelize(tmp).sortBy(lambda x: x[1]).collect() == [
        ("a", 1),
        ("b", 2),
        ("1", 3),
        ("d", 4),
        ("2", 5),
    ]
    assert sc.parallelize([3, 1, 2], 3).sortBy(lambda x: x, ascending=False).collect() == [3, 2, 1]


def test_repartition_and_sort_within_partitions(sc: LocalContext) -> None:
    rdd = sc.parallelize([(0, 5), (3, 8), (2, 6), (0, 8), (3, 8), (1, 3)])
    parts = rdd.repartitionAndSortWithinPartitions(2, lambda x: x % 2, True).glom().collect()
    assert parts == [[(0, 5), (0, 8), (2, 6)], [(1, 3), (3, 8), (3, 8)]]


def test_joins(sc: LocalContext) -> None:
    x = sc.parallelize([("a", 1), ("b", 4)])
    y = sc.parallelize([("a", 2), ("a", 3)])
    assert sorted(x.join(y).collect()) == [("a", (1, 2)), ("a", (1, 3))]
    y = sc.parallelize([("a", 2)])
    assert sorted(x.leftOuterJoin(y).collect()) == [("a", (1, 2)), ("b", (4, None))]
    assert sorted(y.rightOuterJoin(x).collect()) == [("a", (2, 1)), ("b", (None, 4))]
    y = sc.parallelize([("a", 2), ("c", 8)])
    assert sorted(x.fullOuterJoin(y).collect()) == [
        ("a", (1, 2)),
        ("b", (4, None)),
        ("c", (None, 8)),
    ]
    assert x.join(y, 7).getNumPartitions() == 7
    assert x.join(y).getNumPartitions() == 4  # the union's partitions, as PySpark


def test_cogroup_and_group_with(sc: LocalContext) -> None:
    x = sc.parallelize([("a", 1), ("b", 4)])
    y = sc.parallelize([("a", 2)])
    assert [(k, tuple(map(list, v))) for k, v in sorted(x.cogroup(y).collect())] == [
        ("a", ([1], [2])),
        ("b", ([4], [])),
    ]
    w = sc.parallelize([("a", 5), ("b", 6)])
    z = sc.parallelize([("b", 42)])
    assert [(k, tuple(map(list, v))) for k, v in sorted(w.groupWith(x, y, z).collect())] == [
        ("a", ([5], [1], [2], [])),
        ("b", ([6], [4], [], [42])),
    ]


def test_subtract_by_key(sc: LocalContext) -> None:
    x = sc.parallelize([("a", 1), ("b", 4), ("b", 5), ("a", 2)])
    y = sc.parallelize([("a", 3), ("c", None)])
    assert sorted(x.subtractByKey(y).collect()) == [("b", 4), ("b", 5)]


def test_joins_of_co_partitioned_rdds_skip_the_shuffle(sc: LocalContext) -> None:
    left = sc.parallelize([(i, i) for i in range(10)]).partitionBy(2).cache()
    right = sc.parallelize([(i, -i) for i in range(0, 10, 3)]).partitionBy(2).cache()
    left.count()
    right.count()
    shuffles = len(sc.shuffles)
    joined: list[tuple[int, Any]] = sorted(left.join(right, 2).collect())
    assert joined == [(0, (0, 0)), (3, (3, -3)), (6, (6, -6)), (9, (9, -9))]
    assert len(sc.shuffles) == shuffles

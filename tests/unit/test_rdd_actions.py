"""RDD actions, checked against PySpark's documented results (mostly its doctests)."""

from __future__ import annotations

import math
import operator
from collections import defaultdict
from collections.abc import Iterator

import pytest

from .localrunner import LocalContext


@pytest.fixture
def sc() -> LocalContext:
    return LocalContext(parallelism=2)


def test_collect_count_sum(sc: LocalContext) -> None:
    assert sc.parallelize([2, 3, 4]).count() == 3
    assert sc.parallelize([1.0, 2.0, 3.0]).sum() == 6.0
    assert sc.parallelize([]).sum() == 0
    assert sc.parallelize(["a", "b"]).collect() == ["a", "b"]


def test_first_and_is_empty(sc: LocalContext) -> None:
    assert sc.parallelize([2, 3, 4]).first() == 2
    with pytest.raises(ValueError, match="RDD is empty"):
        sc.parallelize([]).first()
    assert sc.parallelize([]).isEmpty()
    assert not sc.parallelize([1]).isEmpty()


def test_take(sc: LocalContext) -> None:
    assert sc.parallelize([2, 3, 4, 5, 6]).cache().take(2) == [2, 3]
    assert sc.parallelize([2, 3, 4, 5, 6]).take(10) == [2, 3, 4, 5, 6]
    assert sc.parallelize(range(100), 100).filter(lambda x: x > 90).take(3) == [91, 92, 93]
    assert sc.parallelize([1, 2]).take(0) == []
    assert sc.emptyRDD().take(3) == []


def test_take_scans_partitions_incrementally(sc: LocalContext) -> None:
    rdd = sc.parallelize(range(100), 100).filter(lambda x: x > 90)
    sc.jobs.clear()
    rdd.take(3)
    scanned = [splits for _, splits in sc.jobs]
    # one partition; then four times as many while nothing is found
    assert scanned == [[0], list(range(1, 5)), list(range(5, 25)), list(range(25, 100))]

    sc.jobs.clear()
    sc.parallelize(range(100), 10).take(15)  # 10 per partition: the first scan finds 10
    # then 1.5 * 15 * 1 / 10 - 1 = 1 more partition
    assert [splits for _, splits in sc.jobs] == [[0], [1]]


def test_take_ordered_and_top(sc: LocalContext) -> None:
    assert sc.parallelize([10, 1, 2, 9, 3, 4, 5, 6, 7]).takeOrdered(6) == [1, 2, 3, 4, 5, 6]
    assert sc.parallelize([10, 1, 2, 9, 3, 4, 5, 6, 7], 2).takeOrdered(6, key=lambda x: -x) == [
        10,
        9,
        7,
        6,
        5,
        4,
    ]
    assert sc.parallelize([10, 4, 2, 12, 3]).top(1) == [12]
    assert sc.parallelize([2, 3, 4, 5, 6], 2).top(2) == [6, 5]
    assert sc.parallelize([10, 4, 2, 12, 3]).top(3, key=str) == [4, 3, 2]
    assert sc.emptyRDD().top(3) == []
    with pytest.raises(ValueError, match="cannot be negative"):
        sc.parallelize([1]).takeOrdered(-1)


def test_take_sample(sc: LocalContext) -> None:
    rdd = sc.parallelize(range(10))
    assert len(rdd.takeSample(True, 20, 1)) == 20
    assert len(rdd.takeSample(False, 5, 2)) == 5
    assert len(rdd.takeSample(False, 15, 3)) == 10
    assert sorted(rdd.takeSample(False, 15, 3)) == list(range(10))
    assert rdd.takeSample(False, 5, 2) == rdd.takeSample(False, 5, 2)
    assert len(set(rdd.takeSample(False, 8, 4))) == 8
    assert sc.parallelize(range(10_000), 4).takeSample(False, 3, 9) != []
    assert rdd.takeSample(False, 0) == []
    with pytest.raises(ValueError, match="negative"):
        rdd.takeSample(False, -1)


def test_reduce(sc: LocalContext) -> None:
    assert sc.parallelize([1, 2, 3, 4, 5]).reduce(operator.add) == 15
    assert sc.parallelize(2 for _ in range(10)).map(lambda x: 1).cache().reduce(operator.add) == 10
    assert sc.parallelize([7], 4).reduce(operator.add) == 7  # empty partitions are skipped
    with pytest.raises(ValueError, match=r"Can not reduce\(\) empty RDD"):
        sc.parallelize([]).reduce(operator.add)


def test_tree_reduce_and_aggregate(sc: LocalContext) -> None:
    rdd = sc.parallelize([-5, -4, -3, -2, -1, 1, 2, 3, 4], 10)
    for depth in (1, 2, 5, 10):
        assert rdd.treeReduce(operator.add, depth) == -5
        assert rdd.treeAggregate(0, operator.add, operator.add, depth) == -5
    wide = sc.parallelize(range(1000), 64)
    assert wide.treeAggregate(0, operator.add, operator.add, 2) == sum(range(1000))
    assert wide.treeReduce(max, 3) == 999
    assert sc.emptyRDD().treeAggregate(0, operator.add, operator.add) == 0
    with pytest.raises(ValueError, match="Cannot reduce empty RDD"):
        sc.parallelize([], 3).treeReduce(operator.add)
    with pytest.raises(ValueError, match="Depth cannot be smaller than 1"):
        rdd.treeReduce(operator.add, 0)


def test_fold_uses_zero_per_partition_and_on_the_driver(sc: LocalContext) -> None:
    assert sc.parallelize([1, 2, 3, 4, 5]).fold(0, operator.add) == 15
    # PySpark's semantics: zeroValue is folded into each partition and once more at the end.
    assert sc.parallelize([1, 2, 3], 3).fold(10, operator.add) == 46
    zero: list[int] = []
    merged = sc.parallelize([1, 2, 3], 3).map(lambda x: [x]).fold(zero, lambda a, b: a + b)
    assert merged == [1, 2, 3]


def test_fold_zero_is_not_shared_between_tasks(sc: LocalContext) -> None:
    def extend(acc: list[int], item: list[int]) -> list[int]:
        acc.extend(item)  # mutates its accumulator, as PySpark allows
        return acc

    rdd = sc.parallelize([[1], [2], [3]], 3)
    assert sorted(rdd.fold([], extend)) == [1, 2, 3]


def test_aggregate(sc: LocalContext) -> None:
    def seq(acc: tuple[int, int], x: int) -> tuple[int, int]:
        return (acc[0] + x, acc[1] + 1)

    def comb(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
        return (a[0] + b[0], a[1] + b[1])

    assert sc.parallelize([1, 2, 3, 4]).aggregate((0, 0), seq, comb) == (10, 4)
    assert sc.parallelize([]).aggregate((0, 0), seq, comb) == (0, 0)


def test_min_max(sc: LocalContext) -> None:
    rdd = sc.parallelize([1.0, 5.0, 43.0, 10.0])
    assert rdd.max() == 43.0
    assert rdd.max(key=str) == 5.0
    rdd = sc.parallelize([2.0, 5.0, 43.0, 10.0])
    assert rdd.min() == 2.0
    assert rdd.min(key=str) == 10.0


def test_statistics(sc: LocalContext) -> None:
    rdd = sc.parallelize([1, 2, 3])
    assert rdd.mean() == 2.0
    assert rdd.variance() == pytest.approx(0.6666666666666666)
    assert rdd.stdev() == pytest.approx(0.816496580927726)
    assert rdd.sampleStdev() == 1.0
    assert rdd.sampleVariance() == 1.0
    stats = rdd.stats()
    assert (stats.count(), stats.mean(), stats.min(), stats.max(), stats.sum()) == (
        3,
        2.0,
        1.0,
        3.0,
        6.0,
    )
    assert repr(stats) == "(count: 3, mean: 2.0, stdev: 0.816496580927726, max: 3.0, min: 1.0)"
    assert math.isnan(sc.parallelize([]).variance())


def test_histogram(sc: LocalContext) -> None:
    rdd = sc.parallelize(range(51))
    assert rdd.histogram(2) == ([0, 25, 50], [25, 26])
    assert rdd.histogram([0, 5, 25, 50]) == ([0, 5, 25, 50], [5, 20, 26])
    assert rdd.histogram([0, 15, 30, 45, 60]) == ([0, 15, 30, 45, 60], [15, 15, 15, 6])
    words = sc.parallelize(["ab", "ac", "b", "bd", "ef"])
    assert words.histogram(("a", "b", "c")) == (("a", "b", "c"), [2, 2])
    assert sc.parallelize([1.0, float("nan"), None, 3.0]).histogram(1) == ([1.0, 3.0], [2])
    assert sc.parallelize([0.0, 1.0, 2.0]).histogram(4) == ([0.0, 0.5, 1.0, 1.5, 2.0], [1, 0, 1, 1])


def test_histogram_errors(sc: LocalContext) -> None:
    rdd = sc.parallelize([1, 2])
    with pytest.raises(ValueError, match="number of buckets must be >= 1"):
        rdd.histogram(0)
    with pytest.raises(ValueError, match="should be sorted"):
        rdd.histogram([3, 1])
    with pytest.raises(ValueError, match="more than one value"):
        rdd.histogram([1])
    with pytest.raises(ValueError, match="duplicated"):
        rdd.histogram([1, 1, 2])
    with pytest.raises(ValueError, match="empty RDD"):
        sc.parallelize([]).histogram(3)
    with pytest.raises(TypeError, match="list or tuple"):
        rdd.histogram("ab")


def test_count_by_value_and_key(sc: LocalContext) -> None:
    counts = sc.parallelize([1, 2, 1, 2, 2], 2).countByValue()
    assert isinstance(counts, defaultdict)
    assert sorted(counts.items()) == [(1, 2), (2, 3)]
    pairs = sc.parallelize([("a", 1), ("b", 1), ("a", 1)])
    assert sorted(pairs.countByKey().items()) == [("a", 2), ("b", 1)]


def test_collect_as_map_keys_values(sc: LocalContext) -> None:
    pairs = sc.parallelize([(1, 2), (3, 4)])
    assert pairs.collectAsMap() == {1: 2, 3: 4}
    assert pairs.keys().collect() == [1, 3]
    assert pairs.values().collect() == [2, 4]


def test_reduce_by_key_locally(sc: LocalContext) -> None:
    pairs = sc.parallelize([("a", 1), ("b", 1), ("a", 1)])
    assert sorted(pairs.reduceByKeyLocally(operator.add).items()) == [("a", 2), ("b", 1)]


def test_lookup(sc: LocalContext) -> None:
    numbers = range(1000)
    rdd = sc.parallelize(zip(numbers, numbers, strict=True), 10)
    assert rdd.lookup(42) == [42]
    ordered = rdd.sortByKey()
    sc.jobs.clear()
    assert ordered.lookup(42) == [42]
    assert len(sc.jobs) == 1 and len(sc.jobs[0][1]) == 1  # only the partition that can hold 42
    assert ordered.lookup(1024) == []
    grouped = sc.parallelize([(("a", "b"), "c")]).groupByKey()
    assert list(grouped.lookup(("a", "b"))[0]) == ["c"]


def test_foreach_and_foreach_partition(sc: LocalContext) -> None:
    seen = sc.accumulator(0)

    def add(x: int) -> None:
        seen.add(x)

    sc.parallelize([1, 2, 3, 4, 5]).foreach(add)
    assert seen.value == 15

    sizes = sc.accumulator(0)

    def count(iterator: Iterator[int]) -> None:
        sizes.add(sum(1 for _ in iterator))

    sc.parallelize(range(7), 3).foreachPartition(count)
    assert sizes.value == 7

    def lazy(iterator: Iterator[int]) -> Iterator[None]:
        for x in iterator:  # a generator: runs only because the action drains it
            sizes.add(x)
            yield None

    sc.parallelize([10]).foreachPartition(lazy)
    assert sizes.value == 17


def test_to_local_iterator(sc: LocalContext) -> None:
    rdd = sc.parallelize(range(10), 3)
    sc.jobs.clear()
    iterator = rdd.toLocalIterator()
    assert next(iterator) == 0
    assert len(sc.jobs) == 1
    assert list(iterator) == list(range(1, 10))
    assert len(sc.jobs) == 3


def test_user_errors_reach_the_caller(sc: LocalContext) -> None:
    def boom(x: int) -> int:
        raise KeyError(f"bad {x}")

    with pytest.raises(KeyError, match="bad 1"):
        sc.parallelize([1]).map(boom).collect()

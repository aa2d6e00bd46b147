"""RDD creation and element transformations, checked against PySpark's documented results
(most expectations are PySpark's doctests)."""

from __future__ import annotations

import operator
from collections.abc import Iterator
from typing import Any

import pytest

from minispark.rdd.base import RDD
from minispark.rdd.dependency import HashPartitioner
from minispark.rdd.sparkconf import SparkConf
from minispark.rdd.storagelevel import StorageLevel
from minispark.rdd.taskcontext import TaskContext

from .localrunner import LocalContext


@pytest.fixture
def sc() -> LocalContext:
    return LocalContext(parallelism=2)


# ---------------------------------------------------------------- creation


def test_parallelize_slices_like_pyspark(sc: LocalContext) -> None:
    assert sc.parallelize([1, 2, 3, 4]).glom().collect() == [[1, 2], [3, 4]]
    assert sc.parallelize([0, 2, 3, 4, 6], 5).glom().collect() == [[0], [2], [3], [4], [6]]
    assert sc.parallelize([1, 2, 3, 4, 5], 3).glom().collect() == [[1], [2, 3], [4, 5]]
    # Batches of len // slices elements are spread by Spark's position rule, so the last
    # slice gets the remainder (what PySpark prints for this call).
    assert sc.parallelize(list(range(10)), 4).glom().collect() == [
        [0, 1],
        [2, 3],
        [4, 5],
        [6, 7, 8, 9],
    ]


def test_parallelize_range_is_sliced_lazily(sc: LocalContext) -> None:
    assert sc.parallelize(range(0, 6, 2), 5).glom().collect() == [[], [0], [], [2], [4]]
    rdd = sc.parallelize(range(10**12), 3)
    slices = rdd.slices  # type: ignore[attr-defined]
    assert all(isinstance(s, range) for s in slices)
    assert rdd.take(3) == [0, 1, 2]
    assert sc.parallelize(range(10), 3).glom().collect() == [[0, 1, 2], [3, 4, 5], [6, 7, 8, 9]]


def test_parallelize_takes_any_iterable(sc: LocalContext) -> None:
    assert sc.parallelize(x * 2 for x in range(3)).collect() == [0, 2, 4]
    assert sc.parallelize(zip("ab", [1, 2], strict=True)).collect() == [("a", 1), ("b", 2)]
    assert sc.parallelize([], 3).glom().collect() == [[], [], []]


def test_parallelize_rejects_no_partitions(sc: LocalContext) -> None:
    with pytest.raises(ValueError, match="Positive number of partitions required"):
        sc.parallelize([1], 0)


def test_range(sc: LocalContext) -> None:
    assert sc.range(5).collect() == [0, 1, 2, 3, 4]
    assert sc.range(2, 4).collect() == [2, 3]
    assert sc.range(1, 7, 2).collect() == [1, 3, 5]
    assert sc.range(5, 0, -2).collect() == [5, 3, 1]
    assert sc.range(5, numSlices=1).getNumPartitions() == 1
    assert sc.range(10).getNumPartitions() == sc.defaultParallelism


def test_empty_rdd(sc: LocalContext) -> None:
    empty = sc.emptyRDD()
    assert empty.getNumPartitions() == 0
    assert empty.collect() == []
    assert empty.isEmpty()
    assert empty.count() == 0


def test_context_union(sc: LocalContext) -> None:
    rdds = [sc.parallelize([1, 2]), sc.parallelize([3]), sc.emptyRDD()]
    union = sc.union(rdds)
    assert union.collect() == [1, 2, 3]
    assert union.getNumPartitions() == 4
    with pytest.raises(ValueError, match="at least one RDD"):
        sc.union([])


# ---------------------------------------------------------------- identity


def test_ids_are_ints_and_callable(sc: LocalContext) -> None:
    a, b = sc.parallelize([1]), sc.parallelize([2])
    assert isinstance(a.id, int)
    assert a.id() == a.id
    assert b.id() > a.id()


def test_names_repr_and_context(sc: LocalContext) -> None:
    rdd = sc.parallelize([1, 2])
    assert rdd.name() is None
    assert rdd.setName("RDD1").name() == "RDD1"
    assert repr(rdd).startswith(f"RDD1 ParallelCollectionRDD[{rdd.id}] at parallelize at ")
    assert "test_rdd_basic.py" in repr(rdd)
    assert rdd.context is sc
    assert rdd.ctx is sc
    assert rdd.getNumPartitions() == 2


def test_to_debug_string_shows_shuffles(sc: LocalContext) -> None:
    rdd = sc.parallelize([("a", 1)]).reduceByKey(operator.add).mapValues(str).cache()
    text = rdd.toDebugString()
    assert isinstance(text, bytes)
    lines = text.decode().splitlines()
    assert lines[0].startswith("(2) MapPartitionsRDD")
    assert lines[0].endswith("[Memory Serialized 1x Replicated]")
    assert lines[1].startswith(" |  ShuffledRDD")
    assert lines[2].startswith(" +-(2) ParallelCollectionRDD")


def test_pickled_rdd_has_no_context(sc: LocalContext) -> None:
    import cloudpickle

    from minispark.driver.dag import task_inputs

    rdd = sc.parallelize([1, 2]).map(lambda x: x + 1)
    copy = cloudpickle.loads(cloudpickle.dumps(rdd))
    assert copy.ctx is None
    assert rdd.ctx is sc
    assert copy.prev.slices is None  # the data is not in the stage's code ...
    context = TaskContext()
    context.task_inputs = task_inputs(rdd, 1)  # ... but sent with each task
    assert list(copy.iterator(1, context)) == [3]
    with pytest.raises(RuntimeError, match="no input was sent"):
        list(copy.iterator(1, TaskContext()))
    with pytest.raises(RuntimeError, match="can only be invoked by the driver"):
        copy.map(lambda x: x)


def test_rdd_inside_a_task_fails_clearly(sc: LocalContext) -> None:
    other = sc.parallelize([1])
    with pytest.raises(RuntimeError, match="only be invoked by the driver"):
        sc.parallelize([1]).map(lambda x: other.count()).collect()


# ---------------------------------------------------------------- persistence


def test_cache_computes_each_partition_once(sc: LocalContext) -> None:
    calls = sc.accumulator(0)

    def counted(x: int) -> int:
        calls.add(1)
        return x

    rdd = sc.parallelize(range(6), 3).map(counted).cache()
    assert rdd.is_cached
    assert rdd.getStorageLevel() == StorageLevel.MEMORY_ONLY
    assert rdd.collect() == list(range(6))
    assert rdd.sum() == 15
    assert calls.value == 6
    rdd.unpersist()
    assert not rdd.is_cached
    assert sc.cache == {}
    assert rdd.count() == 6
    assert calls.value == 12


def test_storage_levels(sc: LocalContext) -> None:
    rdd = sc.parallelize([1, 2])
    assert rdd.getStorageLevel() == StorageLevel(False, False, False, False, 1)
    assert str(rdd.getStorageLevel()) == "Serialized 1x Replicated"
    assert rdd.persist(StorageLevel.MEMORY_AND_DISK) is rdd
    assert str(rdd.getStorageLevel()) == "Disk Memory Serialized 1x Replicated"
    with pytest.raises(ValueError, match="Cannot change storage level"):
        rdd.persist(StorageLevel.DISK_ONLY)
    rdd.persist(StorageLevel.MEMORY_AND_DISK)  # the same level again is fine
    rdd.unpersist().persist(StorageLevel.DISK_ONLY)
    assert repr(StorageLevel.DISK_ONLY_2) == "StorageLevel(True, False, False, False, 2)"


# ---------------------------------------------------------------- element transformations


def test_map_flat_map_filter(sc: LocalContext) -> None:
    assert sorted(sc.parallelize(["b", "a", "c"]).map(lambda x: (x, 1)).collect()) == [
        ("a", 1),
        ("b", 1),
        ("c", 1),
    ]
    rdd = sc.parallelize([2, 3, 4])
    assert sorted(rdd.flatMap(lambda x: range(1, x)).collect()) == [1, 1, 1, 2, 2, 3]
    assert sorted(rdd.flatMap(lambda x: [(x, x), (x, x)]).collect()) == [
        (2, 2),
        (2, 2),
        (3, 3),
        (3, 3),
        (4, 4),
        (4, 4),
    ]
    assert sc.parallelize([1, 2, 3, 4, 5]).filter(lambda x: x % 2 == 0).collect() == [2, 4]


def test_map_partitions(sc: LocalContext) -> None:
    def total(iterator: Iterator[int]) -> Iterator[int]:
        yield sum(iterator)

    assert sc.parallelize([1, 2, 3, 4], 2).mapPartitions(total).collect() == [3, 7]

    def index(split: int, iterator: Iterator[int]) -> Iterator[int]:
        yield split

    assert sc.parallelize([1, 2, 3, 4], 4).mapPartitionsWithIndex(index).sum() == 6
    assert sc.parallelize([1, 2], 2).mapPartitionsWithSplit(index).collect() == [0, 1]


def test_glom_and_key_by(sc: LocalContext) -> None:
    assert sorted(sc.parallelize([1, 2, 3, 4], 2).glom().collect()) == [[1, 2], [3, 4]]
    squares = sc.parallelize(range(3)).keyBy(lambda x: x * x)
    numbers = sc.parallelize(zip(range(5), range(5), strict=True))
    grouped = [(k, [list(v) for v in vs]) for k, vs in sorted(squares.cogroup(numbers).collect())]
    assert grouped == [
        (0, [[0], [0]]),
        (1, [[1], [1]]),
        (2, [[], [2]]),
        (3, [[], [3]]),
        (4, [[2], [4]]),
    ]


def test_partitioner_is_kept_only_where_pyspark_keeps_it(sc: LocalContext) -> None:
    parted = sc.parallelize([(1, 1), (2, 2)]).partitionBy(2)
    assert isinstance(parted.partitioner, HashPartitioner)
    assert parted.filter(lambda kv: True).partitioner == parted.partitioner
    assert parted.mapValues(str).partitioner == parted.partitioner
    assert parted.flatMapValues(lambda v: [v]).partitioner == parted.partitioner
    assert parted.map(lambda kv: kv).partitioner is None
    assert parted.map(lambda kv: kv, preservesPartitioning=True).partitioner == parted.partitioner
    assert parted.keyBy(lambda kv: kv[0]).partitioner is None  # new keys: no partitioner


def test_long_chains_are_pipelined(sc: LocalContext) -> None:
    rdd = sc.parallelize(range(10))
    for _ in range(2000):  # nested, this lineage would be too deep to pickle
        rdd = rdd.map(lambda x: x + 1)
    assert rdd.sum() == 20045
    assert len(rdd.toDebugString().splitlines()) == 2


def test_persisted_rdds_are_not_pipelined_through(sc: LocalContext) -> None:
    calls = sc.accumulator(0)

    def counted(x: int) -> int:
        calls.add(1)
        return x

    cached = sc.parallelize(range(4)).map(counted).cache()
    doubled = cached.map(lambda x: 2 * x)
    tripled = cached.map(lambda x: 3 * x)
    assert doubled.sum() == 12
    assert tripled.sum() == 18
    assert calls.value == 4


def test_distinct(sc: LocalContext) -> None:
    assert sorted(sc.parallelize([1, 1, 2, 3]).distinct().collect()) == [1, 2, 3]
    assert sc.parallelize([1, 1, 2], 3).distinct(1).getNumPartitions() == 1


def test_sample(sc: LocalContext) -> None:
    rdd = sc.parallelize(range(100), 4)
    assert 6 <= rdd.sample(False, 0.1, 81).count() <= 14
    assert rdd.sample(False, 0.3, 7).collect() == rdd.sample(False, 0.3, 7).collect()
    assert rdd.sample(False, 1.0, 1).collect() == list(range(100))
    assert rdd.sample(False, 0.0).collect() == []
    with_replacement = rdd.sample(True, 2.0, 3).collect()
    assert 120 < len(with_replacement) < 280
    assert set(with_replacement) <= set(range(100))
    with pytest.raises(ValueError, match="Negative fraction"):
        rdd.sample(False, -0.5)


def test_sample_by_key(sc: LocalContext) -> None:
    fractions = {"a": 0.2, "b": 0.1}
    rdd = sc.parallelize(fractions.keys()).cartesian(sc.parallelize(range(1000)))
    sample = dict(rdd.sampleByKey(False, fractions, 2).groupByKey().collect())
    assert 100 < len(sample["a"]) < 300
    assert 50 < len(sample["b"]) < 150
    assert max(sample["a"]) <= 999 and min(sample["a"]) >= 0
    assert len(set(sample["a"])) == len(sample["a"])  # without replacement: no repeats
    with pytest.raises(ValueError, match="Negative fraction"):
        rdd.sampleByKey(False, {"a": -1.0, "b": 0.5})


def test_random_split(sc: LocalContext) -> None:
    rdd = sc.parallelize(range(500), 1)
    first, second = rdd.randomSplit([2, 3], 17)
    assert sorted(first.collect() + second.collect()) == list(range(500))
    assert 150 < first.count() < 250
    assert 250 < second.count() < 350
    with pytest.raises(ValueError, match="nonnegative"):
        rdd.randomSplit([1, -1])
    with pytest.raises(ValueError, match="positive"):
        rdd.randomSplit([0, 0])


def test_union(sc: LocalContext) -> None:
    rdd = sc.parallelize([1, 1, 2, 3])
    assert rdd.union(rdd).collect() == [1, 1, 2, 3, 1, 1, 2, 3]
    assert (rdd + rdd).getNumPartitions() == 4
    with pytest.raises(TypeError, match="can only add an RDD"):
        _ = rdd + (1,)  # type: ignore[operator]  # noqa: RUF005


def test_unions_in_a_loop_stay_flat(sc: LocalContext) -> None:
    rdd = sc.parallelize([0], 1)
    for i in range(1, 500):
        rdd = rdd.union(sc.parallelize([i], 1))
    assert rdd.collect() == list(range(500))
    assert len(rdd.toDebugString().splitlines()) == 501  # one union over 500 parents


def test_union_of_alike_partitioned_rdds_keeps_the_partitioner(sc: LocalContext) -> None:
    a = sc.parallelize([(i, i) for i in range(10)]).partitionBy(3)
    b = sc.parallelize([(i, -i) for i in range(10)]).partitionBy(3)
    union = a.union(b)
    assert union.getNumPartitions() == 3
    assert union.partitioner == a.partitioner
    for split, part in enumerate(union.glom().collect()):
        assert all(
            a.partitioner is not None and a.partitioner.partition(k) == split for k, _ in part
        )
    jobs_before = len(sc.shuffles)
    assert sorted(union.groupByKey(3).mapValues(sorted).collect())[:2] == [
        (0, [0, 0]),
        (1, [-1, 1]),
    ]
    assert len(sc.shuffles) == jobs_before  # grouped in place: no new shuffle


def test_intersection_and_subtract(sc: LocalContext) -> None:
    a = sc.parallelize([1, 10, 2, 3, 4, 5])
    b = sc.parallelize([1, 6, 2, 3, 7, 8])
    assert sorted(a.intersection(b).collect()) == [1, 2, 3]
    x: RDD[Any] = sc.parallelize([("a", 1), ("b", 4), ("b", 5), ("a", 3)])
    y: RDD[Any] = sc.parallelize([("a", 3), ("c", None)])
    assert sorted(x.subtract(y).collect()) == [("a", 1), ("b", 4), ("b", 5)]
    assert sorted(sc.parallelize([1, 1, 2]).subtract(sc.parallelize([2])).collect()) == [1, 1]


def test_cartesian(sc: LocalContext) -> None:
    rdd = sc.parallelize([1, 2])
    assert sorted(rdd.cartesian(rdd).collect()) == [(1, 1), (1, 2), (2, 1), (2, 2)]
    three = sc.parallelize("abc", 3)
    product = rdd.cartesian(three)
    assert product.getNumPartitions() == 6
    assert product.collect() == [(1, "a"), (1, "b"), (1, "c"), (2, "a"), (2, "b"), (2, "c")]
    assert product.first() == (1, "a")


def test_zip(sc: LocalContext) -> None:
    x = sc.parallelize(range(5))
    y = sc.parallelize(range(1000, 1005))
    assert x.zip(y).collect() == [(0, 1000), (1, 1001), (2, 1002), (3, 1003), (4, 1004)]
    assert x.zip(y).first() == (0, 1000)
    with pytest.raises(ValueError, match="same number of partitions"):
        x.zip(sc.parallelize(range(5), 3))
    with pytest.raises(ValueError, match="same number of elements in each partition"):
        x.zip(sc.parallelize(range(6))).collect()


def test_zip_with_index_and_unique_id(sc: LocalContext) -> None:
    assert sc.parallelize(["a", "b", "c", "d"], 3).zipWithIndex().collect() == [
        ("a", 0),
        ("b", 1),
        ("c", 2),
        ("d", 3),
    ]
    assert sc.parallelize(["a", "b", "c", "d", "e"], 3).zipWithUniqueId().collect() == [
        ("a", 0),
        ("b", 1),
        ("c", 4),
        ("d", 2),
        ("e", 5),
    ]
    assert sc.parallelize([], 3).zipWithIndex().collect() == []


def test_group_by(sc: LocalContext) -> None:
    result = sc.parallelize([1, 1, 2, 3, 5, 8]).groupBy(lambda x: x % 2).collect()
    assert sorted((k, sorted(v)) for k, v in result) == [(0, [2, 8]), (1, [1, 1, 3, 5])]


def test_coalesce(sc: LocalContext) -> None:
    assert sc.parallelize([1, 2, 3, 4, 5], 3).coalesce(1).glom().collect() == [[1, 2, 3, 4, 5]]
    assert sc.parallelize(range(8), 4).coalesce(2).glom().collect() == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert (
        sc.parallelize([1, 2], 2).coalesce(5).getNumPartitions() == 2
    )  # never more without shuffle
    with pytest.raises(ValueError, match="Number of partitions must be positive"):
        sc.parallelize([1]).coalesce(0)


def test_repartition(sc: LocalContext) -> None:
    rdd = sc.parallelize([1, 2, 3, 4, 5, 6, 7], 4)
    assert sorted(rdd.glom().collect()) == [[1], [2, 3], [4, 5], [6, 7]]
    assert len(rdd.repartition(2).glom().collect()) == 2
    assert len(rdd.repartition(10).glom().collect()) == 10
    assert sorted(rdd.repartition(3).collect()) == [1, 2, 3, 4, 5, 6, 7]
    assert sorted(rdd.coalesce(5, shuffle=True).collect()) == [1, 2, 3, 4, 5, 6, 7]
    spread = sc.parallelize(range(100), 1).repartition(4).glom().collect()
    assert [len(part) for part in spread] == [25, 25, 25, 25]


def test_pipe(sc: LocalContext) -> None:
    assert sc.parallelize(["1", "2", "", "3"]).pipe("cat").collect() == ["1", "2", "", "3"]
    assert sc.parallelize([1, 2, 3], 1).pipe("wc -l").collect() == ["3"]
    with pytest.raises(RuntimeError, match="exited with error code 1"):
        sc.parallelize(["x"]).pipe("false", checkCode=True).collect()
    assert sc.parallelize(["x"]).pipe("false").collect() == []


def test_default_parallelism_decides_shuffle_width() -> None:
    conf = SparkConf(loadDefaults=False).set("spark.default.parallelism", "5")
    sc = LocalContext(parallelism=2, conf=conf)
    pairs: RDD[tuple[int, int]] = sc.parallelize([(1, 1)], 3)
    assert pairs.reduceByKey(operator.add).getNumPartitions() == 5
    assert LocalContext().parallelize([(1, 1)], 3).reduceByKey(operator.add).getNumPartitions() == 3

"""Broadcast variables, accumulators and StatCounter, as PySpark documents them."""

from __future__ import annotations

import math
from typing import Any

import cloudpickle
import pytest

from minispark.rdd import taskcontext
from minispark.rdd.shared import AccumulatorParam, merge_accumulator_updates
from minispark.rdd.statcounter import StatCounter
from minispark.rdd.taskcontext import TaskContext

from .localrunner import LocalContext


@pytest.fixture
def sc() -> LocalContext:
    return LocalContext(parallelism=2)


# ---------------------------------------------------------------- broadcast


def test_broadcast(sc: LocalContext) -> None:
    b = sc.broadcast([1, 2, 3, 4, 5])
    assert b.value == [1, 2, 3, 4, 5]
    assert sc.parallelize([0, 0]).flatMap(lambda x: b.value).collect() == [1, 2, 3, 4, 5] * 2
    b.unpersist()
    assert sc.parallelize([0]).map(lambda x: len(b.value)).collect() == [5]
    large = sc.broadcast(range(10000))
    assert sc.parallelize([1, 2]).map(lambda x: large.value[x]).sum() == 3


def test_broadcast_pickles_its_value_at_creation(sc: LocalContext) -> None:
    import threading

    with pytest.raises(TypeError):
        sc.broadcast(threading.Lock())


def test_broadcast_value_is_unpickled_lazily_in_tasks(sc: LocalContext) -> None:
    b = sc.broadcast({"k": 1})
    copy = cloudpickle.loads(cloudpickle.dumps(b))
    assert copy.bid == b.bid
    assert copy._loaded is False
    assert copy.value == {"k": 1}
    assert copy.value is copy.value


def test_destroyed_broadcast_cannot_be_used(sc: LocalContext) -> None:
    b = sc.broadcast(7)
    b.destroy()
    with pytest.raises(RuntimeError, match="after it was destroyed"):
        _ = b.value
    with pytest.raises(RuntimeError, match="after it was destroyed"):
        sc.parallelize([1]).map(lambda x: b.value).collect()


# ---------------------------------------------------------------- accumulators


def test_accumulator_on_the_driver(sc: LocalContext) -> None:
    a = sc.accumulator(1)
    assert a.value == 1
    a.value = 2
    assert a.value == 2
    a += 5
    assert a.value == 7
    assert sc.accumulator(1.0).value == 1.0
    assert sc.accumulator(1j).value == 1j
    assert str(a) == "7"
    assert repr(a) == f"Accumulator<id={a.aid}, value=7>"


def test_accumulator_updates_from_tasks(sc: LocalContext) -> None:
    a = sc.accumulator(1)
    rdd = sc.parallelize([1, 2, 3])

    def f(x: int) -> None:
        nonlocal a
        a += x

    rdd.foreach(f)
    assert a.value == 7
    b = sc.accumulator(0)
    rdd.foreach(b.add)
    assert b.value == 6

    def counted(x: int) -> int:
        b.add(x)
        return x

    rdd.map(counted).cache().count()
    assert b.value == 12


def test_custom_accumulator_param(sc: LocalContext) -> None:
    class VectorAccumulatorParam(AccumulatorParam[list[float]]):
        def zero(self, value: list[float]) -> list[float]:
            return [0.0] * len(value)

        def addInPlace(self, val1: list[float], val2: list[float]) -> list[float]:  # noqa: N802
            for i in range(len(val1)):
                val1[i] += val2[i]
            return val1

    va = sc.accumulator([1.0, 2.0, 3.0], VectorAccumulatorParam())
    assert va.value == [1.0, 2.0, 3.0]

    def g(x: int) -> None:
        nonlocal va
        va += [float(x)] * 3

    sc.parallelize([1, 2, 3]).foreach(g)
    assert va.value == [7.0, 8.0, 9.0]


def test_accumulator_terms_are_not_mutated(sc: LocalContext) -> None:
    class ListParam(AccumulatorParam[list[int]]):
        def zero(self, value: list[int]) -> list[int]:
            return []

        def addInPlace(self, val1: list[int], val2: list[int]) -> list[int]:  # noqa: N802
            val1.extend(val2)
            return val1

    acc = sc.accumulator([], ListParam())
    rows = sc.parallelize([[1], [2], [3]], 1).cache()
    rows.foreach(acc.add)
    assert sorted(acc.value) == [1, 2, 3]
    assert rows.collect() == [[1], [2], [3]]


def test_accumulator_value_is_driver_only(sc: LocalContext) -> None:
    a = sc.accumulator(0)
    with pytest.raises(RuntimeError, match="cannot be accessed inside tasks"):
        sc.parallelize([1]).map(lambda x: a.value).collect()

    def set_value(x: int) -> None:
        a.value = 7

    with pytest.raises(RuntimeError, match="cannot be accessed inside tasks"):
        sc.parallelize([1]).foreach(set_value)


def test_no_default_param_for_other_types(sc: LocalContext) -> None:
    with pytest.raises(TypeError, match="No default accumulator param for type"):
        sc.accumulator([1.0, 2.0, 3.0])


def test_failed_tasks_do_not_count(sc: LocalContext) -> None:
    a = sc.accumulator(0)

    def add_then_fail(x: int) -> None:
        a.add(x)
        if x == 3:
            raise ValueError("no")

    with pytest.raises(ValueError, match="no"):
        sc.parallelize([1, 2, 3], 2).foreach(add_then_fail)
    assert a.value == 1  # the first task succeeded; the failed one's updates are dropped


def test_updates_are_merged_by_id() -> None:
    sc = LocalContext()
    a = sc.accumulator(10)
    copy: Any = cloudpickle.loads(cloudpickle.dumps(a))
    context = TaskContext()
    taskcontext.set_current(context)
    try:
        copy.add(5)
        copy += 6
    finally:
        taskcontext.set_current(None)
    assert context.accumulator_updates == {a.aid: 11}
    merge_accumulator_updates(context.accumulator_updates)
    merge_accumulator_updates({10**9: 1})  # an unknown (dropped) accumulator is ignored
    assert a.value == 21


# ---------------------------------------------------------------- StatCounter


def test_stat_counter() -> None:
    stats = StatCounter([1.0, 2.0, 3.0, 4.0])
    assert stats.count() == 4
    assert stats.mean() == 2.5
    assert stats.sum() == 10.0
    assert stats.variance() == 1.25
    assert stats.sampleVariance() == pytest.approx(5 / 3)
    assert stats.asDict() == {
        "count": 4,
        "mean": 2.5,
        "sum": 10.0,
        "min": 1.0,
        "max": 4.0,
        "stdev": math.sqrt(1.25),
        "variance": 1.25,
    }
    assert stats.asDict(sample=True)["variance"] == pytest.approx(5 / 3)


def test_stat_counter_merges_like_one_pass() -> None:
    values = [1e9 + x for x in (4.0, 7.0, 13.0, 16.0)]
    merged = StatCounter(values[:1]).mergeStats(StatCounter(values[1:]))
    assert merged.variance() == pytest.approx(StatCounter(values).variance())
    assert merged.variance() == pytest.approx(22.5)
    same = StatCounter([1.0, 3.0])
    assert same.mergeStats(same).count() == 4
    empty = StatCounter()
    assert empty.mergeStats(StatCounter([5.0])).max() == 5.0
    assert math.isnan(StatCounter([1.0]).sampleStdev())
    assert StatCounter([2.0]).copy().mean() == 2.0

"""Real jobs on real daemons: stages, shuffles that spill, faults mid-job, user errors."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from operator import add
from pathlib import Path

import pytest

from minispark import SparkConf, SparkContext
from minispark.driver.scheduler import SparkJobError

from .harness import app_conf, wait_for


def _conf(master: str, **settings: str) -> SparkConf:
    pairs = [f"{key}={value}" for key, value in settings.items()]
    return app_conf(master, *pairs, name="engine", memory="512m")


@pytest.fixture(scope="module")
def sc() -> Iterator[SparkContext]:
    """One embedded cluster for the tests that only need a working one."""
    with SparkContext(conf=_conf("local-cluster[2,1,1024]")) as context:
        yield context


def test_multi_stage_job_gives_the_right_answer(sc: SparkContext) -> None:
    lines = [f"w{i % 7} w{i % 3} w{i % 11}" for i in range(3000)]
    counts = sc.parallelize(lines, 6).flatMap(str.split).map(lambda w: (w, 1)).reduceByKey(add, 4)
    by_count = counts.map(lambda kv: (kv[1], kv[0])).sortByKey(ascending=False)
    expected = Counter(w for line in lines for w in line.split())
    assert dict(counts.collect()) == expected
    assert by_count.first()[0] == max(expected.values())
    names = sc.parallelize([(w, w.upper()) for w in expected], 3)
    joined = dict(counts.join(names).collect())
    assert joined == {w: (n, w.upper()) for w, n in expected.items()}


def test_shuffle_outputs_are_reused_by_later_jobs(sc: SparkContext) -> None:
    pairs = sc.parallelize(range(1000), 4).map(lambda x: (x % 10, x)).reduceByKey(add)
    first = sorted(pairs.collect())
    stages_before = len(sc._scheduler.graph.map_stages)
    assert sorted(pairs.collect()) == first
    assert pairs.count() == 10
    assert len(sc._scheduler.graph.map_stages) == stages_before  # no new map stage ran


def test_user_exception_reaches_the_driver_with_its_traceback(sc: SparkContext) -> None:
    def explode(x: int) -> int:
        if x == 7:
            raise ValueError(f"bad record {x}")
        return x

    with pytest.raises(SparkJobError) as failure:
        sc.parallelize(range(10), 2).map(explode).collect()
    text = str(failure.value)
    assert "Task 1 in stage" in text and "failed 4 times" in text
    assert "ValueError: bad record 7" in text
    assert "Remote traceback" in text and "in explode" in text


def test_unpicklable_closure_fails_at_submission(sc: SparkContext) -> None:
    lock = threading.Lock()
    with pytest.raises(SparkJobError, match="Could not serialize"):
        sc.parallelize([1]).map(lambda x: (lock, x)).collect()


def test_text_files_in_and_out(sc: SparkContext, tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_text("".join(f"line {i}\n" for i in range(5000)))
    rdd = sc.textFile(str(source), minPartitions=4)
    assert rdd.getNumPartitions() >= 4
    assert rdd.count() == 5000
    assert rdd.filter(lambda line: line.endswith("9")).count() == 500
    out = tmp_path / "out"
    rdd.map(lambda line: line.upper()).saveAsTextFile(str(out))
    assert (out / "_SUCCESS").exists()
    assert sorted(sc.textFile(str(out)).collect()) == sorted(f"LINE {i}" for i in range(5000))


def test_cache_serves_later_actions(sc: SparkContext) -> None:
    calls = sc.accumulator(0)

    def counted(x: int) -> int:
        calls.add(1)
        return x

    rdd = sc.parallelize(range(100), 4).map(counted).cache()
    assert rdd.sum() == 4950
    assert rdd.count() == 100
    assert calls.value == 100  # computed once; the second action read the cache


def test_unpersist_drops_cached_blocks(sc: SparkContext) -> None:
    calls = sc.accumulator(0)

    def counted(x: int) -> int:
        calls.add(1)
        return x

    rdd = sc.parallelize(range(50), 2).map(counted).cache()
    rdd.count()
    rdd.count()
    assert calls.value == 50
    assert _cached_blocks(sc, rdd.id)  # they existed: the wait below is not vacuous
    rdd.unpersist()
    wait_for(lambda: not _cached_blocks(sc, rdd.id), "the executors to delete the cached blocks")
    rdd.count()
    assert calls.value == 100  # computed again: nothing was left to read


def _cached_blocks(sc: SparkContext, rdd_id: int) -> list[Path]:
    assert sc._local is not None
    return list(sc._local.dir.glob(f"work-*/local/app-*/rdd_{rdd_id}_*"))


def test_task_context_inside_tasks(sc: SparkContext) -> None:
    from minispark import TaskContext

    def where(_: object) -> int:
        context = TaskContext.get()
        assert context is not None
        return context.partitionId()

    assert sc.parallelize(range(4), 4).map(where).collect() == [0, 1, 2, 3]
    assert TaskContext.get() is None  # on the driver

"""Jobs on clusters of their own: spilling, faults mid-job, memory limits, submit."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from operator import add
from pathlib import Path

import pytest

from minispark import SparkConf, SparkContext
from minispark.driver.scheduler import SparkJobError

from .harness import Cluster, app_conf, pid_alive, url_of, wait_for


def _conf(master: str, **settings: str) -> SparkConf:
    pairs = [f"{key}={value}" for key, value in settings.items()]
    return app_conf(master, *pairs, name="engine-faults", memory="512m")


def test_shuffle_that_spills_to_disk_is_still_right() -> None:
    conf = _conf("local-cluster[2,1,1024]", **{"minispark.shuffle.spillThreshold": "1k"})
    with SparkContext(conf=conf) as sc:
        n = 200_000
        groups = sc.range(n, numSlices=4).map(lambda i: (i % 1000, i)).groupByKey(4)
        sizes = groups.mapValues(len).collectAsMap()
        sums = sc.range(n, numSlices=4).map(lambda i: (i % 97, i)).reduceByKey(add).collectAsMap()
        assert sc._scheduler.spills > 0
    assert sizes == {k: n // 1000 for k in range(1000)}
    assert sums == {k: sum(range(k, n, 97)) for k in range(97)}


def test_job_survives_an_executor_killed_mid_job(cluster: Cluster) -> None:
    master = cluster.master()
    for _ in range(2):
        cluster.worker(url_of(master), cores=1, memory="1g")
    cluster.wait_registered(master, 2)
    with SparkContext(conf=_conf(url_of(master))) as sc:
        victim = sc.wait_for_executors(2)[0]
        done = sc.accumulator(0)

        def work(x: int) -> tuple[int, int]:
            import time

            done.add(1)
            time.sleep(0.02)
            return (x % 10, x)

        rdd = sc.parallelize(range(400), 40).map(work).reduceByKey(add)
        killer = threading.Thread(target=_kill_when, args=(lambda: done.value >= 40, victim.pid))
        killer.start()
        result = dict(rdd.collect())
        killer.join()
        assert not pid_alive(victim.pid)
    assert result == {k: sum(range(k, 400, 10)) for k in range(10)}


def _kill_when(ready: object, pid: int) -> None:
    wait_for(ready, "the job to be under way")  # type: ignore[arg-type]
    os.kill(pid, signal.SIGKILL)


def test_job_survives_a_worker_killed_after_its_map_outputs(cluster: Cluster) -> None:
    """The worker holding map outputs dies: the reducers' fetches fail, the lost maps are
    recomputed from lineage on the surviving worker, and the answer is still right."""
    master = cluster.master()
    workers = [cluster.worker(url_of(master), cores=1, memory="1g") for _ in range(2)]
    cluster.wait_registered(master, 2)
    with SparkContext(conf=_conf(url_of(master))) as sc:
        sc.wait_for_executors(2)
        pairs = sc.parallelize(range(2000), 8).map(lambda x: (x % 50, x))
        summed = pairs.reduceByKey(add, 4)
        assert summed.count() == 50  # map outputs now live on both workers
        workers[0].signal(signal.SIGKILL)
        result = dict(summed.map(lambda kv: (kv[0], kv[1] + 0)).collect())
    assert result == {k: sum(range(k, 2000, 50)) for k in range(50)}


def test_executor_over_its_memory_is_stopped_with_a_reason(cluster: Cluster) -> None:
    master = cluster.master()
    cluster.worker(url_of(master), cores=1, memory="2g")
    cluster.wait_registered(master, 1)
    conf = _conf(url_of(master), **{"spark.executor.memory": "200m", "spark.task.maxFailures": "2"})
    with SparkContext(conf=conf) as sc:

        def hog(_: object) -> int:
            block = bytearray(400 * 2**20)
            for i in range(0, len(block), 4096):
                block[i] = 1
            import time

            time.sleep(5)
            return len(block)

        with pytest.raises(SparkJobError, match=r"spark\.executor\.memory"):
            sc.parallelize([1], 1).map(hog).collect()


def test_submit_ships_py_files_and_propagates_failure(tmp_path: Path) -> None:
    helper = tmp_path / "helper_mod.py"
    helper.write_text("def triple(x):\n    return 3 * x\n")
    app = tmp_path / "app.py"
    app.write_text(
        textwrap.dedent("""
        import sys
        from minispark import SparkContext
        sc = SparkContext(appName="pyfiles")
        def use_helper(x):
            import helper_mod  # only on the executors through --py-files
            return helper_mod.triple(x)
        print("RESULT", sc.parallelize(range(5), 2).map(use_helper).collect())
        sc.stop()
        sys.exit(4)
    """)
    )
    os.rename(helper, tmp_path / "elsewhere_helper.py")  # not importable from the app's dir
    shipped = tmp_path / "ship" / "helper_mod.py"
    shipped.parent.mkdir()
    os.rename(tmp_path / "elsewhere_helper.py", shipped)
    result = subprocess.run(
        [sys.executable, "-m", "minispark", "submit", "--master", "local-cluster[1,1,512]",
         "--executor-memory", "256m", "--py-files", str(shipped), str(app)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert "RESULT [0, 3, 6, 9, 12]" in result.stdout, result.stderr
    assert result.returncode == 4

"""Master failover through ZooKeeper: seconds until the standby leads with every worker back.

    python bench/failover.py [--runs 3] [--no-baseline]

On a real three-member ZooKeeper ensemble (Debian's package, loopback ports, as the tests
start it), two masters and two workers started through the CLI, with a job of short tasks
running across each failover:

- kill -9 of the ALIVE master, with the shipped defaults (ZooKeeper session 6 s);
- SIGTERM of the ALIVE master (a clean release of leadership);
- the baseline, in the same run: kill -9 with Spark's settings (session timeout 60 s,
  recovery timeout 60 s), i.e. what minispark would do configured as Spark is.

Time runs from the signal until the other master's ``/json`` says ALIVE with both workers
ALIVE. Targets (issue 4): under 8 s after kill -9 with the defaults, under 1 s after
SIGTERM, and no failed task in the job that runs across it. Spark 4.3 took 27-33 s
(median 32.6 s) on this kind of machine for the kill -9 case.
"""

from __future__ import annotations

import argparse
import signal
import statistics
import sys
import tempfile
import threading
import time
import uuid
from operator import add
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository's tests/

from minispark import SparkConf, SparkContext
from minispark.masterurl import format_master_url
from tests.integration.harness import Cluster, Daemon, get_json, wait_for
from tests.zk.ensemble import Ensemble

GUARD_S = 180.0


def _leads(master: Daemon, workers: int) -> bool:
    try:
        state = get_json(f"{master.web}/json")
    except OSError:
        return False
    return bool(state["status"] == "ALIVE" and state["aliveworkers"] == workers)


def one_failover(
    root: Path, zk: Ensemble, signum: int, session: str, recovery: str
) -> dict[str, float]:
    conf = (
        "spark.deploy.recoveryMode=ZOOKEEPER",
        f"spark.deploy.zookeeper.url={zk.connect_string}",
        f"spark.deploy.zookeeper.dir=/bench-{uuid.uuid4().hex[:8]}",
        f"minispark.zookeeper.sessionTimeout={session}",
        f"spark.deploy.recoveryTimeout={recovery}",
    )
    cluster = Cluster(root)
    try:
        first = cluster.master(*conf)
        wait_for(lambda: _leads(first, 0), "the first master", GUARD_S)
        second = cluster.master(*conf)
        url = format_master_url([("127.0.0.1", first.port), ("127.0.0.1", second.port)])
        for _ in range(2):
            cluster.worker(url, cores=1, memory="1g")
        wait_for(lambda: _leads(first, 2), "two workers", GUARD_S)
        return _across_a_job(url, first, second, signum)
    finally:
        cluster.stop()


def _across_a_job(url: str, leader: Daemon, standby: Daemon, signum: int) -> dict[str, float]:
    conf = SparkConf(loadDefaults=False).setMaster(url).setAppName("failover")
    conf.set("spark.executor.memory", "256m")
    with SparkContext(conf=conf) as sc:
        sc.wait_for_executors(2)
        answer: list[Any] = []

        def slow(x: int) -> tuple[int, int]:
            import time as t

            t.sleep(0.01)
            return (x % 5, x)

        job = threading.Thread(
            target=lambda: answer.append(
                sc.parallelize(range(2000), 200).map(slow).reduceByKey(add).collectAsMap()
            )
        )
        job.start()
        time.sleep(0.3)
        started = time.perf_counter()
        leader.signal(signum)
        wait_for(lambda: _leads(standby, 2), "the standby to lead", GUARD_S)
        took = time.perf_counter() - started
        job.join(GUARD_S)
        right = answer == [{k: sum(range(k, 2000, 5)) for k in range(5)}]
        failed = sum(sc._scheduler.failures.values())
    return {"seconds": took, "failed_tasks": float(failed), "right": float(right)}


def measure(
    label: str, runs: int, signum: int, session: str, recovery: str
) -> list[dict[str, float]]:
    results = []
    for i in range(runs):
        with (
            tempfile.TemporaryDirectory(prefix="bench-failover-") as tmp,
            Ensemble(Path(tmp) / "zk") as zk,
        ):
            results.append(one_failover(Path(tmp), zk, signum, session, recovery))
        print(f"{label} run {i + 1}/{runs}: {results[-1]['seconds']:.2f} s", file=sys.stderr)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--no-baseline", action="store_true", help="skip the slow Spark-settings run"
    )
    args = parser.parse_args()
    kill = measure("kill -9", args.runs, signal.SIGKILL, "6s", "15s")
    term = measure("SIGTERM", args.runs, signal.SIGTERM, "6s", "15s")
    base = [] if args.no_baseline else measure("Spark settings", 1, signal.SIGKILL, "60s", "60s")
    baseline = statistics.median(r["seconds"] for r in base) if base else float("nan")
    header = "seconds  baseline   ratio  target  met  failed tasks  right"
    print(f"median of {args.runs} runs              {header}")
    for label, rows, target in (
        ("kill -9 of the leader", kill, 8.0),
        ("SIGTERM of the leader", term, 1.0),
    ):
        median = statistics.median(r["seconds"] for r in rows)
        failed = int(sum(r["failed_tasks"] for r in rows))
        right = all(r["right"] for r in rows)
        met = "yes" if median < target and failed == 0 and right else "NO"
        ratio = median / baseline
        print(
            f"{label:34s} {median:8.2f} {baseline:9.2f} {ratio:7.3f} {target:7g}  {met:3s}  ",
            end="",
        )
        print(f"{failed:12d}  {right}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

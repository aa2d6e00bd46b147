"""``groupByKey`` of 10 million pairs with 512 MiB executors: does it finish, and within memory?

    python bench/groupbykey.py [--pairs 10000000] [--keys 100000] [--slices 4] [--runs 1]

- minispark: one ``SparkContext`` on ``local-cluster[2,1,1024]`` with
  ``spark.executor.memory=512m`` (two executors of one core); the job is
  ``sc.range(PAIRS, numSlices=SLICES).map(lambda x: (x % KEYS, x)).groupByKey()
  .mapValues(len).collectAsMap()``: every key must come back with exactly PAIRS / KEYS
  values. While it runs, a thread samples each executor every 0.2 s the way the executor
  checks itself (``minispark.executor.tree_memory``: the executor's RSS plus, for its task
  processes, RSS minus shared pages) and keeps the peak. Executors that appear during the
  job beyond the first two are counted as lost (an executor over its memory stops itself).
- baseline: the same grouping in one plain Python process (a ``dict`` of ``list``s, no
  framework, no memory limit), timed, with its peak RSS (``ru_maxrss``): what the data costs
  when nothing bounds memory.

It prints the job time against the baseline's, and the peak executor memory against the
512 MiB limit (the ratio column is peak / limit there; the issue's target is that the job
completes with the right answer and every executor stays under its limit).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

import psutil
from benchlib import Row, deadline, machine_noise, print_table, timed

LIMIT_MIB = 512
SAMPLE_S = 0.2
JOB_GUARD_S = 900.0

BASELINE = """\
import json, resource, sys, time
pairs, keys = int(sys.argv[1]), int(sys.argv[2])
start = time.perf_counter()
groups = {}
for x in range(pairs):
    k = x % keys
    if k in groups:
        groups[k].append(x)
    else:
        groups[k] = [x]
lengths = {k: len(v) for k, v in groups.items()}
elapsed = time.perf_counter() - start
ok = len(lengths) == keys and all(n == pairs // keys for n in lengths.values())
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": elapsed, "peak_mib": peak, "ok": ok}))
"""


@dataclass
class Sampler:
    """Peak ``tree_memory`` of every executor under this process, sampled in a thread."""

    peaks: dict[int, float] = field(default_factory=dict)  # executor pid -> MiB
    rss_peaks: dict[int, float] = field(default_factory=dict)  # plain RSS sum, for context
    samples: int = 0
    stop: threading.Event = field(default_factory=threading.Event)

    @staticmethod
    def executors() -> list[psutil.Process]:
        """Executor processes (``-m minispark.executor`` whose parent is not one: their task
        processes are forked children with the same command line)."""
        found = []
        for proc in psutil.Process().children(recursive=True):
            with contextlib.suppress(psutil.Error):
                if "minispark.executor" in proc.cmdline():
                    parent = proc.parent()
                    if parent is None or "minispark.executor" not in parent.cmdline():
                        found.append(proc)
        return found

    def sample(self) -> None:
        from minispark.executor.process import tree_memory

        for proc in self.executors():
            with contextlib.suppress(psutil.Error):
                used = tree_memory(proc) / 2**20
                rss = sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)])
                self.peaks[proc.pid] = max(self.peaks.get(proc.pid, 0.0), used)
                self.rss_peaks[proc.pid] = max(self.rss_peaks.get(proc.pid, 0.0), rss / 2**20)
        self.samples += 1

    def run(self) -> None:
        while not self.stop.wait(SAMPLE_S):
            self.sample()


def baseline(pairs: int, keys: int) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", BASELINE, str(pairs), str(keys)],
        capture_output=True,
        text=True,
        timeout=JOB_GUARD_S,
        check=True,
    )
    result: dict[str, float] = json.loads(done.stdout)
    return result


def minispark_run(pairs: int, keys: int, slices: int, runs: int) -> dict[str, float]:
    from minispark import SparkConf, SparkContext

    conf = (
        SparkConf()
        .setMaster("local-cluster[2,1,1024]")
        .setAppName("bench-groupbykey")
        .set("spark.executor.memory", f"{LIMIT_MIB}m")
        .set("spark.ui.showConsoleProgress", "false")
    )
    times: list[float] = []
    completed = right = True
    sampler = Sampler()
    with SparkContext(conf=conf) as sc:
        first = {p.pid for p in sampler.executors()}
        thread = threading.Thread(target=sampler.run, daemon=True)
        thread.start()
        try:
            for i in range(runs):
                lengths: dict[int, int] = {}

                def job(into: dict[int, int] = lengths) -> None:
                    rdd = sc.range(pairs, numSlices=slices).map(lambda x: (x % keys, x))
                    into.update(rdd.groupByKey().mapValues(len).collectAsMap())

                try:
                    times.append(timed(job))
                except Exception as exc:
                    print(f"minispark groupByKey failed: {exc}", file=sys.stderr)
                    completed = right = False
                    break
                ok = len(lengths) == keys and all(n == pairs // keys for n in lengths.values())
                right = right and ok
                print(
                    f"minispark groupByKey {i + 1}/{runs}: {times[-1]:.3f} s, answer "
                    f"{'right' if ok else 'WRONG'}, peak so far "
                    f"{max(sampler.peaks.values(), default=0):.0f} MiB",
                    file=sys.stderr,
                )
        finally:
            sampler.stop.set()
            thread.join(5)
    lost = len(set(sampler.peaks) - first)
    return {
        "seconds": statistics.median(times) if times else float("nan"),
        "peak_mib": max(sampler.peaks.values(), default=0.0),
        "rss_peak_mib": max(sampler.rss_peaks.values(), default=0.0),
        "completed": float(completed),
        "right": float(right),
        "lost": float(lost),
        "samples": float(sampler.samples),
        "spills": float(getattr(sc._scheduler, "spills", -1)),  # tasks' spill count
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pairs", type=int, default=10_000_000)
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--slices", type=int, default=4, help="numSlices of sc.range")
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    if args.pairs % args.keys:
        parser.error("--pairs must be a multiple of --keys (every key gets the same count)")
    print(f"load average before: {os.getloadavg()[0]:.2f}", file=sys.stderr)
    with machine_noise("plain Python"), deadline(JOB_GUARD_S, "the baseline"):
        base = baseline(args.pairs, args.keys)
    print(
        f"plain Python: {base['seconds']:.3f} s, peak RSS {base['peak_mib']:.0f} MiB",
        file=sys.stderr,
    )
    start = time.perf_counter()
    with machine_noise("minispark"), deadline(JOB_GUARD_S, "the minispark job"):
        ours = minispark_run(args.pairs, args.keys, args.slices, args.runs)
    print(f"minispark total, with cluster start and stop: {time.perf_counter() - start:.1f} s",
          file=sys.stderr)  # fmt: skip
    ok = bool(ours["completed"] and ours["right"])
    under = ours["peak_mib"] < LIMIT_MIB
    rows = [
        Row("groupByKey job (s)", ours["seconds"], base["seconds"], "completes", ok),
        Row("peak executor memory (MiB)", ours["peak_mib"], LIMIT_MIB, f"< {LIMIT_MIB} MiB", under),
        Row("  plain RSS sum of its tree (MiB)", ours["rss_peak_mib"], LIMIT_MIB, "", None),
        Row("  baseline's peak RSS (MiB)", base["peak_mib"], LIMIT_MIB, "", None),
        Row("answer right (1 = yes)", ours["right"], base["ok"], "every key", bool(ours["right"])),
        Row("executors lost", ours["lost"], 0.0, "0", ours["lost"] == 0),
        Row("spills to disk (all tasks)", ours["spills"], 0.0, "", None),
    ]
    print_table(
        f"groupByKey of {args.pairs:,} pairs, {args.keys:,} keys, {args.slices} slices, "
        f"spark.executor.memory={LIMIT_MIB}m ({int(ours['samples'])} memory samples); "
        "baseline: one plain Python process for the time row, the limit for memory rows",
        "base/limit",
        rows,
    )
    return 0 if ok and under else 1


if __name__ == "__main__":
    sys.exit(main())

"""What a setting costs: no-op tasks/s and the word count, with it against without it.

Not a benchmark itself: ``bench/security.py`` (auth and TLS) and ``bench/ui.py`` (the
application UI and the event log) are two uses of :func:`compare`. Two kinds of
``local-cluster[2,1,1024]``, started the same way, take turns (baseline, measured, baseline,
measured, ...: this is a shared machine, and its load drifts). Each turn starts a cluster,
runs one untimed warm-up of each job, then one timed run of

- ``sc.parallelize(range(N), N).foreach(lambda x: None)`` (bench/tasks.py's job), and
- the word count of bench/wordcount.py: ``textFile .flatMap .map .reduceByKey`` then
  ``count()`` and ``takeOrdered(10)``, over the file ``bench/gen_text.py`` makes.

The jobs' lambdas are built here but shipped by value: cloudpickle pickles functions of a
module that executors cannot import by value as well, so this module need not be importable
there (the callers run it from ``bench/``).
"""

from __future__ import annotations

import argparse
import operator
import os
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

from benchlib import Row, deadline, machine_noise, print_table, timed
from gen_text import DEFAULT_DATA_DIR, ensure_text

SIDE_GUARD_S = 1800.0
JOBS = ("tasks", "wordcount")


@dataclass(frozen=True)
class Side:
    label: str
    settings: dict[str, str]


def arguments(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--size-mb", type=int, default=100)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    return parser.parse_args()


def run_side(side: Side, tasks: int, text: Path) -> dict[str, float]:
    """One turn: a cluster with the side's settings, warmed up, each job timed once."""
    from minispark import SparkConf, SparkContext

    conf = (
        SparkConf()
        .setMaster("local-cluster[2,1,1024]")
        .setAppName(f"bench-{side.label}")
        .set("spark.ui.showConsoleProgress", "false")
    )
    for key, value in side.settings.items():
        conf.set(key, value)
    with SparkContext(conf=conf) as sc:

        def noop_job() -> None:
            sc.parallelize(range(tasks), tasks).foreach(lambda x: None)

        def word_count() -> None:
            counts = (
                sc.textFile(str(text))
                .flatMap(str.split)
                .map(lambda w: (w, 1))
                .reduceByKey(operator.add)
            )
            assert counts.count() > 0
            counts.takeOrdered(10, key=lambda kv: -kv[1])

        noop_job()  # warm-up: task processes forked, links open
        word_count()
        times = {"tasks": timed(noop_job), "wordcount": timed(word_count)}
    print(
        f"{side.label}: {tasks} no-op tasks {times['tasks']:.3f} s, "
        f"word count {times['wordcount']:.3f} s",
        file=sys.stderr,
    )
    return times


def compare(
    args: argparse.Namespace, baseline: Side, measured: Side, max_cost: float
) -> dict[str, float]:
    """Alternate the two sides ``args.runs`` times; print the medians and the ratios
    measured / baseline against the target (at most ``max_cost`` slower on both jobs).
    Returns the ratios: tasks/s measured over baseline, word count seconds likewise."""
    text = ensure_text(args.size_mb, 10_000, data_dir=args.data_dir)
    print(f"load average before: {os.getloadavg()[0]:.2f}", file=sys.stderr)
    times: dict[str, dict[str, list[float]]] = {
        side.label: {job: [] for job in JOBS} for side in (baseline, measured)
    }
    with machine_noise("both"), deadline(SIDE_GUARD_S, "the clusters"):
        for _ in range(args.runs):
            for side in (baseline, measured):
                for job, seconds in run_side(side, args.tasks, text).items():
                    times[side.label][job].append(seconds)
    base, meas = times[baseline.label], times[measured.label]
    base_rate = args.tasks / statistics.median(base["tasks"])
    meas_rate = args.tasks / statistics.median(meas["tasks"])
    base_wc, meas_wc = statistics.median(base["wordcount"]), statistics.median(meas["wordcount"])
    rows = [
        Row(
            "no-op tasks per second",
            meas_rate,
            base_rate,
            f">= {1 - max_cost:g}x {baseline.label}",
            meas_rate >= (1 - max_cost) * base_rate,
        ),
        Row(
            f"word count of {args.size_mb} MiB (s)",
            meas_wc,
            base_wc,
            f"<= {1 + max_cost:g}x {baseline.label}",
            meas_wc <= (1 + max_cost) * base_wc,
        ),
    ]
    title = f"{measured.label} (minispark column) against {baseline.label}, median of {args.runs}"
    print_table(title, baseline.label, rows)
    return {"tasks": meas_rate / base_rate, "wordcount": meas_wc / base_wc}

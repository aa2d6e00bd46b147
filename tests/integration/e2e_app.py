"""A Spark user's program for the end-to-end UI tests, run as a script (its functions then
travel to the executors by value: they cannot import the tests package).

``python e2e_app.py MASTER INPUT KEY=VALUE...`` runs three jobs: a word count over INPUT
(a shuffle), a count whose task fails once and succeeds on its retry, and a collect that
fails for good. It then prints one JSON line (the application's id, its UI's address and
what the jobs returned) and keeps the application RUNNING until a line arrives on stdin,
so a browser can look at the live UI; then it stops the context, which ends the event log.
"""

from __future__ import annotations

import json
import sys
from operator import add

from minispark import SparkConf, SparkContext, TaskContext

FLAKY = 5  # the record whose first attempt fails
DOOMED = 7  # the record that fails on every attempt
EXECUTORS = 2  # one per worker of the test's cluster: the shuffle then crosses workers


def flaky(x: int) -> int:
    context = TaskContext.get()
    if x == FLAKY and context is not None and context.attemptNumber() == 0:
        print(f"flaky: first attempt at record {x} fails", flush=True)
        raise RuntimeError(f"flaky record {x} (first attempt)")
    return x


def doomed(x: int) -> int:
    if x == DOOMED:
        raise ValueError(f"bad record {x}")
    return x


def pair(word: str) -> tuple[str, int]:
    return word, 1


def main(argv: list[str]) -> None:
    master, source, *pairs = argv
    conf = SparkConf(loadDefaults=False).setMaster(master).setAppName("e2e word count")
    for setting in pairs:
        key, _, value = setting.partition("=")
        conf.set(key, value)
    sc = SparkContext(conf=conf)
    sc.wait_for_executors(EXECUTORS)  # else the first to come may run every task
    words = sc.textFile(source, minPartitions=4).flatMap(str.split)
    counts = dict(words.map(pair).reduceByKey(add, 3).collect())
    retried = sc.parallelize(range(10), 2).map(flaky).count()
    failure = ""
    try:
        # One partition: a sibling task could otherwise still be running (or not yet
        # started) when the stage aborts, and the job's count of done tasks would vary.
        sc.parallelize(range(10), 1).map(doomed).collect()
    except Exception as err:  # the job is meant to fail: report how
        failure = str(err)
    report = {
        "app": sc.applicationId,
        "ui": sc.uiWebUrl,
        "counts": counts,
        "retried": retried,
        "failure": failure,
    }
    print(json.dumps(report), flush=True)
    sys.stdin.readline()  # the test says when the browser is done
    sc.stop()


if __name__ == "__main__":
    main(sys.argv[1:])

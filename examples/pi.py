"""Estimate π by throwing random darts at a square, on the cluster.

    minispark submit --master 'local-cluster[2,1,512]' examples/pi.py [PARTITIONS]

A dart lands uniformly in the square [-1, 1] x [-1, 1]; the chance it lands inside the unit
circle is (area of circle) / (area of square) = π / 4. Each of PARTITIONS tasks (default 2)
throws 100,000 darts; the driver adds up the hits.
"""

import random
import sys

from minispark import SparkConf, SparkContext

DARTS_PER_PARTITION = 100_000


def hits(index, _numbers):
    # One generator per partition, seeded by its index: tasks that run in the same (forked)
    # process never share a random sequence, and a retried task throws the same darts.
    rng = random.Random(index)
    inside = 0
    for _ in range(DARTS_PER_PARTITION):
        x, y = rng.uniform(-1, 1), rng.uniform(-1, 1)
        inside += x * x + y * y <= 1
    yield inside


if __name__ == "__main__":
    partitions = int(sys.argv[1]) if len(sys.argv) > 1 else 2

    conf = SparkConf().setAppName("pi")
    with SparkContext(conf=conf) as sc:
        # The data is only there to give each task a partition index: the darts are
        # generated inside the tasks, so nothing big is shipped from the driver.
        inside = sc.parallelize(range(partitions), partitions).mapPartitionsWithIndex(hits).sum()
        darts = DARTS_PER_PARTITION * partitions
        print(f"Pi is roughly {4.0 * inside / darts:.5f} ({darts:,} darts)")

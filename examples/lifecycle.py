"""Start an application, wait for its executors, and report them.

    minispark submit --master 'local-cluster[2,1,512]' examples/lifecycle.py
"""

from minispark import SparkConf, SparkContext

conf = SparkConf().setAppName("lifecycle").set("spark.executor.memory", "256m")
with SparkContext(conf=conf) as sc:
    executors = sc.wait_for_executors(2)
    print(f"application {sc.applicationId} has {len(executors)} executors:")
    for e in sorted(executors, key=lambda e: e.exec_id):
        print(f"  executor {e.exec_id} on {e.worker_id} ({e.cores} cores, pid {e.pid})")

"""The driver's runtime, inside the user's program: ``SparkContext``, the application's link
to the master (``appclient``), the DAG and task schedulers, the event loop they share, the
console progress and the embedded ``local-cluster`` master.

It imports the RDD API (``minispark.rdd``) and the shared layer (``conf``, ``protocol``,
``rpc``, ``security``), never a daemon's package.
"""

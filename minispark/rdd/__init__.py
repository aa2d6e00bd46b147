"""The API user programs are written against: RDD kinds, pair functions, sources, text files,
sampling, sorting, statistics, shared variables, ``StorageLevel``, ``SparkConf`` and the
``TaskContext`` a user function can ask for.

It runs in two places: the driver builds RDD graphs with it, and executors run the same
objects' ``compute`` inside task processes. So it imports no runtime: neither the driver's
(``minispark.driver``) nor the executor's (``minispark.executor``), which both import it.
"""

"""The executor process a worker starts for an application (``python -m minispark.executor``):
it registers with its driver, keeps a pool of forked task processes that run the RDD API's
``compute``, and writes and reads shuffle blocks.

It imports the RDD API (``minispark.rdd``) and the shared layer; the worker imports its
``shuffle`` module to serve the blocks it wrote.
"""

"""minispark: a Python re-creation of Apache Spark's standalone cluster.

``from minispark import SparkConf, SparkContext`` gives PySpark's entry points (and the
other names PySpark exports at its top level). They are imported on first use so that the
daemons, which never need them, start faster.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# name -> module that defines it (PySpark's top-level names)
_LAZY = {
    "SparkContext": "minispark.driver.context",
    "SparkConf": "minispark.rdd.sparkconf",
    "StorageLevel": "minispark.rdd.storagelevel",
    "Broadcast": "minispark.rdd.shared",
    "Accumulator": "minispark.rdd.shared",
    "AccumulatorParam": "minispark.rdd.shared",
    "StatCounter": "minispark.rdd.statcounter",
    "TaskContext": "minispark.rdd.taskcontext",
    "RDD": "minispark.rdd.base",
}
__all__ = [
    "RDD",
    "Accumulator",
    "AccumulatorParam",
    "Broadcast",
    "SparkConf",
    "SparkContext",
    "StatCounter",
    "StorageLevel",
    "TaskContext",
    "__version__",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'minispark' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)

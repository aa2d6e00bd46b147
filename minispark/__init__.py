"""minispark: a Python re-creation of Apache Spark's standalone cluster.

``from minispark import SparkConf, SparkContext`` gives PySpark's entry points. They are
imported on first use so that the daemons, which never need them, start faster.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["SparkConf", "SparkContext", "__version__"]


def __getattr__(name: str) -> Any:
    if name == "SparkContext":
        from .core.context import SparkContext

        return SparkContext
    if name == "SparkConf":
        from .core.sparkconf import SparkConf

        return SparkConf
    raise AttributeError(f"module 'minispark' has no attribute {name!r}")

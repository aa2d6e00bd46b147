"""How an RDD describes itself to people: where the program created it (Spark's "callsite",
shown in its ``repr``) and its lineage as text (``toDebugString``)."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

from .dependency import ShuffleDependency

if TYPE_CHECKING:
    from .base import RDD


def creation_site() -> str:
    """The public method the user called, and where they called it from: the first frame
    outside minispark, and the last minispark function on the way to it."""
    frame = sys._getframe(1)
    method = "?"
    while frame.f_globals.get("__name__", "").startswith("minispark."):
        method = frame.f_code.co_name
        if frame.f_back is None:
            return method
        frame = frame.f_back
    return f"{method} at {os.path.basename(frame.f_code.co_filename)}:{frame.f_lineno}"


def debug_string(rdd: RDD[Any]) -> str:
    """The lineage, one RDD per line, indented at each shuffle."""
    lines = [f"({rdd.getNumPartitions()}) {_describe(rdd)}"]
    _lineage(rdd, "", lines)
    return "\n".join(lines)


def _describe(rdd: RDD[Any]) -> str:
    storage = str(rdd.getStorageLevel()) if rdd.is_cached else ""
    return f"{rdd!r} [{storage}]"


def _lineage(rdd: RDD[Any], indent: str, lines: list[str]) -> None:
    for dep in rdd.dependencies():
        parent: RDD[Any] = dep.rdd
        if isinstance(dep, ShuffleDependency):
            lines.append(f"{indent} +-({parent.getNumPartitions()}) {_describe(parent)}")
            _lineage(parent, indent + "    ", lines)
        else:
            lines.append(f"{indent} |  {_describe(parent)}")
            _lineage(parent, indent, lines)

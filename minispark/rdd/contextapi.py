"""``ContextAPI``: the data-creating half of ``SparkContext``, with PySpark's names.

A mixin: it needs only ``runJob``, ``defaultParallelism`` and ``_conf`` from the class that
uses it, so the cluster's ``SparkContext`` and the unit tests' in-process context share it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from .derived import union_of
from .shared import Accumulator, AccumulatorParam, Broadcast, new_accumulator
from .sources import EmptyRDD, ParallelCollectionRDD, slice_collection
from .textfiles import TextFileRDD, WholeTextFilesRDD

if TYPE_CHECKING:
    from .base import RDD
    from .sparkconf import SparkConf
    from .taskcontext import TaskContext

T = TypeVar("T")
R = TypeVar("R")


class ContextAPI:
    _conf: SparkConf

    if TYPE_CHECKING:  # provided by the class that mixes this in

        @property
        def defaultParallelism(self) -> int: ...  # noqa: N802

        def runJob(  # noqa: N802
            self,
            rdd: RDD[Any],
            func: Callable[[TaskContext, Iterator[Any]], R],
            partitions: Sequence[int] | None = None,
        ) -> list[R]: ...

    def _new_rdd_id(self) -> int:
        counter: Iterator[int] | None = self.__dict__.get("_rdd_ids")
        if counter is None:
            counter = self.__dict__.setdefault("_rdd_ids", itertools.count())
        return next(counter)

    def _unpersist_rdd(self, rdd_id: int, blocking: bool) -> None:
        """Forget the cached partitions of RDD ``rdd_id``; engines with a cache override this."""

    @property
    def defaultMinPartitions(self) -> int:  # noqa: N802
        """The default partition count for files: at most two, as in Spark."""
        return min(self.defaultParallelism, 2)

    def parallelize(self, c: Iterable[T], numSlices: int | None = None) -> RDD[T]:  # noqa: N803
        count = numSlices if numSlices is not None else self.defaultParallelism
        return ParallelCollectionRDD(self, slice_collection(c, int(count)))

    def range(
        self,
        start: int,
        end: int | None = None,
        step: int = 1,
        numSlices: int | None = None,  # noqa: N803
    ) -> RDD[int]:
        if end is None:  # range(n) counts from 0, like the built-in
            start, end = 0, start
        return self.parallelize(range(start, end, step), numSlices)

    def emptyRDD(self) -> RDD[Any]:  # noqa: N802
        return EmptyRDD(self)

    def textFile(  # noqa: N802
        self,
        name: str,
        minPartitions: int | None = None,  # noqa: N803
        use_unicode: bool = True,
    ) -> RDD[Any]:
        count = minPartitions if minPartitions is not None else self.defaultMinPartitions
        return TextFileRDD(self, name, count, use_unicode)

    def wholeTextFiles(  # noqa: N802
        self,
        path: str,
        minPartitions: int | None = None,  # noqa: N803
        use_unicode: bool = True,
    ) -> RDD[tuple[str, Any]]:
        count = minPartitions if minPartitions is not None else self.defaultMinPartitions
        return WholeTextFilesRDD(self, path, count, use_unicode)

    def union(self, rdds: Sequence[RDD[T]]) -> RDD[T]:
        return union_of(self, list(rdds))

    def broadcast(self, value: T) -> Broadcast[T]:
        return Broadcast(value)

    def accumulator(
        self,
        value: T,
        accum_param: AccumulatorParam[T] | None = None,
    ) -> Accumulator[T]:
        return new_accumulator(value, accum_param)

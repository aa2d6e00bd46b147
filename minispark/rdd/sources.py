"""RDDs made from driver-side data: ``parallelize``, ``range`` and ``emptyRDD``.

Slicing follows PySpark exactly, because programs (and doctests) print ``glom()``: a list is
cut into batches of ``max(1, min(len // slices, 1024))`` elements and the batches are spread
over the slices by Spark's position rule (slice ``i`` gets batches ``i*n//s`` to
``(i+1)*n//s``). A ``range`` is cut into sub-ranges instead, so it is never materialised:
every slice is a small ``range`` object until a task iterates it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, cast

from .base import RDD
from .taskcontext import TaskContext

if TYPE_CHECKING:
    from .contextapi import ContextAPI

T = TypeVar("T")

MAX_BATCH = 1024  # PySpark's automatic batch size limit for parallelize


class ParallelCollectionRDD(RDD[T]):
    """The driver keeps the slices; each task receives only its own (``dag.task_inputs``)."""

    def __init__(self, ctx: ContextAPI, slices: list[Sequence[T]]) -> None:
        super().__init__(ctx)
        self.slices: list[Sequence[T]] | None = slices
        self.partitions = len(slices)

    def getNumPartitions(self) -> int:  # noqa: N802
        return self.partitions

    def task_input(self, split: int) -> Sequence[T]:
        assert self.slices is not None, "only the driver holds the slices"
        return self.slices[split]

    def compute(self, split: int, context: TaskContext) -> Iterator[T]:
        data = self.slices[split] if self.slices is not None else context.task_input(self.id, split)
        return _counted(data, context)

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state["slices"] = None  # travels with each task instead
        return state


COUNT_BLOCK = 1024  # records counted at once as a slice is read


def _counted(data: Sequence[T], context: TaskContext) -> Iterator[T]:
    """The slice's records, counted as input a block at a time as they are read (so that a
    ``take`` that stops early counts about what it read, at no cost per record). Its bytes
    are the pickled task inputs, which the task process counts when it unpickles them."""
    for start in range(0, len(data), COUNT_BLOCK):
        block = data[start : start + COUNT_BLOCK]
        context.add_input(0, len(block))
        yield from block


class EmptyRDD(ParallelCollectionRDD[Any]):
    """No partitions at all (``sc.emptyRDD()``), unlike ``parallelize([])``."""

    def __init__(self, ctx: ContextAPI) -> None:
        super().__init__(ctx, [])


def _positions(length: int, count: int) -> list[tuple[int, int]]:
    """Spark's split of ``length`` items over ``count`` slices: the later ones get the extra."""
    return [(i * length // count, (i + 1) * length // count) for i in range(count)]


def slice_collection(data: Iterable[T], count: int) -> list[Sequence[T]]:
    if count < 1:
        raise ValueError(f"Positive number of partitions required, got {count}")
    if isinstance(data, range):
        return cast(list[Sequence[T]], _slice_range(data, count))
    items = list(data)
    batch = max(1, min(len(items) // count, MAX_BATCH))
    batches = -(-len(items) // batch)  # ceiling division
    return [items[start * batch : end * batch] for start, end in _positions(batches, count)]


def _slice_range(data: range, count: int) -> list[Sequence[int]]:
    if not data:
        return [[] for _ in range(count)]
    first, step = data[0], data.step
    return [
        range(first + start * step, first + end * step, step)
        for start, end in _positions(len(data), count)
    ]

"""Cutting a job into stages at shuffle boundaries (pure: no I/O, no scheduling).

A stage is a chain of RDDs connected by narrow dependencies, ending either in the job's
result (the result stage) or in a ``ShuffleDependency`` whose map side it computes (a map
stage). Map stages are kept per shuffle id for the life of the context, so a later job that
reads the same shuffle finds its stage, and its outputs, already there.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ..rdd.dependency import NarrowDependency, ShuffleDependency


@dataclass(eq=False)
class Stage:
    id: int
    rdd: Any  # the last RDD of the chain (an RDD; typed loosely to keep this module pure)
    num_partitions: int
    shuffle_dep: ShuffleDependency | None  # what a map stage produces; None for a result stage
    parents: list[Stage] = field(default_factory=list)
    attempts: int = 0  # how many times it has been submitted

    @property
    def is_map(self) -> bool:
        return self.shuffle_dep is not None

    @property
    def reads(self) -> list[int]:
        """Shuffle ids this stage's tasks read."""
        return [p.shuffle_dep.shuffle_id for p in self.parents if p.shuffle_dep is not None]

    def __repr__(self) -> str:
        kind = f"map for shuffle {self.shuffle_dep.shuffle_id}" if self.shuffle_dep else "result"
        return f"<Stage {self.id} ({kind}), {self.num_partitions} tasks>"


class StageGraph:
    def __init__(self) -> None:
        self._ids = itertools.count()
        self.map_stages: dict[int, Stage] = {}

    def result_stage(self, rdd: Any) -> Stage:
        parents = self._parents(rdd)  # first: parents get the lower ids, as in Spark
        return Stage(next(self._ids), rdd, rdd.getNumPartitions(), None, parents)

    def map_stage(self, dep: ShuffleDependency) -> Stage:
        stage = self.map_stages.get(dep.shuffle_id)
        if stage is None:
            parent = dep.rdd
            parents = self._parents(parent)
            stage = Stage(next(self._ids), parent, parent.getNumPartitions(), dep, parents)
            self.map_stages[dep.shuffle_id] = stage
        return stage

    def _parents(self, rdd: Any) -> list[Stage]:
        """Map stages for every shuffle reachable through narrow dependencies only."""
        parents: dict[int, Stage] = {}
        for dep in shuffle_boundaries(rdd):
            stage = self.map_stage(dep)
            parents[stage.id] = stage
        return list(parents.values())


def shuffle_boundaries(rdd: Any) -> Iterator[ShuffleDependency]:
    """Every shuffle ``rdd`` reads through narrow dependencies only (its stage's inputs)."""
    seen: set[int] = set()
    todo = [rdd]
    while todo:  # iterative: long lineages (iterative algorithms) would overflow recursion
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        for dep in current.dependencies():
            if isinstance(dep, ShuffleDependency):
                yield dep
            elif isinstance(dep, NarrowDependency):
                todo.append(dep.rdd)


def task_inputs(rdd: Any, partition: int) -> dict[tuple[int, int], Any]:
    """The driver-held data a task of ``rdd``'s partition reads (``parallelize`` slices),
    keyed by (rdd id, partition): shipped with that task alone, never with the stage's code,
    so a large collection travels once, in pieces, instead of to every task process."""
    found: dict[tuple[int, int], Any] = {}
    todo = [(rdd, partition)]
    seen: set[tuple[int, int]] = set()
    while todo:
        current, split = todo.pop()
        if (id(current), split) in seen:
            continue
        seen.add((id(current), split))
        provide = getattr(current, "task_input", None)
        if provide is not None:
            found[(int(current.id), split)] = provide(split)
        for dep in current.dependencies():
            if isinstance(dep, NarrowDependency):
                todo.extend((dep.rdd, parent) for parent in dep.get_parents(split))
    return found


def ancestors_first(stage: Stage) -> list[Stage]:
    """The stage and every stage it needs, parents before children."""
    ordered: list[Stage] = []
    seen: set[int] = set()

    def visit(s: Stage) -> None:
        if s.id in seen:
            return
        seen.add(s.id)
        for parent in s.parents:
            visit(parent)
        ordered.append(s)

    visit(stage)
    return ordered

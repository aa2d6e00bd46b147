"""Shuffle files: map tasks write them, reducers read them, with bounded memory.

A map task's output is one data file and one index file. The data file holds one segment
per reduce partition, each a run of pickled batches of ``(key, value)`` pairs (or
``(key, combiner)`` after map-side combining). The index holds the segments' byte offsets,
so any segment can be served by its byte range: the worker daemon does exactly that, and
the files outlive the executor that wrote them.

Memory is bounded by watching the task process's resident size: when it passes the budget,
what is held in memory is spilled to disk and merged back as a stream.
"""

from __future__ import annotations

import functools
import itertools
import os
import pickle
import re
import struct
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import psutil

from ..rdd.dependency import Aggregator, portable_hash

BATCH = 1024  # records per pickled batch: large enough to amortise pickling, small to stream
CHECK_EVERY = 4096  # records between memory checks (a psutil call costs ~10 µs)
SUB_BUCKETS = 16  # reduce-side spill fan-out: each sub-bucket is merged on its own
FILE_NAME = re.compile(r"shuffle_\d+_\d+_\d+")  # what a worker agrees to serve


class MemoryBudget:
    """Answers "should we spill?" from the process's real resident size, and keeps the
    task's spill figures (Spark's memory and disk bytes spilled)."""

    def __init__(self, limit_bytes: int | None) -> None:
        self.limit = limit_bytes
        self._process = psutil.Process()
        self.spills = 0
        self._baseline: int | None = None  # resident size at the first check
        self._last = 0  # resident size at the latest check
        self.memory_spilled_bytes = 0
        self.disk_spilled_bytes = 0

    def over(self) -> bool:
        """Whether the process is above its budget now (callers ask every CHECK_EVERY
        records: a call per record costs more than the work on a short record)."""
        if self.limit is None:
            return False
        self._last = int(self._process.memory_info().rss)
        if self._baseline is None:
            self._baseline = self._last
        over = self._last > self.limit
        self.spills += over
        return over

    def spilled(self, disk_bytes: int) -> None:
        """A spill wrote ``disk_bytes``. What it freed in memory is estimated as the growth
        of the resident size since the first check: Python gives no cheap exact figure."""
        self.disk_spilled_bytes += disk_bytes
        self.memory_spilled_bytes += max(0, self._last - (self._baseline or self._last))


def file_id(shuffle_id: int, map_id: int, attempt_id: int) -> str:
    return f"shuffle_{shuffle_id}_{map_id}_{attempt_id}"


def _write_batches(out: BinaryIO, records: Iterable[Any]) -> int:
    """Write ``records`` in pickled batches; returns how many there were."""
    batch: list[Any] = []
    count = 0
    for record in records:
        batch.append(record)
        if len(batch) >= BATCH:
            pickle.dump(batch, out, protocol=pickle.HIGHEST_PROTOCOL)
            count += len(batch)
            batch = []
    if batch:
        pickle.dump(batch, out, protocol=pickle.HIGHEST_PROTOCOL)
        count += len(batch)
    return count


def read_batches(data: BinaryIO) -> Iterator[Any]:
    """Every record of a run of pickled batches, until end of stream."""
    for batch in batch_lists(data):
        yield from batch


def batch_lists(data: BinaryIO) -> Iterator[list[Any]]:
    """The batches themselves, so that a reader can count records a batch at a time."""
    while True:
        try:
            batch = pickle.load(data)
        except EOFError:
            return
        yield batch


class _Spills:
    """Per-partition spill files of one task; removed when the task is done."""

    def __init__(self, directory: Path, budget: MemoryBudget) -> None:
        self.directory = directory
        self.budget = budget
        self.files: list[Path] = []

    def spill(self, buckets: list[list[Any]]) -> None:
        fd, name = tempfile.mkstemp(prefix="spill-", dir=self.directory)
        offsets = []
        with os.fdopen(fd, "wb") as out:
            for bucket in buckets:
                offsets.append(out.tell())
                _write_batches(out, bucket)
            offsets.append(out.tell())
        self.files.append(Path(name))
        Path(name + ".index").write_bytes(struct.pack(f">{len(offsets)}Q", *offsets))
        self.budget.spilled(offsets[-1])

    def segments(self, partition: int) -> Iterator[Any]:
        for path in self.files:
            offsets = _offsets(Path(str(path) + ".index"))
            with path.open("rb") as f:
                yield from _segment_records(f, offsets[partition], offsets[partition + 1])

    def remove(self) -> None:
        for path in self.files:
            path.unlink(missing_ok=True)
            Path(str(path) + ".index").unlink(missing_ok=True)


def _offsets(index: Path) -> tuple[int, ...]:
    raw = index.read_bytes()
    return struct.unpack(f">{len(raw) // 8}Q", raw)


def _segment_records(f: BinaryIO, start: int, end: int) -> Iterator[Any]:
    f.seek(start)
    while f.tell() < end:
        yield from pickle.load(f)


@dataclass(frozen=True)
class MapOutput:
    """What a map task wrote: the figures of Spark's shuffle write metrics."""

    sizes: list[int]  # bytes of each reduce partition's segment
    records: int
    write_time_ns: int  # spent writing the final files (pickling included)

    @property
    def bytes(self) -> int:
        """The data file's size: every segment, which is what reducers will read."""
        return sum(self.sizes)


def write_map_output(
    records: Iterable[tuple[Any, Any]],
    *,
    directory: Path,
    name: str,
    partition: Callable[[Any], int],
    partitions: int,
    aggregator: Aggregator[Any, Any] | None,
    budget: MemoryBudget,
) -> MapOutput:
    """Partition (and pre-combine) ``records`` into ``<name>.data`` + ``<name>.index``."""
    spills = _Spills(directory, budget)
    try:
        if aggregator is None:
            buckets = _partition_all(records, partition, partitions, budget, spills)
        else:
            buckets = _combine_all(
                records,
                aggregator,
                partition=partition,
                partitions=partitions,
                budget=budget,
                spills=spills,
            )
        started = time.perf_counter_ns()
        sizes, count = _write_final(directory, name, buckets, spills)
        return MapOutput(sizes, count, time.perf_counter_ns() - started)
    finally:
        spills.remove()


def _partition_all(
    records: Iterable[tuple[Any, Any]],
    partition: Callable[[Any], int],
    partitions: int,
    budget: MemoryBudget,
    spills: _Spills,
) -> list[list[Any]]:
    buckets: list[list[Any]] = [[] for _ in range(partitions)]
    for chunk in _chunks(records):
        for record in chunk:
            buckets[partition(record[0])].append(record)
        if budget.over():
            spills.spill(buckets)
            buckets = [[] for _ in range(partitions)]
    return buckets


def _combine_all(
    records: Iterable[tuple[Any, Any]],
    aggregator: Aggregator[Any, Any],
    *,
    partition: Callable[[Any], int],
    partitions: int,
    budget: MemoryBudget,
    spills: _Spills,
) -> list[list[Any]]:
    """Combine into one table first and hash each distinct key once, when it is written
    out: hashing every record cost more than the rest of a word count's map side."""

    def spill(table: dict[Any, Any]) -> None:
        spills.spill(_split(table, partition, partitions))

    table = _combine(records, aggregator.create_combiner, aggregator.merge_value, budget, spill)
    return _split(table, partition, partitions)


def _combine(
    pairs: Iterable[tuple[Any, Any]],
    first: Callable[[Any], Any],
    merge: Callable[[Any, Any], Any],
    budget: MemoryBudget,
    spill: Callable[[dict[Any, Any]], None],
) -> dict[Any, Any]:
    """Merge ``pairs`` by key into a table, handing it to ``spill`` (and starting afresh)
    whenever the process is over its budget; returns what is left in memory. (Measured:
    try/except beats ``in`` plus a subscript by 9%, which beats ``dict.get`` with a default;
    keys repeat, so KeyError is rare; lazy chunks beat a per-record counter by 15%.)"""
    table: dict[Any, Any] = {}
    for chunk in _chunks(pairs):
        for key, value in chunk:
            try:
                table[key] = merge(table[key], value)
            except KeyError:
                table[key] = first(value)
        if budget.over():
            spill(table)
            table = {}
    return table


_END = object()


def _chunks(records: Iterable[Any]) -> Iterator[Iterator[Any]]:
    """Lazy runs of CHECK_EVERY records, so the memory check costs nothing per record."""
    iterator = iter(records)
    while (first := next(iterator, _END)) is not _END:
        yield itertools.chain((first,), itertools.islice(iterator, CHECK_EVERY - 1))


def _split(
    table: dict[Any, Any], partition: Callable[[Any], int], partitions: int
) -> list[list[Any]]:
    buckets: list[list[Any]] = [[] for _ in range(partitions)]
    for item in table.items():
        buckets[partition(item[0])].append(item)
    return buckets


def _write_final(
    directory: Path, name: str, buckets: list[list[Any]], spills: _Spills
) -> tuple[list[int], int]:
    """Segment sizes and the number of records written."""
    # Write under a temporary name and rename: a reader never sees a half-written file, and a
    # retried task's output replaces a failed attempt's atomically.
    data_tmp = directory / f".{name}.data.tmp"
    offsets = [0]
    count = 0
    with data_tmp.open("wb") as out:
        for index, bucket in enumerate(buckets):
            count += _write_batches(out, _chain(spills.segments(index), bucket))
            offsets.append(out.tell())
    index_tmp = directory / f".{name}.index.tmp"
    index_tmp.write_bytes(struct.pack(f">{len(offsets)}Q", *offsets))
    os.replace(data_tmp, directory / f"{name}.data")
    os.replace(index_tmp, directory / f"{name}.index")
    return [end - start for start, end in itertools.pairwise(offsets)], count


def _chain(*parts: Iterable[Any]) -> Iterator[Any]:
    for part in parts:
        yield from part


def read_segment(directory: Path, name: str, reduce_id: int) -> bytes:
    """The raw bytes of one reduce partition's segment (what a worker serves)."""
    if not FILE_NAME.fullmatch(name):
        raise ValueError(f"not a shuffle file name: {name!r}")
    offsets = _offsets(directory / f"{name}.index")
    start, end = offsets[reduce_id], offsets[reduce_id + 1]
    with (directory / f"{name}.data").open("rb") as f:
        f.seek(start)
        return f.read(end - start)


def combine_by_key(
    pairs: Iterable[tuple[Any, Any]],
    aggregator: Aggregator[Any, Any],
    *,
    combined: bool,
    budget: MemoryBudget,
    scratch: Path,
) -> Iterator[tuple[Any, Any]]:
    """Reduce-side merge with bounded memory.

    ``combined`` says whether the pairs carry combiners (map-side combine) or raw values.
    When memory runs short, the partial result is spilled into SUB_BUCKETS files by key
    hash; afterwards each sub-bucket is merged on its own, so at most about 1/SUB_BUCKETS of
    the keys are in memory at once.
    """
    merge: Callable[[Any, Any], Any]
    if combined:
        first: Callable[[Any], Any] = lambda c: c  # noqa: E731
        merge = aggregator.merge_combiners
    else:
        first, merge = aggregator.create_combiner, aggregator.merge_value
    spills = _Spills(scratch, budget)
    try:
        table = _combine(pairs, first, merge, budget, functools.partial(_spill_table, spills))
        if not spills.files:
            yield from table.items()
            return
        _spill_table(spills, table)
        for sub in range(SUB_BUCKETS):
            merged: dict[Any, Any] = {}
            for key, comb in spills.segments(sub):
                merged[key] = (
                    aggregator.merge_combiners(merged[key], comb) if key in merged else comb
                )
            yield from merged.items()
    finally:
        spills.remove()


def _spill_table(spills: _Spills, table: dict[Any, Any]) -> None:
    spills.spill(_split(table, _sub_bucket, SUB_BUCKETS))


def _sub_bucket(key: Any) -> int:
    return portable_hash(key) % SUB_BUCKETS

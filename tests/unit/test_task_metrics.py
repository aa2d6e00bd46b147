"""The executor's measurements on their own: shuffle files, spills, input and peak RSS."""

from __future__ import annotations

from pathlib import Path

from minispark.executor import shuffle
from minispark.executor.peakrss import PeakRss
from minispark.executor.shuffle import MemoryBudget
from minispark.rdd.dependency import Aggregator
from minispark.rdd.taskcontext import TaskContext
from minispark.rdd.textfiles import list_input_files, read_split_lines, text_splits


def test_map_output_reports_the_data_file_size_and_records(tmp_path: Path) -> None:
    records = [(i % 5, i) for i in range(1000)]
    output = shuffle.write_map_output(
        records, directory=tmp_path, name="shuffle_0_0_0", partition=lambda k: k % 3,
        partitions=3, aggregator=None, budget=MemoryBudget(None),
    )  # fmt: skip
    assert output.records == 1000
    assert output.bytes == (tmp_path / "shuffle_0_0_0.data").stat().st_size
    read = sum(len(shuffle.read_segment(tmp_path, "shuffle_0_0_0", r)) for r in range(3))
    assert read == output.bytes and output.write_time_ns > 0


def test_combined_output_counts_combined_records_and_spills(tmp_path: Path) -> None:
    budget = MemoryBudget(1)  # always over: every check spills
    aggregator = Aggregator(lambda v: v, lambda c, v: c + v, lambda a, b: a + b)
    records = ((i % 10, 1) for i in range(3 * shuffle.CHECK_EVERY))
    output = shuffle.write_map_output(
        records, directory=tmp_path, name="shuffle_1_0_0", partition=lambda k: k % 2,
        partitions=2, aggregator=aggregator, budget=budget,
    )  # fmt: skip
    assert budget.spills == 3 and budget.disk_spilled_bytes > 0
    assert output.records == 10 * 3  # each spilled table written out again, none in memory
    assert not list(tmp_path.glob("spill-*"))


def test_text_input_counts_every_line_and_byte_once(tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_bytes(b"".join(b"line %d\n" % i for i in range(5000)))
    splits = text_splits(list_input_files(str(source)), 4)
    assert len(splits) >= 4
    contexts = [TaskContext() for _ in splits]
    lines = sum(len(list(read_split_lines(s, c))) for s, c in zip(splits, contexts, strict=True))
    assert lines == 5000 == sum(c.input_records for c in contexts)
    assert sum(c.input_bytes for c in contexts) == source.stat().st_size


def test_peak_rss_is_per_measurement() -> None:
    peak = PeakRss()
    peak.reset()
    before = peak.peak_bytes()
    block = bytearray(64 * 2**20)
    block[::4096] = b"x" * len(block[::4096])  # touch every page
    grown = peak.peak_bytes()
    del block
    peak.reset()
    assert grown >= before + 60 * 2**20
    assert peak.peak_bytes() < grown

"""A task's metrics as the store keeps them: Spark's ``Task Metrics`` read into plain ints."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import fields as f

# (attribute, the nested object in the event or "", the event's field name)
LAYOUT = (
    ("run_time", "", "Executor Run Time"),
    ("cpu_time", "", "Executor CPU Time"),
    ("result_size", "", "Result Size"),
    ("peak_memory", "", "Peak Execution Memory"),
    ("memory_spilled", "", "Memory Bytes Spilled"),
    ("disk_spilled", "", "Disk Bytes Spilled"),
    ("input_bytes", "Input Metrics", "Bytes Read"),
    ("input_records", "Input Metrics", "Records Read"),
    ("output_bytes", "Output Metrics", "Bytes Written"),
    ("output_records", "Output Metrics", "Records Written"),
    ("remote_blocks", "Shuffle Read Metrics", "Remote Blocks Fetched"),
    ("local_blocks", "Shuffle Read Metrics", "Local Blocks Fetched"),
    ("fetch_wait", "Shuffle Read Metrics", "Fetch Wait Time"),
    ("remote_bytes", "Shuffle Read Metrics", "Remote Bytes Read"),
    ("local_bytes", "Shuffle Read Metrics", "Local Bytes Read"),
    ("read_records", "Shuffle Read Metrics", "Total Records Read"),
    ("write_bytes", "Shuffle Write Metrics", "Shuffle Bytes Written"),
    ("write_time", "Shuffle Write Metrics", "Shuffle Write Time"),
    ("write_records", "Shuffle Write Metrics", "Shuffle Records Written"),
)


@dataclass(slots=True)
class Metrics:
    run_time: int = 0  # ms
    cpu_time: int = 0  # ns
    result_size: int = 0
    peak_memory: int = 0  # the task process's peak RSS
    memory_spilled: int = 0
    disk_spilled: int = 0
    input_bytes: int = 0
    input_records: int = 0
    output_bytes: int = 0
    output_records: int = 0
    remote_blocks: int = 0
    local_blocks: int = 0
    fetch_wait: int = 0  # ms
    remote_bytes: int = 0
    local_bytes: int = 0
    read_records: int = 0
    write_bytes: int = 0
    write_time: int = 0  # ns
    write_records: int = 0

    @property
    def shuffle_read_bytes(self) -> int:
        return self.remote_bytes + self.local_bytes

    def add(self, other: Metrics) -> None:
        """Sum ``other`` into this one (a stage's totals; peak memory is the larger).
        Spelt out rather than looped over the fields: it runs once per finished task."""
        self.run_time += other.run_time
        self.cpu_time += other.cpu_time
        self.result_size += other.result_size
        self.peak_memory = max(self.peak_memory, other.peak_memory)
        self.memory_spilled += other.memory_spilled
        self.disk_spilled += other.disk_spilled
        self.input_bytes += other.input_bytes
        self.input_records += other.input_records
        self.output_bytes += other.output_bytes
        self.output_records += other.output_records
        self.remote_blocks += other.remote_blocks
        self.local_blocks += other.local_blocks
        self.fetch_wait += other.fetch_wait
        self.remote_bytes += other.remote_bytes
        self.local_bytes += other.local_bytes
        self.read_records += other.read_records
        self.write_bytes += other.write_bytes
        self.write_time += other.write_time
        self.write_records += other.write_records


def _groups() -> list[tuple[str, list[str]]]:
    found: dict[str, list[str]] = {}
    for _, group, key in LAYOUT:
        found.setdefault(group, []).append(key)
    return list(found.items())


GROUPS = _groups()  # the nested objects in LAYOUT's order, each with its fields


_NONE: dict[str, Any] = {}


def parse(raw: dict[str, Any], where: str) -> Metrics:
    """A ``Task Metrics`` object; absent figures are 0, a non-integer one an EventError.

    Runs once per finished task (a 100,000-task log replays it 100,000 times), so the
    figures are read with one ``get`` each, spelt out, and checked in one pass; only a bad
    figure takes the slow path that names it. A loop over LAYOUT cost twice as much.
    """
    inp = raw.get("Input Metrics", _NONE)
    out = raw.get("Output Metrics", _NONE)
    read = raw.get("Shuffle Read Metrics", _NONE)
    write = raw.get("Shuffle Write Metrics", _NONE)
    if not (type(inp) is type(out) is type(read) is type(write) is dict):
        return _checked(raw, where)
    values = (
        raw.get("Executor Run Time", 0),
        raw.get("Executor CPU Time", 0),
        raw.get("Result Size", 0),
        raw.get("Peak Execution Memory", 0),
        raw.get("Memory Bytes Spilled", 0),
        raw.get("Disk Bytes Spilled", 0),
        inp.get("Bytes Read", 0),
        inp.get("Records Read", 0),
        out.get("Bytes Written", 0),
        out.get("Records Written", 0),
        read.get("Remote Blocks Fetched", 0),
        read.get("Local Blocks Fetched", 0),
        read.get("Fetch Wait Time", 0),
        read.get("Remote Bytes Read", 0),
        read.get("Local Bytes Read", 0),
        read.get("Total Records Read", 0),
        write.get("Shuffle Bytes Written", 0),
        write.get("Shuffle Write Time", 0),
        write.get("Shuffle Records Written", 0),
    )
    for value in values:
        if type(value) is not int:  # bool is no figure either
            return _checked(raw, where)
    return Metrics(*values)


def _checked(raw: dict[str, Any], where: str) -> Metrics:
    """The slow path: every figure read through ``fields``, so a bad one is named (an
    absent group, or null, reads as zeros)."""
    values: list[int] = []
    for group, keys in GROUPS:
        holder = raw.get(group) if group else raw
        if holder is None:
            values.extend([0] * len(keys))
            continue
        if type(holder) is not dict:
            f.mapping(raw, group, where)  # raises, naming the group
        for key in keys:
            values.append(f.integer(holder, key, f"{where} {group or 'Task Metrics'}", default=0))
    return Metrics(*values)


def to_json(m: Metrics) -> dict[str, Any]:
    """Spark's REST ``taskMetrics`` object."""
    return {
        "executorRunTime": m.run_time,
        "executorCpuTime": m.cpu_time,
        "resultSize": m.result_size,
        "peakExecutionMemory": m.peak_memory,
        "memoryBytesSpilled": m.memory_spilled,
        "diskBytesSpilled": m.disk_spilled,
        "inputMetrics": {"bytesRead": m.input_bytes, "recordsRead": m.input_records},
        "outputMetrics": {"bytesWritten": m.output_bytes, "recordsWritten": m.output_records},
        "shuffleReadMetrics": {
            "remoteBlocksFetched": m.remote_blocks,
            "localBlocksFetched": m.local_blocks,
            "fetchWaitTime": m.fetch_wait,
            "remoteBytesRead": m.remote_bytes,
            "localBytesRead": m.local_bytes,
            "recordsRead": m.read_records,
        },
        "shuffleWriteMetrics": {
            "bytesWritten": m.write_bytes,
            "writeTime": m.write_time,
            "recordsWritten": m.write_records,
        },
    }

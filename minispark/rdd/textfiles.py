"""Text files in and out, through fsspec: ``textFile``, ``wholeTextFiles``, ``saveAsTextFile``.

Inputs are a comma-separated list of files, directories and globs on any filesystem whose
fsspec implementation is installed (local paths, ``file://``, ``memory://``, ``s3://``...).
Directories contribute their files except hidden ones (``_SUCCESS``, ``.crc``), as Hadoop's
input formats do.

``textFile`` splits like Hadoop's FileInputFormat: split size ``min(total // minPartitions,
block size)``, and a file's last split may run 10% over rather than leave a sliver. A task
reads its split's byte range with the LineRecordReader rule, so that every line is read by
exactly one split: a split not at offset 0 skips through its first newline (that line belongs
to the split before), and every split reads on past its end to finish the line in progress
there. Compressed files (by extension) cannot be split and are read whole.

``saveAsTextFile`` commits like Hadoop's FileOutputCommitter: each task attempt writes its
part file under ``_temporary``; the driver moves the successful attempts' files into place,
removes ``_temporary`` and writes ``_SUCCESS``.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, AnyStr, BinaryIO

import fsspec.core  # type: ignore[import-untyped]
import fsspec.utils  # type: ignore[import-untyped]
from fsspec import AbstractFileSystem
from fsspec.implementations.local import LocalFileSystem  # type: ignore[import-untyped]

from .base import RDD
from .taskcontext import TaskContext

if TYPE_CHECKING:
    from .contextapi import ContextAPI

BLOCK_SIZE = 32 * 1024 * 1024  # Hadoop's fs.local.block.size: the largest split
SPLIT_SLOP = 1.1  # how far past the split size a file's last split may run
WRITE_BATCH = 1024  # lines per write call when saving

# Hadoop codec class -> (fsspec compression, file suffix)
CODECS = {
    "org.apache.hadoop.io.compress.GzipCodec": ("gzip", ".gz"),
    "org.apache.hadoop.io.compress.BZip2Codec": ("bz2", ".bz2"),
}


@dataclass(frozen=True)
class InputFile:
    fs: AbstractFileSystem
    path: str
    size: int

    @property
    def compression(self) -> str | None:
        codec: str | None = fsspec.utils.infer_compression(self.path)
        return codec


@dataclass(frozen=True)
class FileSplit:
    file: InputFile
    start: int
    length: int


def qualified(fs: AbstractFileSystem, path: str) -> str:
    """The path as Hadoop prints it: ``file:/abs/path`` locally, else with its protocol."""
    if isinstance(fs, LocalFileSystem):
        return "file:" + path
    return str(fs.unstrip_protocol(path))


# ---------------------------------------------------------------- finding input files


def list_input_files(paths: str) -> list[InputFile]:
    files: list[InputFile] = []
    for spec in paths.split(","):
        if spec.strip():
            fs, path = fsspec.core.url_to_fs(spec.strip())
            files.extend(_expand(fs, path))
    return files


def _expand(fs: AbstractFileSystem, path: str) -> list[InputFile]:
    if fsspec.core.has_magic(path):
        matches = [m for m in sorted(fs.glob(path)) if not _hidden(m)]
        if not matches:
            raise FileNotFoundError(f"Input Pattern {qualified(fs, path)} matches 0 files")
    elif fs.exists(path):
        matches = [path]
    else:
        raise FileNotFoundError(f"Input path does not exist: {qualified(fs, path)}")
    found: list[InputFile] = []
    for match in matches:
        info = fs.info(match)
        if info["type"] != "directory":
            found.append(InputFile(fs, match, int(info.get("size") or 0)))
            continue
        for child in sorted(fs.ls(match, detail=True), key=lambda i: str(i["name"])):
            if _hidden(child["name"]):
                continue
            if child["type"] == "directory":
                raise IsADirectoryError(f"Not a file: {qualified(fs, child['name'])}")
            found.append(InputFile(fs, child["name"], int(child.get("size") or 0)))
    return found


def _hidden(path: str) -> bool:
    return path.rstrip("/").rsplit("/", 1)[-1].startswith(("_", "."))


# ---------------------------------------------------------------- textFile


def text_splits(files: list[InputFile], min_partitions: int) -> list[FileSplit]:
    goal = sum(f.size for f in files) // max(min_partitions, 1)
    size = max(1, min(goal, BLOCK_SIZE))
    splits: list[FileSplit] = []
    for file in files:
        if file.size == 0 or file.compression:
            splits.append(FileSplit(file, 0, file.size))
            continue
        offset = 0
        while (file.size - offset) / size > SPLIT_SLOP:
            splits.append(FileSplit(file, offset, size))
            offset += size
        splits.append(FileSplit(file, offset, file.size - offset))
    return splits


def read_split_lines(split: FileSplit, context: TaskContext | None = None) -> Iterator[bytes]:
    """The lines (without terminators) that belong to ``split``; with a ``context``, its
    input metrics count them (and their bytes) a block at a time."""
    counts = context or TaskContext()
    file = split.file
    with file.fs.open(file.path, "rb", compression=file.compression) as stream:
        if file.compression:  # read whole: the bytes read are the compressed file's
            counts.add_input(file.size, 0)
            for line in stream:
                counts.input_records += 1
                yield _chomp(line)
            return
        for block in _line_blocks(stream, split.start, split.start + split.length):
            lines = _split_block(block, b"\n", b"\r")
            counts.add_input(len(block), len(lines))
            yield from lines


def read_split_text(split: FileSplit, context: TaskContext | None = None) -> Iterator[str]:
    """The same lines decoded, a block at a time (a newline never falls inside a UTF-8
    character, so blocks of whole lines decode on their own)."""
    file = split.file
    if file.compression:
        raw = read_split_lines(split, context)
        yield from (line.decode("utf-8", "replace") for line in raw)
        return
    counts = context or TaskContext()
    with file.fs.open(file.path, "rb") as stream:
        for block in _line_blocks(stream, split.start, split.start + split.length):
            lines = _split_block(block.decode("utf-8", "replace"), "\n", "\r")
            counts.add_input(len(block), len(lines))
            yield from lines


READ_BLOCK = 4 * 1024 * 1024  # bytes read at once: large enough that C does the per-line work


def _line_blocks(stream: BinaryIO, start: int, end: int) -> Iterator[bytes]:
    """Runs of whole lines that belong to the split ``[start, end]``, Hadoop's rule: a split
    skips its first line unless it starts at 0 (the split before finishes it), and every line
    that starts at or before ``end`` is its own, read to its end even past ``end``."""
    position = start
    if start:
        stream.seek(start)
        position += len(stream.readline())
    tail = b""
    while position <= end:
        block = stream.read(min(READ_BLOCK, end + 1 - position))
        if not block:
            break
        position += len(block)
        data = tail + block
        cut = data.rfind(b"\n") + 1
        tail = data[cut:]
        if cut:
            yield data[:cut]
    if position > end and tail:
        tail += stream.readline()  # the last line started inside the split: finish it
    if tail:
        yield tail


def _split_block(block: AnyStr, newline: AnyStr, cr: AnyStr) -> list[AnyStr]:
    """Lines of a block of whole lines, without their terminators (``\\n`` or ``\\r\\n``)."""
    lines = block.replace(cr + newline, newline).split(newline)
    if lines and not lines[-1]:
        lines.pop()  # the block ended with a newline: no empty line after it
    elif lines and lines[-1].endswith(cr):
        lines[-1] = lines[-1][:-1]  # a last line ending in \r at the end of the file
    return lines


def _chomp(line: bytes) -> bytes:
    if line.endswith(b"\n"):
        line = line[:-1]
    if line.endswith(b"\r"):
        line = line[:-1]
    return line


class TextFileRDD(RDD[Any]):
    """Lines of text files. Splits are listed on first use, on the driver: as in Spark, a
    missing path is reported by the first action, not by ``textFile``."""

    def __init__(self, ctx: ContextAPI, paths: str, min_partitions: int, use_unicode: bool) -> None:
        super().__init__(ctx)
        self.paths = paths
        self.min_partitions = min_partitions
        self.use_unicode = use_unicode
        self._splits: list[FileSplit] | None = None

    @property
    def splits(self) -> list[FileSplit]:
        if self._splits is None:
            self._splits = text_splits(list_input_files(self.paths), self.min_partitions)
        return self._splits

    def getNumPartitions(self) -> int:  # noqa: N802
        return len(self.splits)

    def compute(self, split: int, context: TaskContext) -> Iterator[Any]:
        if self.use_unicode:
            return read_split_text(self.splits[split], context)
        return read_split_lines(self.splits[split], context)

    def __getstate__(self) -> dict[str, Any]:
        _ = self.splits  # tasks must get the driver's listing, never list files themselves
        return super().__getstate__()


# ---------------------------------------------------------------- wholeTextFiles


def whole_file_groups(files: list[InputFile], min_partitions: int) -> list[list[InputFile]]:
    """Files packed in order into groups of about ``total / minPartitions`` bytes."""
    limit = math.ceil(sum(f.size for f in files) / max(min_partitions, 1))
    groups: list[list[InputFile]] = []
    current: list[InputFile] = []
    size = 0
    for file in files:
        current.append(file)
        size += file.size
        if size >= limit:
            groups.append(current)
            current, size = [], 0
    if current:
        groups.append(current)
    return groups


class WholeTextFilesRDD(RDD[tuple[str, Any]]):
    """``(path, content)`` for every file."""

    def __init__(self, ctx: ContextAPI, paths: str, min_partitions: int, use_unicode: bool) -> None:
        super().__init__(ctx)
        self.paths = paths
        self.min_partitions = min_partitions
        self.use_unicode = use_unicode
        self._groups: list[list[InputFile]] | None = None

    @property
    def groups(self) -> list[list[InputFile]]:
        if self._groups is None:
            self._groups = whole_file_groups(list_input_files(self.paths), self.min_partitions)
        return self._groups

    def getNumPartitions(self) -> int:  # noqa: N802
        return len(self.groups)

    def compute(self, split: int, context: TaskContext) -> Iterator[tuple[str, Any]]:
        for file in self.groups[split]:
            with file.fs.open(file.path, "rb", compression=file.compression) as stream:
                content: bytes = stream.read()
            text = content.decode("utf-8", "replace") if self.use_unicode else content
            yield (qualified(file.fs, file.path), text)

    def __getstate__(self) -> dict[str, Any]:
        _ = self.groups
        return super().__getstate__()


# ---------------------------------------------------------------- saveAsTextFile


def save_as_text_file(rdd: RDD[Any], path: str, codec_class: str | None) -> None:
    compression, suffix = _codec(codec_class)
    fs, root = fsspec.core.url_to_fs(path)
    if fs.exists(root):
        raise FileExistsError(f"Output directory {qualified(fs, root)} already exists")
    fs.makedirs(root, exist_ok=True)
    temporary = f"{root}/_temporary"
    writer = PartWriter(fs, root, f"{temporary}/{uuid.uuid4().hex}", compression, suffix)
    try:
        for written, final in rdd.context.runJob(rdd, writer):
            fs.mv(written, final)
    finally:
        if fs.exists(temporary):
            fs.rm(temporary, recursive=True)
    with fs.open(f"{root}/_SUCCESS", "wb"):
        pass


def _codec(codec_class: str | None) -> tuple[str | None, str]:
    if codec_class is None:
        return None, ""
    if codec_class not in CODECS:
        known = ", ".join(sorted(CODECS))
        raise ValueError(f"Compression codec {codec_class} not found; known: {known}")
    return CODECS[codec_class]


@dataclass(frozen=True)
class PartWriter:
    """The save job's task: one attempt's part file, in a directory of its own under
    ``_temporary``; returns where it wrote and where the driver should move it."""

    fs: AbstractFileSystem
    root: str
    staging: str
    compression: str | None
    suffix: str

    def __call__(self, context: TaskContext, it: Iterator[Any]) -> tuple[str, str]:
        name = f"part-{context.partition_id:05d}{self.suffix}"
        attempt = f"{self.staging}/attempt-{context.partition_id}-{context.attempt}"
        self.fs.makedirs(attempt, exist_ok=True)
        with self.fs.open(f"{attempt}/{name}", "wb", compression=self.compression) as out:
            for batch in _batches((_as_line(x) for x in it), WRITE_BATCH):
                out.write(b"".join(batch))
        return f"{attempt}/{name}", f"{self.root}/{name}"


def _as_line(x: Any) -> bytes:
    """PySpark's rule: bytes as they are, anything else as ``str(x)`` in UTF-8."""
    data = x if isinstance(x, bytes) else str(x).encode("utf-8")
    return data + b"\n"


def _batches(items: Iterable[bytes], size: int) -> Iterator[list[bytes]]:
    batch: list[bytes] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch

"""One event log file: what its name says, and its lines, whatever the compression.

Logs are named as the driver's writer names them: ``<app id>[.gz][.inprogress]``. The bytes
are read in large chunks and split here rather than through ``readline`` because a
100,000-task log is hundreds of megabytes, and because a running application's gzip stream
has no end marker yet: ``zlib`` hands over everything flushed so far, where ``gzip.GzipFile``
raises and loses the last chunk.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, NamedTuple

INPROGRESS = ".inprogress"
GZIP = ".gz"
GZIP_MAGIC = b"\x1f\x8b"
# Spark's other codecs: a log written by Spark itself with one of them is listed, not read.
OTHER_CODECS = {".lz4": "lz4", ".lzf": "lzf", ".snappy": "snappy", ".zstd": "zstd", ".zst": "zstd"}
CHUNK_BYTES = 1 << 20


class LogError(Exception):
    """A log that cannot be shown; the message is the reason the listing gives."""


@dataclass(frozen=True)
class LogName:
    stem: str  # the app id the file is named after
    compressed: bool
    in_progress: bool
    codec_problem: str | None  # set for a codec we cannot read

    @classmethod
    def parse(cls, name: str) -> LogName:
        in_progress = name.endswith(INPROGRESS)
        stem = name.removesuffix(INPROGRESS)
        for suffix, codec in OTHER_CODECS.items():
            if stem.endswith(suffix):
                problem = f"compressed with {codec}, which minispark cannot read (only gzip)"
                return cls(stem.removesuffix(suffix), False, in_progress, problem)
        compressed = stem.endswith(GZIP)
        return cls(stem.removesuffix(GZIP), compressed, in_progress, None)


class Line(NamedTuple):  # a tuple: a big log has a million of them
    number: int  # 1-based
    data: bytes
    last: bool  # nothing follows it in the file
    terminated: bool  # it ended with a newline (a torn last line does not)


def _gunzip(raw: Iterator[bytes]) -> Iterator[bytes]:
    """Decompressed chunks; a stream cut short (a running app's log) ends where its data
    does. Concatenated gzip members are read one after the other, as gzip(1) does."""
    inflate = zlib.decompressobj(wbits=31)
    first = True
    for chunk in raw:
        if first and not chunk.startswith(GZIP_MAGIC[: len(chunk)]):
            raise LogError("named .gz but is not gzip data")
        first = False
        data = chunk
        while data:
            try:
                yield inflate.decompress(data)
            except zlib.error as exc:
                raise LogError(f"gzip data is damaged ({exc})") from exc
            if not inflate.eof:
                break
            data = inflate.unused_data  # the next member starts here
            inflate = zlib.decompressobj(wbits=31)
    yield inflate.flush()


def _chunks(stream: IO[bytes]) -> Iterator[bytes]:
    while chunk := stream.read(CHUNK_BYTES):
        yield chunk


def lines(stream: IO[bytes], compressed: bool) -> Iterator[Line]:
    """The file's lines without their newlines, each knowing whether it is the last one."""
    chunks = _gunzip(_chunks(stream)) if compressed else _chunks(stream)
    number = 0
    pending: bytes | None = None  # the previous complete line, held until we know more follows
    rest = b""
    for chunk in chunks:
        if not chunk:
            continue
        parts = (rest + chunk).split(b"\n")
        rest = parts.pop()
        for part in parts:
            if pending is not None:
                number += 1
                yield Line(number, pending, last=False, terminated=True)
            pending = part
    if pending is not None:
        number += 1
        yield Line(number, pending, last=not rest, terminated=True)
    if rest:
        yield Line(number + 1, rest, last=True, terminated=False)

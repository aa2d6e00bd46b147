"""textFile, wholeTextFiles and saveAsTextFile: Hadoop's splits and line rule, over fsspec."""

from __future__ import annotations

import gzip
import uuid
from pathlib import Path

import fsspec  # type: ignore[import-untyped]
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minispark.rdd.textfiles import (
    BLOCK_SIZE,
    FileSplit,
    InputFile,
    read_split_lines,
    text_splits,
)

from .localrunner import LocalContext


@pytest.fixture
def sc() -> LocalContext:
    return LocalContext(parallelism=2)


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_text_file(sc: LocalContext, tmp_path: Path) -> None:
    path = _write(tmp_path / "sample-text.txt", "Hello world!")
    assert sc.textFile(str(path)).collect() == ["Hello world!"]
    assert sc.textFile(str(path)).getNumPartitions() == 2  # min(defaultParallelism, 2)


def test_text_file_line_endings(sc: LocalContext, tmp_path: Path) -> None:
    path = tmp_path / "crlf.txt"
    path.write_bytes(b"a\r\nb\n\nc")
    assert sc.textFile(str(path), 3).collect() == ["a", "b", "", "c"]
    assert sc.textFile(str(path), use_unicode=False).collect() == [b"a", b"b", b"", b"c"]


def test_text_file_bad_utf8_is_replaced(sc: LocalContext, tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes("café\n".encode("latin-1"))
    assert sc.textFile(str(path)).collect() == ["caf\ufffd"]


def test_text_file_splits_are_hadoops(tmp_path: Path) -> None:
    fs = fsspec.filesystem("file")
    file = InputFile(fs, str(tmp_path / "x"), 100)
    assert [(s.start, s.length) for s in text_splits([file], 2)] == [(0, 50), (50, 50)]
    # the last split may run 10% over rather than leave a sliver
    assert [(s.start, s.length) for s in text_splits([file], 3)] == [(0, 33), (33, 33), (66, 34)]
    empty = InputFile(fs, str(tmp_path / "e"), 0)
    assert [(s.start, s.length) for s in text_splits([empty], 4)] == [(0, 0)]
    big = InputFile(fs, str(tmp_path / "big"), 3 * BLOCK_SIZE)
    assert len(text_splits([big], 1)) == 3  # never more than a block per split
    packed = InputFile(fs, str(tmp_path / "p.gz"), 1000)
    assert len(text_splits([packed], 10)) == 1  # compressed files cannot be split


def test_directories_globs_and_lists(sc: LocalContext, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    _write(data / "a.txt", "a1\na2\n")
    _write(data / "b.txt", "b1\n")
    _write(data / "_SUCCESS", "")
    _write(data / ".a.txt.crc", "junk")
    _write(tmp_path / "c.log", "c1\n")
    assert sorted(sc.textFile(str(data)).collect()) == ["a1", "a2", "b1"]
    assert sorted(sc.textFile(str(data / "*.txt")).collect()) == ["a1", "a2", "b1"]
    listed = f"{data / 'b.txt'},{tmp_path / 'c.log'}"
    assert sc.textFile(listed).collect() == ["b1", "c1"]
    assert sc.textFile(f"file://{data}").count() == 3
    union = sc.union([sc.textFile(str(data / "b.txt")), sc.parallelize(["World!"])])
    assert sorted(union.collect()) == ["World!", "b1"]


def test_missing_inputs_fail_at_the_first_action(sc: LocalContext, tmp_path: Path) -> None:
    rdd = sc.textFile(str(tmp_path / "nope.txt"))  # lazy, as in Spark
    with pytest.raises(FileNotFoundError, match="Input path does not exist: file:/"):
        rdd.count()
    with pytest.raises(FileNotFoundError, match="matches 0 files"):
        sc.textFile(str(tmp_path / "*.csv")).collect()
    (tmp_path / "d" / "nested").mkdir(parents=True)
    with pytest.raises(IsADirectoryError, match="Not a file"):
        sc.textFile(str(tmp_path / "d")).collect()


def test_compressed_text(sc: LocalContext, tmp_path: Path) -> None:
    path = tmp_path / "log.gz"
    path.write_bytes(gzip.compress(b"x\ny\nz\n"))
    rdd = sc.textFile(str(path), 4)
    assert rdd.getNumPartitions() == 1
    assert rdd.collect() == ["x", "y", "z"]


def test_any_fsspec_filesystem(sc: LocalContext) -> None:
    root = f"memory://minispark-test-{uuid.uuid4().hex}"
    with fsspec.open(f"{root}/in/one.txt", "w") as out:
        out.write("first\nsecond\n")
    assert sc.textFile(f"{root}/in").collect() == ["first", "second"]
    sc.parallelize(range(3), 2).saveAsTextFile(f"{root}/out")
    assert sorted(sc.textFile(f"{root}/out").collect()) == ["0", "1", "2"]
    name = root.removeprefix("memory://")
    assert sc.wholeTextFiles(f"{root}/in").collect() == [
        (f"memory:///{name}/in/one.txt", "first\nsecond\n")
    ]


def test_whole_text_files(sc: LocalContext, tmp_path: Path) -> None:
    directory = tmp_path / "files"
    directory.mkdir()
    _write(directory / "1.txt", "1")
    _write(directory / "2.txt", "2")
    assert sorted(sc.wholeTextFiles(str(directory)).collect()) == [
        (f"file:{directory}/1.txt", "1"),
        (f"file:{directory}/2.txt", "2"),
    ]
    for i in range(3, 9):
        _write(directory / f"{i}.txt", "x" * 10)
    assert sc.wholeTextFiles(str(directory), 3).getNumPartitions() == 3
    assert sc.wholeTextFiles(str(directory), 3).count() == 8


def test_save_as_text_file(sc: LocalContext, tmp_path: Path) -> None:
    out = tmp_path / "numbers"
    sc.parallelize(range(10)).saveAsTextFile(str(out))
    assert sorted(p.name for p in out.iterdir()) == ["_SUCCESS", "part-00000", "part-00001"]
    lines = "".join(sorted((out / name).read_text() for name in ("part-00000", "part-00001")))
    assert lines == "0\n1\n2\n3\n4\n5\n6\n7\n8\n9\n"
    assert sc.textFile(str(out)).collect() == [str(i) for i in range(10)]


def test_save_as_text_file_rules(sc: LocalContext, tmp_path: Path) -> None:
    blanks = tmp_path / "blanks"
    sc.parallelize(["", "foo", "", "bar", ""]).saveAsTextFile(str(blanks))
    text = "".join(sorted(p.read_text() for p in blanks.glob("part-0000*")))
    assert sorted(text.splitlines(keepends=True)) == ["\n", "\n", "\n", "bar\n", "foo\n"]
    raw = tmp_path / "raw"
    sc.parallelize([b"\xff\xfe", ("t", 1)], 1).saveAsTextFile(str(raw))
    assert (raw / "part-00000").read_bytes() == b"\xff\xfe\n('t', 1)\n"
    with pytest.raises(FileExistsError, match=r"Output directory file:.* already exists"):
        sc.parallelize([1]).saveAsTextFile(str(raw))


def test_save_compressed(sc: LocalContext, tmp_path: Path) -> None:
    out = tmp_path / "packed"
    sc.parallelize(["foo", "bar"]).saveAsTextFile(
        str(out), "org.apache.hadoop.io.compress.GzipCodec"
    )
    parts = sorted(out.glob("part*.gz"))
    assert len(parts) == 2
    assert sorted(gzip.decompress(p.read_bytes()).decode() for p in parts) == ["bar\n", "foo\n"]
    assert sorted(sc.textFile(str(out)).collect()) == ["bar", "foo"]
    with pytest.raises(ValueError, match="Compression codec nope not found"):
        sc.parallelize([1]).saveAsTextFile(str(tmp_path / "x"), "nope")


def test_failed_save_leaves_no_temporary_files(sc: LocalContext, tmp_path: Path) -> None:
    def fail_on_three(x: int) -> int:
        if x == 3:
            raise RuntimeError("three")
        return x

    out = tmp_path / "broken"
    with pytest.raises(RuntimeError, match="three"):
        sc.parallelize(range(4), 2).map(fail_on_three).saveAsTextFile(str(out))
    assert list(out.iterdir()) == []


# ---------------------------------------------------------------- the line rule, as a property


@settings(max_examples=200, deadline=None)
@given(
    lines=st.lists(st.text(alphabet="ab\r é", max_size=12), max_size=12),
    newline=st.sampled_from(["\n", "\r\n"]),
    trailing=st.booleans(),
    pieces=st.integers(min_value=1, max_value=40),
)
def test_every_line_is_read_by_exactly_one_split(
    lines: list[str], newline: str, trailing: bool, pieces: int
) -> None:
    lines = [line.rstrip("\r") for line in lines]
    text = newline.join(lines) + (newline if trailing and lines else "")
    data = text.encode("utf-8")
    fs = fsspec.filesystem("memory")
    path = f"/split-test-{uuid.uuid4().hex}.txt"
    fs.pipe(path, data)
    try:
        splits = text_splits([InputFile(fs, path, len(data))], pieces)
        read = [line for split in splits for line in read_split_lines(split)]
    finally:
        fs.rm(path)
    expected = data.split(b"\n")
    if expected[-1] == b"":  # a final newline ends the last line; it does not start one
        expected.pop()
    assert read == [line.removesuffix(b"\r") for line in expected]


def test_split_boundary_exactly_at_a_line_start() -> None:
    fs = fsspec.filesystem("memory")
    path = f"/boundary-{uuid.uuid4().hex}.txt"
    fs.pipe(path, b"ab\ncd\nef\n")
    file = InputFile(fs, path, 9)
    try:
        first = list(read_split_lines(FileSplit(file, 0, 3)))
        second = list(read_split_lines(FileSplit(file, 3, 6)))
    finally:
        fs.rm(path)
    # "cd" starts exactly at the boundary: the first split reads on to finish it
    assert first == [b"ab", b"cd"]
    assert second == [b"ef"]

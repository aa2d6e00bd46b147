"""Reading event logs: names, lines (plain and gzip, torn and cut short), the listing's
summary of each log, and the full replay, over files written as the driver writes them."""

from __future__ import annotations

import gzip
import io
import zlib
from pathlib import Path
from typing import Any

import fsspec
import pytest

from minispark.history.logdir import LogDir
from minispark.history.logfile import LogError, LogName, lines
from minispark.history.replay import replay
from minispark.history.summary import LogSummary, summarize
from tests import appevents


class Recorder:
    """A store that keeps what it is given: replay's contract is only ``apply``."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def apply(self, event: dict[str, Any]) -> None:
        if event.get("Event") == "SparkListenerTaskEnd" and "Task Info" not in event:
            raise ValueError("SparkListenerTaskEnd: 'Task Info' is missing")
        self.events.append(event)


def summary_of(path: Path) -> LogSummary:
    logs = LogDir(str(path.parent))
    (file,) = [f for f in logs.files() if f.name == path.name]
    return summarize(logs.fs, file)


def test_names_say_compression_and_progress() -> None:
    assert LogName.parse("app-1") == LogName("app-1", False, False, None)
    assert LogName.parse("app-1.gz.inprogress") == LogName("app-1", True, True, None)
    lz4 = LogName.parse("app-2.lz4")
    assert lz4.stem == "app-2"
    assert lz4.codec_problem is not None
    assert "lz4" in lz4.codec_problem


def test_lines_know_the_last_and_a_torn_one() -> None:
    found = list(lines(io.BytesIO(b"a\nbb\nccc"), compressed=False))
    assert [(x.number, x.data, x.last, x.terminated) for x in found] == [
        (1, b"a", False, True),
        (2, b"bb", False, True),
        (3, b"ccc", True, False),
    ]
    whole = list(lines(io.BytesIO(b"a\nbb\n"), compressed=False))
    assert [(x.data, x.last, x.terminated) for x in whole] == [
        (b"a", False, True),
        (b"bb", True, True),
    ]


def test_lines_across_chunks_and_gzip_members(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("minispark.history.logfile.CHUNK_BYTES", 3)
    data = gzip.compress(b"first line\nsec") + gzip.compress(b"ond\nthird\n")
    found = [x.data for x in lines(io.BytesIO(data), compressed=True)]
    assert found == [b"first line", b"second", b"third"]


def test_a_gzip_stream_without_its_end_gives_what_was_flushed() -> None:
    # A running application's gzip log: flushed, but the stream is not closed yet.
    deflate = zlib.compressobj(wbits=31)
    data = deflate.compress(b"one\ntwo\nthr") + deflate.flush(zlib.Z_SYNC_FLUSH)
    found = list(lines(io.BytesIO(data), compressed=True))
    assert [(x.data, x.terminated) for x in found] == [
        (b"one", True),
        (b"two", True),
        (b"thr", False),
    ]


def test_not_gzip_and_damaged_gzip_are_said() -> None:
    with pytest.raises(LogError, match="not gzip data"):
        list(lines(io.BytesIO(b'{"Event": 1}\n'), compressed=True))
    damaged = bytearray(gzip.compress(b"x" * 1000))
    damaged[12:20] = b"\xff" * 8
    with pytest.raises(LogError, match="gzip data is damaged"):
        list(lines(io.BytesIO(bytes(damaged)), compressed=True))


def test_a_complete_log_is_listed_with_its_end(tmp_path: Path) -> None:
    path = appevents.write(tmp_path, "app-1", appevents.application("app-1", "wc <b>"))
    s = summary_of(path)
    assert s.reason is None
    assert s.head is not None
    assert (s.head.app_id, s.head.name, s.head.user) == ("app-1", "wc <b>", "tester")
    assert s.head.spark_version == "0.1.0"
    (attempt,) = s.application()["attempts"]
    assert attempt["completed"] is True
    assert attempt["startTimeEpoch"] == appevents.T0
    assert attempt["endTimeEpoch"] == s.end_ms
    assert s.end_ms is not None
    assert attempt["duration"] == s.end_ms - appevents.T0 > 0


def test_a_gzip_log_is_listed_like_a_plain_one(tmp_path: Path) -> None:
    events = list(appevents.application("app-2"))
    plain = summary_of(appevents.write(tmp_path, "app-2", events))
    packed = summary_of(appevents.write(tmp_path, "app-2", events, compress=True))
    assert packed.reason is None
    assert packed.log.compressed
    assert packed.application()["attempts"][0]["endTimeEpoch"] == plain.end_ms


def test_an_inprogress_log_with_a_torn_last_line_is_incomplete_not_broken(
    tmp_path: Path,
) -> None:
    events = appevents.application("app-3", finished=False)
    path = appevents.write(tmp_path, "app-3", events, in_progress=True, tail=b'{"Event": "Spa')
    s = summary_of(path)
    assert s.reason is None
    (attempt,) = s.application()["attempts"]
    assert attempt["completed"] is False
    assert attempt["endTimeEpoch"] == -1
    recorder = Recorder()
    assert replay(LogDir(str(tmp_path)).fs, s, recorder) == len(recorder.events)
    assert recorder.events[-1]["Event"] == "SparkListenerTaskEnd"


def test_a_complete_log_cut_short_is_listed_as_truncated(tmp_path: Path) -> None:
    events = list(appevents.application("app-4"))[:-3]
    s = summary_of(appevents.write(tmp_path, "app-4", events, tail=b'{"Event": "SparkLis'))
    assert s.head is not None  # still an application, with a warning
    assert s.reason is not None
    assert s.reason.startswith("truncated")


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("app-e", b"", "empty file"),
        ("app-g.gz", b"plain text, not gzip\n", "named .gz but is not gzip data"),
        ("app-z.zstd", b"\x28\xb5\x2f\xfd", "compressed with zstd"),
        ("app-s", b'{"Event":"SparkListenerLogStart"}\n{"Event":"Other"}\n', "no Spark"),
        ("app-j", b'{"Event":"SparkListenerLogStart"}\n{not json\n{}\n', "line 2 is not JSON"),
        ("app-o", b"[1, 2]\n", "line 1 is not a JSON object"),
        (
            "app-t",
            b'{"Event":"SparkListenerApplicationStart","App Name":"x","Timestamp":"soon"}\n',
            "no valid 'Timestamp'",
        ),
    ],
)
def test_an_unreadable_log_is_listed_with_the_reason(
    tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    (tmp_path / name).write_bytes(content)
    s = summary_of(tmp_path / name)
    assert s.head is None
    assert s.reason is not None
    assert reason in s.reason


def test_bad_json_in_the_middle_fails_the_replay_naming_the_line(tmp_path: Path) -> None:
    events = list(appevents.application("app-5"))
    data = appevents.encode(events[:6]) + b"{oops\n" + appevents.encode(events[6:])
    (tmp_path / "app-5").write_bytes(data)
    s = summary_of(tmp_path / "app-5")
    assert s.reason is None  # head and end are fine: only the whole read finds it
    with pytest.raises(LogError, match="line 7 is not JSON"):
        replay(LogDir(str(tmp_path)).fs, s, Recorder())


def test_an_event_the_store_refuses_fails_the_replay_naming_the_line(tmp_path: Path) -> None:
    events = list(appevents.application("app-6"))
    del events[8]["Task Info"]  # the first TaskEnd
    s = summary_of(appevents.write(tmp_path, "app-6", events))
    with pytest.raises(LogError, match="line 9: SparkListenerTaskEnd: 'Task Info' is missing"):
        replay(LogDir(str(tmp_path)).fs, s, Recorder())


def test_replay_gives_every_event_in_order(tmp_path: Path) -> None:
    events = list(appevents.application("app-7", tasks=50, failed=3))
    s = summary_of(appevents.write(tmp_path, "app-7", events, compress=True))
    recorder = Recorder()
    assert replay(LogDir(str(tmp_path)).fs, s, recorder) == len(events)
    assert recorder.events == events


def test_an_fsspec_url_is_a_log_directory() -> None:
    fs = fsspec.filesystem("memory")
    fs.pipe("/history-unit/app-8", appevents.encode(appevents.application("app-8")))
    fs.pipe("/history-unit/.app-9.tmp", b"partial upload")
    logs = LogDir("memory://history-unit")
    (file,) = logs.files()
    assert file.name == "app-8"
    s = summarize(logs.fs, file)
    assert s.head is not None
    assert s.head.app_id == "app-8"

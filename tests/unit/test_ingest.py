"""The history server's ingest of event logs sent over HTTP: which names it takes, appends
at an offset (a retried chunk is answered with the size, never written twice), completion,
and the refusal when the log directory is not local."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from minispark.history.ingest import Ingest, IngestError, for_directory, name_problem
from minispark.history.logdir import LogDir


@pytest.mark.parametrize(
    "name",
    ["app-20261204183521-0000.inprogress", "app-1.gz.inprogress", "app-1", "app-1.gz",
     "local-1234.inprogress", "application_1_2.inprogress"],
)  # fmt: skip
def test_names_a_driver_writes_are_taken(name: str) -> None:
    assert name_problem(name) is None


@pytest.mark.parametrize(
    "name",
    ["", ".inprogress", "..", "../app-1.inprogress", "a/b.inprogress", "app-1.inprogress.gz",
     "app.1.inprogress", ".hidden.inprogress", "app-1.lz4.inprogress", "app 1.inprogress",
     "app-1\n.inprogress", "-app.inprogress", "x" * 201 + ".inprogress"],
)  # fmt: skip
def test_other_names_are_refused_in_one_line(name: str) -> None:
    problem = name_problem(name)
    assert problem is not None and "\n" not in problem
    assert "<app id>[.gz].inprogress" in problem


def _refused(coro: object) -> IngestError:
    with pytest.raises(IngestError) as failure:
        asyncio.run(coro)  # type: ignore[arg-type]
    assert "\n" not in str(failure.value)
    return failure.value


def test_appends_at_the_size_only_and_a_retry_learns_what_landed(tmp_path: Path) -> None:
    ingest = Ingest(tmp_path)
    name = "app-1.inprogress"
    assert asyncio.run(ingest.append(name, 0, b"line 1\n")).size == 7
    retried = _refused(ingest.append(name, 0, b"line 1\n"))  # its reply was lost
    assert (retried.status, retried.size) == (409, 7)
    assert "send from offset 7" in str(retried)
    ahead = _refused(ingest.append(name, 99, b"x"))
    assert (ahead.status, ahead.size) == (409, 7)
    assert asyncio.run(ingest.append(name, 7, b"line 2\n")).size == 14
    assert (tmp_path / name).read_bytes() == b"line 1\nline 2\n"


def test_complete_renames_once_and_a_finished_log_takes_no_more(tmp_path: Path) -> None:
    ingest = Ingest(tmp_path)
    asyncio.run(ingest.append("app-2.gz.inprogress", 0, b"\x1f\x8b"))
    asyncio.run(ingest.complete("app-2.gz.inprogress"))
    assert [p.name for p in tmp_path.iterdir()] == ["app-2.gz"]
    asyncio.run(ingest.complete("app-2.gz.inprogress"))  # a retry after a lost reply
    asyncio.run(ingest.complete("app-2.gz"))  # either name completes it
    late = _refused(ingest.append("app-2.gz.inprogress", 2, b"more"))
    assert late.status == 409 and "complete already" in str(late)
    assert [p.name for p in tmp_path.iterdir()] == ["app-2.gz"]
    missing = _refused(ingest.complete("app-3.inprogress"))
    assert missing.status == 404


def test_bad_names_and_finished_names_are_400(tmp_path: Path) -> None:
    ingest = Ingest(tmp_path)
    assert _refused(ingest.append("../escape.inprogress", 0, b"x")).status == 400
    finished = _refused(ingest.append("app-1", 0, b"x"))
    assert finished.status == 400 and "append to app-1.inprogress" in str(finished)
    assert list(tmp_path.iterdir()) == [] and not (tmp_path.parent / "escape.inprogress").exists()


def test_concurrent_apps_and_chunks_do_not_interleave(tmp_path: Path) -> None:
    ingest = Ingest(tmp_path)

    async def one_app(app: str) -> None:
        offset = 0
        for i in range(50):
            chunk = f"{app} {i}\n".encode()
            offset = (await ingest.append(f"{app}.inprogress", offset, chunk)).size

    async def race_one_offset() -> list[int | None]:
        # Two senders of the same chunk at once: one lands, the other learns the size.
        tries = [ingest.append("app-r.inprogress", 0, b"once\n") for _ in range(2)]
        results = await asyncio.gather(*tries, return_exceptions=True)
        return [r.size if isinstance(r, IngestError) else None for r in results]

    async def main() -> list[int | None]:
        await asyncio.gather(*(one_app(f"app-{n}") for n in range(4)))
        return await race_one_offset()

    assert sorted(asyncio.run(main()), key=str) == [5, None]
    for n in range(4):
        text = (tmp_path / f"app-{n}.inprogress").read_text()
        assert text == "".join(f"app-{n} {i}\n" for i in range(50))
    assert (tmp_path / "app-r.inprogress").read_bytes() == b"once\n"


def test_an_object_store_log_directory_takes_no_ingest(tmp_path: Path) -> None:
    assert for_directory(LogDir(str(tmp_path))).root == tmp_path
    remote = for_directory(LogDir("memory://logs"))
    refused = _refused(remote.append("app-1.inprogress", 0, b"x"))
    assert refused.status == 400
    assert "not a local directory" in str(refused) and "memory://logs" in str(refused)

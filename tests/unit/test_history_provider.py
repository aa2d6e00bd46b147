"""The provider over a real directory: listing, the lazy load (once, however many ask),
the least-recently-viewed stores kept, a reload when the log changes, a load that fails
remembered with its reason, and the cleaner deleting from the directory."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable
from pathlib import Path
from typing import Any, TypeVar

from minispark.appstatus.store import store_for_ui
from minispark.conf import Conf
from minispark.history.cleaner import CleanerPolicy
from minispark.history.logdir import LogDir
from minispark.history.provider import HistoryProvider
from tests import appevents

T = TypeVar("T")


class Recorder:
    loads = 0

    def __init__(self) -> None:
        Recorder.loads += 1
        self.events: list[dict[str, Any]] = []

    def apply(self, event: dict[str, Any]) -> None:
        if event.get("Event") == "SparkListenerTaskEnd" and event["Stage ID"] < 0:
            raise KeyError("a store bug")  # not the EventError of a bad field
        self.events.append(event)


def provider(directory: Path, retained: int = 50) -> HistoryProvider[Recorder]:
    Recorder.loads = 0
    return HistoryProvider(LogDir(str(directory)), Recorder, retained)


def run(step: Awaitable[T]) -> T:
    async def inner() -> T:
        return await step

    return asyncio.run(inner())


def test_lists_complete_and_incomplete_apps_and_unreadable_logs(tmp_path: Path) -> None:
    appevents.write(tmp_path, "app-1", appevents.application("app-1", start_ms=1000))
    appevents.write(
        tmp_path,
        "app-2",
        appevents.application("app-2", start_ms=2000, finished=False),
        in_progress=True,
    )
    (tmp_path / "app-3").write_bytes(b"")
    (tmp_path / "subdir").mkdir()
    p = provider(tmp_path)
    run(p.refresh())
    assert p.scanned
    assert [(a["id"], a["attempts"][0]["completed"]) for a in p.applications()] == [
        ("app-2", False),
        ("app-1", True),
    ]
    (broken,) = [s for s in p.summaries() if s.head is None]
    assert (broken.file.name, broken.reason) == ("app-3", "empty file")


def test_the_complete_log_of_an_app_wins_over_a_crashed_runs(tmp_path: Path) -> None:
    appevents.write(tmp_path, "app-1", appevents.application("app-1"))
    events = appevents.application("app-1", finished=False)
    appevents.write(tmp_path, "app-1", events, in_progress=True)
    p = provider(tmp_path)
    run(p.refresh())
    summary = p.summary("app-1")
    assert summary is not None
    assert summary.completed


def test_a_log_is_loaded_once_however_many_ask(tmp_path: Path) -> None:
    events = list(appevents.application("app-1", tasks=200))
    appevents.write(tmp_path, "app-1", events)
    p = provider(tmp_path)

    async def views() -> list[Recorder | None]:
        await p.refresh()
        return list(await asyncio.gather(*(p.store("app-1") for _ in range(5))))

    stores = run(views())
    assert Recorder.loads == 1
    first = stores[0]
    assert first is not None
    assert all(s is first for s in stores)
    assert first.events == events
    assert run(p.store("app-unknown")) is None


def test_the_least_recently_viewed_store_is_let_go(tmp_path: Path) -> None:
    for n in range(3):
        appevents.write(tmp_path, f"app-{n}", appevents.application(f"app-{n}"))
    p = provider(tmp_path, retained=2)

    async def views() -> None:
        await p.refresh()
        await p.store("app-0")
        await p.store("app-1")
        await p.store("app-0")  # app-1 is now the least recently viewed
        await p.store("app-2")

    run(views())
    assert p.loaded_ids() == ["app-0", "app-2"]
    assert Recorder.loads == 3


def test_a_changed_log_is_loaded_again_after_the_next_listing(tmp_path: Path) -> None:
    events = list(appevents.application("app-1", tasks=3))
    path = appevents.write(tmp_path, "app-1", events[:8], in_progress=True)
    p = provider(tmp_path)

    async def grow() -> tuple[Recorder | None, Recorder | None, Recorder | None]:
        await p.refresh()
        before = await p.store("app-1")
        path.write_bytes(appevents.encode(events[:12]))
        os.utime(path, (1, 1))  # an mtime the first listing did not see
        again = await p.store("app-1")  # not listed yet: the store already loaded
        await p.refresh()
        return before, again, await p.store("app-1")

    before, again, after = run(grow())
    assert before is not None
    assert after is not None
    assert again is before
    assert len(before.events) == 8
    assert len(after.events) == 12
    assert Recorder.loads == 2


def test_a_failed_load_is_remembered_with_its_reason_until_the_log_changes(
    tmp_path: Path,
) -> None:
    events = list(appevents.application("app-1"))
    data = appevents.encode(events)
    path = tmp_path / "app-1"
    path.write_bytes(data.replace(b'{"Event":"SparkListenerJobStart"', b'{oops\n{"x":1', 1))
    p = provider(tmp_path)
    run(p.refresh())
    assert run(p.store("app-1")) is None
    reason = p.problem("app-1")
    assert reason is not None
    assert "is not JSON" in reason
    assert run(p.store("app-1")) is None
    assert Recorder.loads == 1  # not read again while unchanged
    path.write_bytes(data)
    os.utime(path, (2, 2))
    run(p.refresh())
    assert run(p.store("app-1")) is not None
    assert p.problem("app-1") is None


def test_a_store_that_breaks_makes_a_reason_not_a_crash(tmp_path: Path) -> None:
    events = list(appevents.application("app-1"))
    events[8]["Stage ID"] = -1  # Recorder's stand-in for a bug in the store
    appevents.write(tmp_path, "app-1", events)
    p = provider(tmp_path)
    run(p.refresh())
    assert run(p.store("app-1")) is None
    assert p.problem("app-1") == "cannot be replayed (KeyError: 'a store bug')"


def test_a_directory_that_vanishes_keeps_the_last_listing(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    appevents.write(logs, "app-1", appevents.application("app-1"))
    p = provider(logs)
    run(p.refresh())
    (logs / "app-1").unlink()
    logs.rmdir()
    run(p.refresh())
    assert p.scan_error is not None
    assert "cannot list" in p.scan_error
    assert [a["id"] for a in p.applications()] == ["app-1"]
    logs.mkdir()
    run(p.refresh())
    assert p.scan_error is None
    assert p.applications() == []


def test_the_cleaner_deletes_expired_logs_and_lists_again(tmp_path: Path) -> None:
    for n, age_days in enumerate([30, 2, 1]):
        path = appevents.write(tmp_path, f"app-{n}", appevents.application(f"app-{n}"))
        when = 1_000_000_000 - age_days * 86400
        os.utime(path, (when, when))
    p = provider(tmp_path)
    run(p.refresh())
    policy = CleanerPolicy(max_age_s=7 * 86400, max_num=1)
    assert run(p.clean(policy, now=1_000_000_000)) == ["app-0", "app-1"]
    assert sorted(f.name for f in tmp_path.iterdir()) == ["app-2"]
    assert [a["id"] for a in p.applications()] == ["app-2"]


def test_a_log_replays_into_the_real_store_with_the_ui_retention(tmp_path: Path) -> None:
    appevents.write(tmp_path, "app-1", appevents.application("app-1", tasks=30, failed=5))
    conf = Conf({"spark.ui.retainedTasks": "10"})
    p = HistoryProvider(LogDir(str(tmp_path)), lambda: store_for_ui(conf), 50)
    run(p.refresh())
    store = run(p.store("app-1"))
    assert store is not None
    assert store.completed
    # The list (from the log's head and end) and the loaded store agree on the application.
    listed, loaded = p.applications()[0], store.application()
    assert (listed["id"], listed["name"]) == (loaded["id"], loaded["name"])
    for key in ("startTimeEpoch", "endTimeEpoch", "duration", "sparkUser", "completed"):
        assert listed["attempts"][0][key] == loaded["attempts"][0][key], key
    (job,) = store.jobs()
    assert (job["numCompletedTasks"], job["numFailedTasks"]) == (30, 5)
    kept = store.task_list(0, 0, length=100)
    assert kept is not None
    assert len(kept) == 10  # spark.ui.retainedTasks: the counts above stay exact

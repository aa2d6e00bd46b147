"""The application UI's HTML: everything the application supplies is escaped, links are
only http(s), the pages refresh only while the application runs, and bad ids say so."""

from __future__ import annotations

import asyncio
import html
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from minispark.appstatus.pages import page_routes
from minispark.appstatus.store import AppStore
from tests.appevents import T0, App, failure, stage_info

from .appweb import get, get_all

EVIL = '<script>alert("x")</script>'
PAGES = [
    "/jobs/",
    "/jobs/job/?id=0",
    "/stages/",
    "/stages/stage/?id=0&attempt=0",
    "/executors/",
    "/environment/",
]


def _hostile_store(ended: bool = False) -> AppStore:
    app = App(name=f"app {EVIL}").start(props=[[f"spark.{EVIL}", EVIL]])
    app.events[3]["Executor Info"]["Log Urls"] = {"stdout": "javascript:alert(1)", "stderr": EVIL}
    app.events[3]["Executor ID"] = EVIL
    stage = stage_info(0, f"collect at {EVIL}:1", 1)
    app.job_start(0, T0, stage)
    app.stage_submitted(stage, T0)
    app.task(stage, 0, T0 + 1, 2, executor=EVIL, reason=failure(EVIL, f"Traceback\n{EVIL}\n"))
    app.stage_completed(stage, T0 + 5, reason=f"failed: {EVIL}")
    app.job_end(0, T0 + 6, error=f"aborted: {EVIL}")
    if ended:
        app.end(T0 + 10)
    store = AppStore()
    for event in app.events:
        store.apply(event)
    return store


@pytest.mark.parametrize("path", PAGES)
def test_every_page_escapes_what_the_application_supplied(path: str) -> None:
    status, body = get(_hostile_store(), path)
    assert status == 200
    assert "<script" not in body and "javascript:" not in body
    assert html.escape(EVIL) in body  # shown, as text


def test_what_each_page_shows_of_the_hostile_strings() -> None:
    found = dict(zip(PAGES, (b for _, b in get_all(_hostile_store(), PAGES)), strict=True))
    e = html.escape
    assert f"<title>app {e(EVIL)} - Spark Jobs</title>" in found["/jobs/"]
    assert f"aborted: {e(EVIL)}" in found["/jobs/job/?id=0"]
    assert f"failed: {e(EVIL)}" in found["/stages/"]
    stage = found["/stages/stage/?id=0&attempt=0"]
    assert f"<pre>Traceback\n{e(EVIL)}\n</pre>" in stage
    assert f"collect at {e(EVIL)}:1" in stage
    executors = found["/executors/"]
    assert "<td>stderr stdout</td>" in executors  # neither is http(s): text, linked nowhere
    assert f"spark.{e(EVIL)}" in found["/environment/"]


def test_a_running_application_s_pages_refresh_and_an_ended_one_s_do_not() -> None:
    for path, (_, body) in zip(PAGES, get_all(_hostile_store(), PAGES), strict=True):
        assert '<meta http-equiv="refresh" content="3">' in body, path
    for path, (_, body) in zip(PAGES, get_all(_hostile_store(ended=True), PAGES), strict=True):
        assert "http-equiv" not in body, path


def test_pages_link_within_their_prefix() -> None:
    status, body = get(_hostile_store(), "/jobs/")
    assert status == 200
    assert 'href="/jobs/job/?id=0"' in body and 'href="/stages/"' in body


@pytest.mark.parametrize(
    ("path", "status", "text"),
    [
        ("/", 302, ""),
        ("/jobs", 302, ""),
        ("/jobs/job/?id=7", 404, "no such job: 7"),
        ("/jobs/job/?id=x", 400, "parameter id must be an integer, got 'x'"),
        ("/jobs/job/", 400, "parameter id must be an integer, got None"),
        ("/stages/stage/?id=0&attempt=4", 404, "no such stage attempt: 0/4"),
        ("/stages/stage/?id=0&attempt=0&task.sort=size", 400, "unknown task.sort 'size'"),
    ],
)
def test_bad_page_parameters_say_what(path: str, status: int, text: str) -> None:
    got, body = get(_hostile_store(), path)
    assert got == status
    assert text in body and "\n" not in body.rstrip("\n")


def test_the_task_table_pages_and_sorts() -> None:
    app = App().start()
    stage = stage_info(0, "count at r.py:1", 250)
    app.job_start(0, T0, stage)
    app.stage_submitted(stage, T0)
    for i in range(250):
        app.task(stage, i, T0 + i, 1000 - i)
    store = AppStore()
    for event in app.events:
        store.apply(event)
    _, body = get(store, "/stages/stage/?id=0&attempt=0&task.page=3")
    assert "Page: " in body and "<b>3</b>" in body and "50 of 250 tasks" in body
    rows = body.split('<div class="scroll">')[1].split("<tr>")[2:]
    assert rows[0].startswith('<td class="num">200</td>')  # index 200 opens page 3
    _, body = get(store, "/stages/stage/?id=0&attempt=0&task.sort=-runtime&task.pageSize=5")
    rows = body.split('<div class="scroll">')[1].split("<tr>")[2:]
    assert [r.split("</td>")[0] for r in rows] == [f'<td class="num">{i}' for i in range(5)]


class TwoApps:
    """A history server's kind of source: several applications, each found by its id."""

    def __init__(self, *stores: AppStore) -> None:
        self._stores = {s.app_id or "": s for s in stores}

    def applications(self) -> list[dict[str, Any]]:
        return [s.application() for s in self._stores.values()]

    async def store(self, app_id: str) -> AppStore | None:
        return self._stores.get(app_id)


def test_under_a_history_prefix_each_app_s_pages_link_within_it() -> None:
    first = _hostile_store(ended=True)
    other = App(name="second", app_id="app-2/x").start()
    second = AppStore()
    for event in other.events:
        second.apply(event)

    async def run() -> list[tuple[int, str]]:
        app = web.Application()
        app.add_routes(page_routes(TwoApps(first, second), "/history/{app}/"))
        async with TestClient(TestServer(app)) as client:
            found = []
            for path in (
                "/history/app-20270115080000-0000/jobs/",
                "/history/app-2%2Fx/environment/",
                "/history/app-nope/jobs/",
                "/history/app-2%2Fx/",
            ):
                reply = await client.get(path, allow_redirects=False)
                found.append((reply.status, reply.headers.get("Location") or await reply.text()))
            return found

    jobs, env, missing, home = asyncio.run(run())
    assert jobs[0] == 200
    assert 'href="/history/app-20270115080000-0000/jobs/job/?id=0"' in jobs[1]
    assert 'href="/history/app-20270115080000-0000/executors/"' in jobs[1]
    assert env[0] == 200 and 'href="/history/app-2%2Fx/stages/"' in env[1]
    assert missing == (404, "no such application: app-nope\n")
    assert home == (302, "/history/app-2%2Fx/jobs/")

"""The worker's web port served from a WorkerView and its work directory, no worker."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp

from minispark.conf import Conf
from minispark.httpauth import HttpAuth
from minispark.worker.web import WorkerView, start_web

VIEW = WorkerView(
    id="worker-1",
    address="h:7078",
    master_url="",
    master_webui_url="",
    cores=4,
    cores_used=0,
    memory_mb=1024,
    memory_used=0,
    registered=False,
    decommissioned=False,
    executors=[],
    finished=[],
)


def serve(
    tmp_path: Path,
    view: Callable[[], WorkerView],
    auth: HttpAuth,
    check: Callable[[aiohttp.ClientSession, str], Awaitable[None]],
) -> None:
    """Run ``check`` against a worker's web port over ``tmp_path`` as the work directory."""

    async def run() -> None:
        runner, port = await start_web(view, tmp_path, "127.0.0.1", 0, None, auth=auth)
        try:
            async with aiohttp.ClientSession() as session:
                await check(session, f"http://127.0.0.1:{port}")
        finally:
            await runner.cleanup()

    asyncio.run(run())


def test_pages_read_the_view_taken_at_each_request(tmp_path: Path) -> None:
    views = [VIEW]
    log = tmp_path / "app-1" / "0" / "stderr"
    log.parent.mkdir(parents=True)
    log.write_text("executor said hello\n")

    async def check(session: aiohttp.ClientSession, base: str) -> None:
        async with session.get(f"{base}/readyz") as reply:
            assert reply.status == 503
        views.append(dataclasses.replace(VIEW, registered=True, master_url="m:7077"))
        async with session.get(f"{base}/json") as reply:
            state = await reply.json()
        assert (state["state"], state["masterurl"]) == ("ALIVE", "m:7077")
        async with session.get(f"{base}/readyz") as reply:
            assert reply.status == 200
        query = "appId=app-1&executorId=0&logType=stderr"
        async with session.get(f"{base}/logPage/?{query}") as reply:
            assert await reply.text() == "executor said hello\n"
        async with session.get(f"{base}/logPage/?appId=..&executorId=0") as reply:
            assert reply.status == 400

    serve(tmp_path, lambda: views[-1], HttpAuth(), check)


def test_log_pages_and_json_need_the_secret_when_auth_is_on(tmp_path: Path) -> None:
    log = tmp_path / "app-1" / "0" / "stdout"
    log.parent.mkdir(parents=True)
    log.write_text("user output\n")
    conf = Conf({"spark.authenticate": "true", "spark.authenticate.secret": "s3cret"})
    browser = {"Authorization": aiohttp.encode_basic_auth("anyone", "s3cret")}

    async def check(session: aiohttp.ClientSession, base: str) -> None:
        page = f"{base}/logPage/?appId=app-1&executorId=0&logType=stdout"
        for url in (page, f"{base}/json"):
            async with session.get(url) as reply:
                assert reply.status == 401
                assert "user output" not in await reply.text()
        async with session.get(page, headers=browser) as reply:
            assert await reply.text() == "user output\n"
        async with session.get(f"{base}/healthz") as reply:
            assert reply.status == 200

    serve(tmp_path, lambda: VIEW, HttpAuth.from_conf(conf), check)

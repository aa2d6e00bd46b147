"""The worker's web port served from a WorkerView and its work directory, no worker."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import aiohttp

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


def test_pages_read_the_view_taken_at_each_request(tmp_path: Path) -> None:
    views = [VIEW]
    log = tmp_path / "app-1" / "0" / "stderr"
    log.parent.mkdir(parents=True)
    log.write_text("executor said hello\n")

    async def run() -> None:
        runner, port = await start_web(lambda: views[-1], tmp_path, "127.0.0.1", 0, None)
        base = f"http://127.0.0.1:{port}"
        try:
            async with aiohttp.ClientSession() as session:
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
        finally:
            await runner.cleanup()

    asyncio.run(run())

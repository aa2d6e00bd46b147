"""The master's web port served from a MasterView and MasterActions alone, no master."""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest

from minispark import protocol as p
from minispark.conf import Conf
from minispark.master.model import AppInfo, WorkerInfo
from minispark.master.view import MasterActions, MasterView
from minispark.master.web import start_web
from minispark.tls import web_context
from tests.certs import make_cluster_certs

APP = p.ApplicationDescription(name="pi", user="u", driver_url="d:1", memory_per_executor_mb=1)


class Cluster:
    """A master's state as plain records, and a log of the actions the web port took."""

    def __init__(self) -> None:
        self.workers = [
            WorkerInfo(id="w1", host="h1", port=1, cores=2, memory_mb=64, webui_url="", conn=None),
            WorkerInfo(id="w2", host="h2", port=1, cores=2, memory_mb=64, webui_url="", conn=None),
        ]
        self.apps = [AppInfo(id="app-1", desc=APP, conn=None, requested_cores=2)]
        self.done: list[str] = []

    def view(self) -> MasterView:
        return MasterView(
            url="minispark://m:7077",
            status=p.MasterStatus.ALIVE,
            epoch=3,
            start_ms=0,
            workers=self.workers,
            active_apps=self.apps,
            completed_apps=[],
            active_drivers=[],
            completed_drivers=[],
        )

    def actions(self, conf: Conf) -> MasterActions:
        def kill(app_id: str) -> bool:
            self.done.append(f"kill {app_id}")
            return app_id == "app-1"

        def status(driver_id: str) -> p.DriverStatusResponse:
            return p.DriverStatusResponse(found=False, message=f"no driver {driver_id}")

        return MasterActions(
            conf=conf,
            view=self.view,
            kill_application=kill,
            decommission_worker=lambda worker_id: self.done.append(f"decommission {worker_id}"),
            submit_driver=lambda desc: p.SubmitDriverResponse(
                success=False, driver_id="", message=""
            ),
            kill_driver=lambda driver_id: p.KillDriverResponse(success=False, message=""),
            driver_status=status,
        )


def serve(
    cluster: Cluster, conf: Conf, check: Callable[[aiohttp.ClientSession, str], Awaitable[None]]
) -> None:
    async def run() -> None:
        runner, port = await start_web(cluster.actions(conf), "127.0.0.1", 0, None)
        try:
            async with aiohttp.ClientSession() as session:
                await check(session, f"http://127.0.0.1:{port}")
        finally:
            await runner.cleanup()

    asyncio.run(run())


def test_json_and_probes_show_the_view() -> None:
    cluster = Cluster()

    async def check(session: aiohttp.ClientSession, base: str) -> None:
        async with session.get(f"{base}/json") as reply:
            state = await reply.json()
        assert state["aliveworkers"] == 2 and state["cores"] == 4 and state["status"] == "ALIVE"
        assert [a["id"] for a in state["activeapps"]] == ["app-1"]
        async with session.get(f"{base}/readyz") as reply:
            assert reply.status == 200
        async with session.get(f"{base}/metrics") as reply:
            assert "minispark_master_epoch 3.0" in await reply.text()
        async with session.get(f"{base}/v1/submissions/status/driver-9") as reply:
            assert (await reply.json())["message"] == "no driver driver-9"

    serve(cluster, Conf({}), check)


def test_actions_go_through_the_callables_and_need_the_secret() -> None:
    cluster = Cluster()
    conf = Conf({"spark.authenticate": "true", "spark.authenticate.secret": "s3cret"})
    bearer = {"Authorization": "Bearer s3cret"}

    async def check(session: aiohttp.ClientSession, base: str) -> None:
        async with session.post(f"{base}/workers/kill?host=h2") as reply:
            assert reply.status == 401
        async with session.post(f"{base}/workers/kill?host=h2", headers=bearer) as reply:
            assert (await reply.json()) == {"decommissioned": ["w2"]}
        kill = f"{base}/app/kill?id=app-2"
        async with session.post(kill, headers=bearer, allow_redirects=False) as reply:
            assert reply.status == 404

    serve(cluster, conf, check)
    assert cluster.done == ["decommission w2", "kill app-2"]


def test_a_running_application_s_name_links_to_its_ui_and_only_over_http() -> None:
    cluster = Cluster()
    evil = p.ApplicationDescription(
        name="<b>evil</b>", user="u", driver_url="d:2", memory_per_executor_mb=1
    )
    cluster.apps[0].ui_url = "http://127.0.0.1:4041"
    cluster.apps.append(
        AppInfo(id="app-2", desc=evil, conn=None, requested_cores=1, ui_url="javascript:alert(1)")
    )
    cluster.apps.append(
        AppInfo(id="app-3", desc=APP, conn=None, requested_cores=1, ui_url='https://h:1/"x')
    )

    async def check(session: aiohttp.ClientSession, base: str) -> None:
        async with session.get(f"{base}/") as reply:
            page = await reply.text()
        assert '<td><a href="http://127.0.0.1:4041">pi</a></td>' in page
        assert "<td>&lt;b&gt;evil&lt;/b&gt;</td>" in page and "javascript:" not in page
        assert '<a href="https://h:1/&quot;x">pi</a>' in page

    serve(cluster, Conf({}), check)


def test_kill_forms_are_on_the_page_and_post_with_a_browsers_basic_auth() -> None:
    cluster = Cluster()
    conf = Conf({"spark.authenticate": "true", "spark.authenticate.secret": "s3cret"})
    browser = {"Authorization": aiohttp.encode_basic_auth("admin", "s3cret")}

    async def check(session: aiohttp.ClientSession, base: str) -> None:
        async with session.get(f"{base}/") as reply:
            assert reply.status == 401 and "WWW-Authenticate" in reply.headers
        async with session.get(f"{base}/", headers=browser) as reply:
            page = await reply.text()
        assert 'action="/app/kill"' in page and 'value="app-1"' in page
        # What the browser sends when the kill button is pressed on our own page.
        form = {**browser, "Origin": base}
        async with session.post(
            f"{base}/app/kill", data={"id": "app-1"}, headers=form, allow_redirects=False
        ) as reply:
            assert reply.status == 303 and reply.headers["Location"] == "/"

    serve(cluster, conf, check)
    assert cluster.done == ["kill app-1"]


def test_https_port_refuses_plain_http_with_a_line_and_keeps_serving(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    certs = make_cluster_certs(tmp_path)
    server_tls = web_context()
    server_tls.load_cert_chain(certs.cert, certs.key)
    client_tls = ssl.create_default_context(cafile=str(certs.ca))  # checks 127.0.0.1 too

    async def plain(port: int, data: bytes) -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(data)
        reply = await reader.read()  # until the port closes the connection
        writer.close()
        return reply

    async def run() -> None:
        runner, port = await start_web(Cluster().actions(Conf({})), "127.0.0.1", 0, server_tls)
        try:
            reply = await plain(port, b"GET /json HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert reply.startswith(b"HTTP/1.1 400 ") and b"use https://127.0.0.1/" in reply
            assert await plain(port, b"\x00garbage\r\n") == b""  # closed, no answer
            # A client that does not trust our certificate aborts the handshake: said too.
            with pytest.raises(ssl.SSLCertVerificationError):
                await asyncio.open_connection("127.0.0.1", port, ssl=ssl.create_default_context())
            async with aiohttp.ClientSession() as session:
                url = f"https://127.0.0.1:{port}/json"
                async with session.get(url, ssl=client_tls) as ok:
                    assert (await ok.json())["aliveworkers"] == 2
        finally:
            await runner.cleanup()

    with caplog.at_level(logging.WARNING, logger="minispark"):
        asyncio.run(run())
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3, lines
    assert lines[0].startswith("web port refused 127.0.0.1:")
    assert "plain HTTP on the HTTPS port ('GET /json HTTP/1.1')" in lines[0]
    assert "neither TLS nor HTTP" in lines[1]
    # An alert (worded by tls.refusal) or a hang-up, as timing has it.
    assert "the client refused our certificate (" in lines[2] or "hung up" in lines[2], lines
    assert all(r.exc_info is None for r in caplog.records)

"""start_ui on real loopback ports: Spark's port walk, the log line, auth and TLS."""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from minispark.appstatus.store import AppStore, store_for_ui
from minispark.conf import Conf
from minispark.driver.ui import DriverUi, start_ui
from minispark.rpc import Security
from minispark.security import security_from_conf
from tests.appevents import T0, App
from tests.certs import make_cluster_certs, tls_conf


def _store() -> AppStore:
    store = AppStore()
    for event in App(name="ui-test").start().events:
        store.apply(event)
    return store


@pytest.fixture
def taken() -> Iterator[int]:
    """A port some other process holds (listening), as another driver's UI would."""
    with socket.create_server(("127.0.0.1", 0)) as sock:
        yield int(sock.getsockname()[1])


async def _status(url: str, headers: dict[str, str] | None = None, **kw: object) -> int:
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers, **kw) as r:  # type: ignore[arg-type]
        return r.status


def test_a_taken_port_moves_the_ui_to_the_next(
    taken: int, caplog: pytest.LogCaptureFixture
) -> None:
    async def run() -> DriverUi | None:
        conf = Conf({"spark.ui.port": str(taken)})
        ui = await start_ui(conf, _store(), Security(), "127.0.0.1")
        assert ui is not None
        try:
            assert await _status(ui.url + "/api/v1/applications") == 200
            ui.announce()
        finally:
            await ui.stop()
        return ui

    with caplog.at_level(logging.DEBUG, logger="minispark.driver.ui"):
        ui = asyncio.run(run())
    assert ui is not None and ui.port == taken + 1
    assert ui.url == f"http://127.0.0.1:{taken + 1}"
    assert (
        f"Service 'SparkUI' could not bind on port {taken}. Attempting port {taken + 1}."
        in caplog.text
    )
    assert f"Bound SparkUI to 127.0.0.1, and started at http://127.0.0.1:{taken + 1}" in caplog.text


def test_no_retries_left_is_one_line_naming_the_settings(taken: int) -> None:
    conf = Conf({"spark.ui.port": str(taken), "spark.port.maxRetries": "0"})
    with pytest.raises(OSError) as raised:
        asyncio.run(start_ui(conf, _store(), Security(), "127.0.0.1"))
    message = str(raised.value)
    assert f"ports {taken}-{taken} on 127.0.0.1 all taken" in message
    assert "spark.ui.port" in message and "spark.ui.enabled=false" in message
    assert "\n" not in message


def test_port_zero_is_any_free_port_and_disabled_is_none() -> None:
    async def run() -> tuple[DriverUi | None, DriverUi | None]:
        off = await start_ui(Conf({"spark.ui.enabled": "false"}), _store(), Security(), "127.0.0.1")
        ui = await start_ui(Conf({"spark.ui.port": "0"}), _store(), Security(), "127.0.0.1")
        assert ui is not None
        await ui.stop()
        return off, ui

    off, ui = asyncio.run(run())
    assert off is None
    assert ui is not None and ui.port > 0


def test_the_cluster_secret_guards_the_ui(tmp_path: Path) -> None:
    conf = Conf(
        {"spark.authenticate": "true", "spark.authenticate.secret": "s3cret", "spark.ui.port": "0"}
    )

    async def run() -> list[int]:
        ui = await start_ui(conf, _store(), security_from_conf(conf), "127.0.0.1")
        assert ui is not None
        try:
            return [
                await _status(ui.url + "/jobs/"),
                await _status(ui.url + "/api/v1/applications", {"Authorization": "Bearer nope"}),
                await _status(ui.url + "/api/v1/applications", {"Authorization": "Bearer s3cret"}),
                await _status(
                    ui.url + "/jobs/", {"Authorization": "Basic dTpzM2NyZXQ="}
                ),  # u:s3cret
                await _status(ui.url + "/healthz"),  # probes stay open, as on the daemons
            ]
        finally:
            await ui.stop()

    assert asyncio.run(run()) == [401, 401, 200, 200, 200]


def test_with_a_ca_issued_certificate_the_ui_speaks_https(tmp_path: Path) -> None:
    cert = make_cluster_certs(tmp_path)
    pairs = dict(kv.split("=", 1) for kv in tls_conf(cert, cert.ca))
    conf = Conf({**pairs, "spark.ui.port": "0"})
    verified = ssl.create_default_context(cafile=str(cert.ca))

    async def run() -> tuple[str, int]:
        ui = await start_ui(conf, _store(), security_from_conf(conf), "127.0.0.1")
        assert ui is not None
        try:
            return ui.url, await _status(ui.url + "/jobs/", ssl=verified)
        finally:
            await ui.stop()

    url, status = asyncio.run(run())
    assert url.startswith("https://127.0.0.1:") and status == 200


def test_the_store_keeps_as_many_jobs_as_spark_ui_retained_jobs() -> None:
    store = store_for_ui(Conf({"spark.ui.retainedJobs": "2"}))
    app = App().start()
    for job_id in range(3):
        app.job_start(job_id, T0 + job_id)
        app.job_end(job_id, T0 + job_id + 1)
    for event in app.events:
        store.apply(event)
    assert [j["jobId"] for j in store.jobs()] == [2, 1]

"""The web ports' authentication, as aiohttp middleware on a real app served by aiohttp."""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from minispark.conf import Conf
from minispark.httpauth import CHALLENGE, HttpAuth, accepted, credentials, middleware
from minispark.keyring import Keyring
from minispark.webport import RefusalLog

SECRET = "s3cret"
ON = {"spark.authenticate": "true", "spark.authenticate.secret": SECRET}


def basic(password: str, user: str = "anyone") -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


BEARER = {"Authorization": f"Bearer {SECRET}"}


async def ok(request: web.Request) -> web.Response:
    return web.Response(text="ok")


def serve(auth: HttpAuth, check: Callable[[TestClient], Awaitable[None]]) -> None:
    """Run ``check`` against an app with the middleware and a page, a form and the probes."""

    async def run() -> None:
        app = web.Application(middlewares=[middleware(auth)])
        for path in ("/", "/json", "/healthz", "/readyz", "/metrics", "/v1/submissions/status/d"):
            app.router.add_get(path, ok)
        app.router.add_post("/app/kill", ok)
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            await check(client)

    asyncio.run(run())


def test_credentials_come_from_bearer_or_the_basic_password_only() -> None:
    assert credentials("Bearer s3cret") is not None
    assert credentials("bearer  s3cret ").secret == b"s3cret"  # type: ignore[union-attr]
    given = credentials(basic("pa:ss", user="who")["Authorization"])
    assert given is not None and (given.secret, given.basic) == (b"pa:ss", True)
    assert credentials(None) is None
    assert credentials("Bearer ") is None
    assert credentials("Basic !!notbase64") is None
    assert credentials("Basic " + base64.b64encode(b"no-colon").decode()) is None
    assert credentials("Basic " + base64.b64encode(b"user:").decode()) is None
    assert credentials("Digest s3cret") is None


def test_every_secret_of_the_keyring_is_accepted_and_a_rotation_is_followed(
    tmp_path: Path,
) -> None:
    path = tmp_path / "secret"
    path.write_text("new\nold\n")
    keyring = Keyring(path=str(path))
    assert accepted(keyring, b"new") and accepted(keyring, b"old")
    assert not accepted(keyring, b"ol") and not accepted(keyring, b"")
    path.write_text("newer-alone\n")  # a different size: re-read without a restart
    assert accepted(keyring, b"newer-alone") and not accepted(keyring, b"old")


def test_pages_need_the_secret_and_the_probes_stay_open() -> None:
    async def check(client: TestClient) -> None:
        for path in ("/", "/json", "/v1/submissions/status/d"):
            reply = await client.get(path)
            assert reply.status == 401, path
            assert reply.headers["WWW-Authenticate"] == CHALLENGE
        for headers in (BEARER, basic(SECRET), basic(SECRET, user="")):
            assert (await client.get("/json", headers=headers)).status == 200
        for wrong in ({"Authorization": "Bearer guess"}, basic("guess")):
            assert (await client.get("/json", headers=wrong)).status == 401
        rest = await client.get("/v1/submissions/status/d")
        body = await rest.json()  # Spark's REST clients read an ErrorResponse
        assert body["action"] == "ErrorResponse" and "no credentials" in body["message"]
        # Never a secret in the URL, under any parameter name.
        for query in (f"secret={SECRET}", f"token={SECRET}", f"Authorization=Bearer+{SECRET}"):
            assert (await client.get(f"/json?{query}")).status == 401
        for probe in ("/healthz", "/readyz", "/metrics"):
            assert (await client.get(probe)).status == 200, probe

    serve(HttpAuth.from_conf(Conf(ON)), check)


def test_ui_authenticate_closes_the_probes_too() -> None:
    async def check(client: TestClient) -> None:
        for probe in ("/healthz", "/readyz", "/metrics"):
            assert (await client.get(probe)).status == 401, probe
            assert (await client.get(probe, headers=BEARER)).status == 200, probe

    serve(HttpAuth.from_conf(Conf({**ON, "minispark.ui.authenticate": "true"})), check)


def test_without_spark_authenticate_everything_is_open() -> None:
    async def check(client: TestClient) -> None:
        assert (await client.get("/json")).status == 200
        assert (await client.post("/app/kill", headers={"Origin": "http://evil"})).status == 200

    # minispark.ui.authenticate alone does nothing: there is no secret to ask for.
    serve(HttpAuth.from_conf(Conf({"minispark.ui.authenticate": "true"})), check)


def test_auth_on_without_a_secret_lets_nobody_in() -> None:
    async def check(client: TestClient) -> None:
        reply = await client.get("/json", headers=BEARER)
        assert reply.status == 401 and "no secret set" in await reply.text()

    serve(HttpAuth.from_conf(Conf({"spark.authenticate": "true"})), check)


def test_a_browser_post_from_another_site_is_refused() -> None:
    async def check(client: TestClient) -> None:
        own = f"http://{client.host}:{client.port}"
        same = await client.post("/app/kill", headers={**basic(SECRET), "Origin": own})
        assert same.status == 200
        for foreign in ({"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
            reply = await client.post("/app/kill", headers={**basic(SECRET), **foreign})
            assert reply.status == 403, foreign
        # A script's bearer token is never sent by a browser on its own: no origin check.
        reply = await client.post("/app/kill", headers={**BEARER, "Origin": "http://evil.example"})
        assert reply.status == 200

    serve(HttpAuth.from_conf(Conf(ON)), check)


def test_refusals_log_one_line_naming_the_peer_and_the_reason(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def check(client: TestClient) -> None:
        await client.get("/json")
        await client.get("/json", headers=basic("guess"))
        await client.get("/json", headers=basic("guess"))  # the same again: not logged twice
        assert (await client.get("/json", headers=BEARER)).status == 200

    with caplog.at_level(logging.WARNING, logger="minispark"):
        serve(HttpAuth.from_conf(Conf(ON)), check)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2, lines
    assert lines[0].startswith("web port refused 127.0.0.1:") and "no credentials" in lines[0]
    assert "wrong secret (GET /json)" in lines[1]
    assert all(r.exc_info is None for r in caplog.records)
    assert not any("guess" in line or SECRET in line for line in lines)


def test_refusal_log_says_how_many_it_kept_quiet(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    refusals = RefusalLog(window_s=60, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="minispark"):
        assert refusals.refused("10.0.0.1:5", "wrong secret")
        assert not refusals.refused("10.0.0.1:6", "wrong secret")  # same host, new port
        assert not refusals.refused("10.0.0.1:7", "wrong secret")
        assert refusals.refused("10.0.0.1:8", "no credentials")  # another reason
        assert refusals.refused("10.0.0.2:5", "wrong secret")  # another host
        now[0] = 61.0
        assert refusals.refused("10.0.0.1:9", "wrong secret")
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 4
    expected = "web port refused 10.0.0.1:9: wrong secret (2 more from 10.0.0.1 not logged)"
    assert lines[-1] == expected

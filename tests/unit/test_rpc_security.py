"""The transport's security over real sockets on 127.0.0.1: keyrings, TLS and pinning."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import ssl
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest

from minispark import protocol as p
from minispark import rpc, tls
from minispark.conf import Conf, ConfError
from minispark.driver import tlscert
from minispark.security import security_from_conf
from tests.certs import Pki, tls_conf

HB = p.Heartbeat(worker_id="w")


def _security(*pairs: str) -> rpc.Security:
    return security_from_conf(Conf(dict(pair.partition("=")[::2] for pair in pairs)))


def _secret_file(path: Path, text: str) -> str:
    path.write_text(text)
    return f"spark.authenticate.secret.file={path}"


async def _server(
    security: rpc.Security, received: list[Any] | None = None
) -> tuple[rpc.Server, int]:
    sink = received if received is not None else []
    server = rpc.Server(
        name="master", inbound=p.ToMaster, handler=lambda c, m: sink.append(m), security=security
    )
    return server, await server.start("127.0.0.1", 0)


async def _connect(port: int, security: rpc.Security, host: str = "127.0.0.1") -> rpc.Connection:
    return await rpc.connect(
        host, port, inbound=p.ToWorker, handler=lambda c, m: None, security=security, role="worker"
    )


async def _refused(server: rpc.Server, count: int = 1) -> None:
    while server.refused < count:  # the server logs as soon as it gives up on the peer
        await asyncio.sleep(0.01)


def _run(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(main())


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


# ------------------------------------------------------------------- keyrings


def test_rotation_window_then_old_secret_refused_without_restart(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server_file, client_file = tmp_path / "server.secret", tmp_path / "client.secret"

    async def main() -> None:
        server_side = _security(_secret_file(server_file, "new\nold\n"))
        old_client = _security(_secret_file(client_file, "old\n"))
        server, port = await _server(server_side)
        conn = await _connect(port, old_client)  # both settle on "old"
        await conn.ask(p.UnregisterApplication(app_id="x"))
        conn.close()
        new_client = _security(_secret_file(tmp_path / "new.secret", "new\n"))
        (await _connect(port, new_client)).close()
        # The roll ends: the server's file now holds "new" only. Same process, no restart.
        server_file.write_text("new\n")
        os.utime(server_file, ns=(1, 1))  # a different stamp even within one mtime tick
        with pytest.raises(
            rpc.HandshakeError,
            match="refused: no shared secret: pass --conf "
            r"spark\.authenticate\.secret\.file=",
        ):
            await _connect(port, old_client)
        await _refused(server)
        (await _connect(port, new_client)).close()
        server.close()

    _run(main)
    assert any("no shared secret with a worker" in w for w in _warnings(caplog))


def test_client_with_the_new_secret_first_and_server_with_old_only(tmp_path: Path) -> None:
    async def main() -> None:
        server, port = await _server(_security(_secret_file(tmp_path / "s", "old")))
        conn = await _connect(port, _security(_secret_file(tmp_path / "c", "new\nold")))
        await conn.ask(p.UnregisterApplication(app_id="x"))
        server.close()

    _run(main)


def test_client_without_a_secret_is_told_which_file_to_pass(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def main() -> None:
        server, port = await _server(_security(_secret_file(tmp_path / "s", "k")))
        with pytest.raises(
            rpc.HandshakeError,
            match=r"requires authentication: pass --conf "
            r"spark\.authenticate\.secret\.file=<path to minispark\.secret>",
        ):
            await _connect(port, rpc.Security())
        await _refused(server)
        server.close()

    _run(main)
    assert any("left after the challenge" in w for w in _warnings(caplog))


def test_secret_alone_turns_authentication_on_and_caFile_alone_turns_tls_on(  # noqa: N802
    tmp_path: Path,
) -> None:
    pki = Pki(tmp_path)
    assert _security("spark.authenticate.secret=k").keyring is not None
    assert _security("spark.authenticate.secret=k", "spark.authenticate=false").keyring is None
    client = _security(f"minispark.ssl.caFile={pki.ca}")
    assert client.tls and client.server_ssl is None
    assert not _security(f"minispark.ssl.caFile={pki.ca}", "minispark.ssl.enabled=false").tls

    async def main() -> None:
        # A daemon with only the CA cannot serve TLS: the error names the two files it needs.
        with pytest.raises(
            ConfError, match=r"minispark\.ssl\.certFile and minispark\.ssl\.keyFile"
        ):
            await _server(client)

    _run(main)


# ------------------------------------------------------------------------ TLS


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return Pki(tmp_path / "pki")


def _daemon(pki: Pki, label: str = "node", names: tuple[str, ...] = ("127.0.0.1", "localhost"),
            expired: bool = False) -> rpc.Security:  # fmt: skip
    return _security(*tls_conf(pki.issue(label, names, expired=expired), pki.ca))


def test_tls_client_with_only_the_ca_verifies_name_and_talks(pki: Pki) -> None:
    received: list[Any] = []

    async def main() -> None:
        server, port = await _server(_daemon(pki), received)
        for host in ("127.0.0.1", "localhost"):  # an IP SAN and a DNS SAN
            conn = await _connect(port, _security(f"minispark.ssl.caFile={pki.ca}"), host)
            await conn.ask(HB)
            conn.close()
        server.close()

    _run(main)
    assert received == [HB, HB]


@pytest.mark.parametrize(
    ("case", "client_error", "server_log"),
    # An asyncio client that rejects the server's certificate closes without a TLS alert, so
    # the server can only say when it left; the client's own error says why.
    [
        (
            "plain",
            r"refused: this port speaks TLS: pass --conf minispark\.ssl\.caFile=",
            "plain TCP",
        ),
        (
            "other CA",
            r"is not trusted .*pass --conf minispark\.ssl\.caFile=",
            "during the TLS handshake",
        ),
        ("expired", "has expired: renew", "during the TLS handshake"),
        (
            "wrong name",
            r"does not hold the name '127\.0\.0\.1' .*it holds: db\.example",
            "during the TLS handshake",
        ),
    ],
)
def test_tls_refusals_name_the_fix_and_the_server_keeps_serving(  # noqa: PLR0917
    pki: Pki, tmp_path: Path, caplog: pytest.LogCaptureFixture,
    case: str, client_error: str, server_log: str,
) -> None:  # fmt: skip
    other = Pki(tmp_path / "other", "other")
    server_security = {
        "expired": lambda: _daemon(pki, "old", expired=True),
        "wrong name": lambda: _daemon(pki, "db", ("db.example",)),
    }.get(case, lambda: _daemon(pki))()
    client = {
        "plain": rpc.Security(),
        "other CA": _security(f"minispark.ssl.caFile={other.ca}"),
    }.get(case, _security(f"minispark.ssl.caFile={pki.ca}"))

    async def main() -> None:
        server, port = await _server(server_security)
        with pytest.raises(rpc.HandshakeError, match=client_error):
            await _connect(port, client)
        await _refused(server)
        if case != "wrong name":  # the others are still served
            good = _security(f"minispark.ssl.caFile={pki.ca}")
            if case != "expired":
                await (await _connect(port, good)).ask(HB)
        server.close()

    _run(main)
    refusals = [w for w in _warnings(caplog) if "refused a connection from 127.0.0.1:" in w]
    # A name mismatch costs a second connection: the client reads the certificate's names
    # for its message.
    assert len(refusals) == (2 if case == "wrong name" else 1), refusals
    assert server_log in refusals[0], refusals


@pytest.mark.parametrize(
    ("case", "logged"),
    [
        ("other CA", "unable to get local issuer certificate"),
        ("expired", "certificate has expired"),
    ],
)
def test_a_client_certificate_that_does_not_verify_is_refused(
    pki: Pki, tmp_path: Path, caplog: pytest.LogCaptureFixture, case: str, logged: str
) -> None:
    if case == "expired":
        intruder = pki.issue("stale", expired=True)
    else:
        intruder = Pki(tmp_path / "other", "other").issue("intruder")

    def dial(port: int) -> None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.load_verify_locations(pki.ca)
        context.load_cert_chain(intruder.cert, intruder.key)
        # TLS 1.3: the server checks the client's certificate after the client's handshake
        # returns, and its alert arrives on the first read.
        with (
            socket.create_connection(("127.0.0.1", port)) as raw,
            context.wrap_socket(raw, server_hostname="127.0.0.1") as wrapped,
            pytest.raises((ssl.SSLError, ConnectionError)),
        ):
            wrapped.sendall(b"x")
            assert wrapped.recv(10) == b""
            raise ConnectionError("closed")

    async def main() -> None:
        server, port = await _server(_daemon(pki))
        await asyncio.to_thread(dial, port)
        await _refused(server)
        await (await _connect(port, _security(f"minispark.ssl.caFile={pki.ca}"))).ask(HB)
        server.close()

    _run(main)
    refusals = [w for w in _warnings(caplog) if "client certificate refused" in w]
    assert len(refusals) == 1 and logged in refusals[0], _warnings(caplog)


def test_plain_http_on_the_tls_rpc_port_gets_a_plain_answer(
    pki: Pki, caplog: pytest.LogCaptureFixture
) -> None:
    def get(port: int) -> bytes:
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            return sock.recv(4096)

    async def main() -> None:
        server, port = await _server(_daemon(pki))
        reply = await asyncio.to_thread(get, port)
        assert reply.startswith(b"HTTP/1.0 400") and b"speaks TLS" in reply
        await _refused(server)
        server.close()

    _run(main)
    assert any("plain HTTP on a TLS port" in w for w in _warnings(caplog))


def test_a_renewed_certificate_serves_new_connections_without_restart(pki: Pki) -> None:
    first = pki.issue("node")
    security = _security(*tls_conf(first, pki.ca))

    async def main() -> None:
        server, port = await _server(security)
        before = await asyncio.to_thread(_der, port)
        renewed = pki.issue("renewed")
        first.cert.write_bytes(renewed.cert.read_bytes())  # the same paths, as a role writes
        first.key.write_bytes(renewed.key.read_bytes())
        os.utime(first.cert, ns=(2, 2))
        after = await asyncio.to_thread(_der, port)
        assert before != after
        assert after == ssl.PEM_cert_to_DER_cert(renewed.cert.read_text())
        await (await _connect(port, _security(f"minispark.ssl.caFile={pki.ca}"))).ask(HB)
        server.close()

    _run(main)


def _der(port: int) -> bytes:
    context = tls.pinned_context()
    with (
        socket.create_connection(("127.0.0.1", port)) as raw,
        context.wrap_socket(raw) as wrapped,
    ):
        der = wrapped.getpeercert(binary_form=True)
    assert der is not None
    return der


# -------------------------------------------------------------------- pinning


def test_executors_pin_the_drivers_ephemeral_certificate(pki: Pki) -> None:
    cert = tlscert.make("127.0.0.1")
    executor = _daemon(pki, "worker")
    driver = _security(f"minispark.ssl.caFile={pki.ca}").serving(cert.context)

    async def main() -> None:
        server, port = await _server(driver)
        await (await _connect(port, executor.pinned(cert.fingerprint))).ask(HB)
        # The CA does not vouch for a driver: without the pin its certificate is refused.
        with pytest.raises(rpc.HandshakeError, match="not trusted"):
            await _connect(port, executor)
        with pytest.raises(rpc.HandshakeError, match="is not the driver's"):
            await _connect(port, executor.pinned("00" * 32))
        server.close()

    _run(main)


def test_blocking_client_verifies_like_the_others(pki: Pki, tmp_path: Path) -> None:
    other = Pki(tmp_path / "other", "other")

    async def main() -> None:
        server, port = await _server(_daemon(pki))

        def fetch(security: rpc.Security) -> None:
            client = rpc.BlockingClient(
                "127.0.0.1", port, security=security, role="executor", inbound=p.ToExecutor
            )
            client.close()

        await asyncio.to_thread(fetch, _security(f"minispark.ssl.caFile={pki.ca}"))
        with pytest.raises(rpc.HandshakeError, match="not trusted"):
            await asyncio.to_thread(fetch, _security(f"minispark.ssl.caFile={other.ca}"))
        server.close()

    _run(main)


def test_the_https_context_follows_a_renewed_certificate(pki: Pki) -> None:
    """The web port's server is not ours to refresh: its SNI callback does it."""
    first = pki.issue("web")
    security = _security(*tls_conf(first, pki.ca))
    assert security.web_ssl is not None

    async def main() -> None:
        server = await asyncio.start_server(
            lambda r, w: w.close(), "127.0.0.1", 0, ssl=security.web_ssl
        )
        port = server.sockets[0].getsockname()[1]
        before = await asyncio.to_thread(_der, port)
        renewed = pki.issue("web-renewed")
        first.cert.write_bytes(renewed.cert.read_bytes())
        first.key.write_bytes(renewed.key.read_bytes())
        os.utime(first.cert, ns=(3, 3))
        after = await asyncio.to_thread(_der, port)  # the first connection after the change
        assert before != after == ssl.PEM_cert_to_DER_cert(renewed.cert.read_text())
        server.close()

    _run(main)

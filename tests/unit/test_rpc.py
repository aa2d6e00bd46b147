"""The transport in one process: handshake, auth, limits, replies, failures."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from minispark import protocol as p
from minispark import rpc

HB = p.Heartbeat(worker_id="w")


async def _pair(
    server_sec: rpc.Security,
    client_sec: rpc.Security,
    handler: Any = None,
    max_frame: int = rpc.DEFAULT_MAX_FRAME,
) -> tuple[rpc.Server, rpc.Connection]:
    server = rpc.Server(
        name="t",
        inbound=p.ToMaster,
        handler=handler or (lambda c, m: None),
        security=server_sec,
        max_frame=max_frame,
    )
    port = await server.start("127.0.0.1", 0)
    conn = await rpc.connect(
        "127.0.0.1",
        port,
        inbound=p.ToWorker,
        handler=lambda c, m: None,
        security=client_sec,
        role="worker",
    )
    return server, conn


def test_ask_gets_the_handlers_reply_and_failures_raise() -> None:
    def handler(conn: rpc.Connection, message: Any) -> p.Message | None:
        if isinstance(message, p.Heartbeat):
            raise ValueError("boom")
        return None

    async def main() -> None:
        server, conn = await _pair(rpc.Security(), rpc.Security(), handler)
        assert isinstance(await conn.ask(p.UnregisterApplication(app_id="a")), p.Ack)
        with pytest.raises(rpc.RpcError, match="ValueError: boom"):
            await conn.ask(HB)
        # the connection survives a failing handler
        assert isinstance(await conn.ask(p.UnregisterApplication(app_id="b")), p.Ack)
        server.close()

    asyncio.run(main())


def test_async_handlers_reply_when_done() -> None:
    async def handler(conn: rpc.Connection, message: Any) -> p.Message:
        await asyncio.sleep(0.01)
        return p.Failure(message="later")

    async def main() -> None:
        server, conn = await _pair(rpc.Security(), rpc.Security(), handler)
        with pytest.raises(rpc.RpcError, match="later"):
            await conn.ask(HB)
        server.close()

    asyncio.run(main())


@pytest.mark.parametrize(
    ("server_secret", "client_secret", "error"),
    [
        (b"a", b"b", "no shared secret"),
        (b"a", None, "requires authentication"),
        (None, b"a", "off on the server"),
    ],
)
def test_mismatched_secrets_are_refused(
    server_secret: bytes | None, client_secret: bytes | None, error: str
) -> None:
    async def main() -> None:
        server = rpc.Server(
            name="t",
            inbound=p.ToMaster,
            handler=lambda c, m: None,
            security=rpc.Security(secret=server_secret),
        )
        port = await server.start("127.0.0.1", 0)
        with pytest.raises(rpc.HandshakeError, match=error):
            await rpc.connect(
                "127.0.0.1",
                port,
                inbound=p.ToWorker,
                handler=lambda c, m: None,
                security=rpc.Security(secret=client_secret),
                role="worker",
            )
        for _ in range(200):  # the server notices when the client walks away
            if server.refused:
                break
            await asyncio.sleep(0.01)
        assert server.refused == 1
        server.close()

    asyncio.run(main())


def test_matching_secret_connects_and_messages_flow() -> None:
    received: list[Any] = []

    async def main() -> None:
        sec = rpc.Security(secret=b"s")
        server, conn = await _pair(sec, sec, lambda c, m: received.append(m))
        conn.send(HB)
        await conn.ask(p.UnregisterApplication(app_id="x"))
        server.close()

    asyncio.run(main())
    assert received[0] == HB


def test_oversized_frame_closes_only_that_connection() -> None:
    async def main() -> None:
        server, conn = await _pair(rpc.Security(), rpc.Security(), max_frame=1024)
        big = p.RegisterApplication(
            app=p.ApplicationDescription(
                name="x" * 4096, user="u", driver_url="h:1", memory_per_executor_mb=1
            )
        )
        with pytest.raises(rpc.ConnectionClosed):
            await conn.ask(big, timeout=10)
        other = await rpc.connect(
            "127.0.0.1",
            server_port(server),
            inbound=p.ToWorker,
            handler=lambda c, m: None,
            security=rpc.Security(),
            role="w",
        )
        assert isinstance(await other.ask(p.UnregisterApplication(app_id="a")), p.Ack)
        server.close()

    asyncio.run(main())


def server_port(server: rpc.Server) -> int:
    assert server._server is not None
    return int(server._server.sockets[0].getsockname()[1])


def test_close_fails_pending_asks() -> None:
    async def never(conn: rpc.Connection, message: Any) -> None:
        await asyncio.sleep(3600)

    async def main() -> None:
        server, conn = await _pair(rpc.Security(), rpc.Security(), never)
        pending = asyncio.ensure_future(conn.ask(HB, timeout=60))
        await asyncio.sleep(0.05)
        server.close()
        with pytest.raises(rpc.ConnectionClosed):
            await pending

    asyncio.run(main())

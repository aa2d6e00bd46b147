"""The web ports' listener: HTTP, or HTTPS that turns plain HTTP away with one logged line.

aiohttp's own site hands the socket to asyncio's TLS layer, which drops a plain-HTTP client
without a word in any log. So we accept plain TCP ourselves, peek at the first byte (every
TLS connection opens with a handshake record, 0x16) and only then give the socket to asyncio
with or without TLS, with aiohttp's protocol on top. The peek leaves the byte in the kernel,
so the TLS layer still reads the whole ClientHello.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import time
from collections.abc import Callable, Coroutine
from contextlib import suppress
from typing import Any

from . import tls

log = logging.getLogger(__name__)

TLS_HANDSHAKE_RECORD = 0x16
FIRST_BYTES_TIMEOUT_S = 30.0  # a client that connects and says nothing is dropped after this
TLS_HANDSHAKE_TIMEOUT_S = 30.0
REFUSAL_WINDOW_S = 60.0


class RefusalLog:
    """One log line per peer and reason per window, so a scanner cannot flood the log."""

    def __init__(
        self, window_s: float = REFUSAL_WINDOW_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._window = window_s
        self._clock = clock
        self._last: dict[tuple[str, str], float] = {}
        self._quiet: dict[tuple[str, str], int] = {}

    def refused(self, peer: str, reason: str, detail: str = "") -> bool:
        """Log ``peer`` refused for ``reason`` unless already said lately; True if logged."""
        host = peer.rpartition(":")[0] or peer
        key = (host, reason)
        now = self._clock()
        last = self._last.get(key)
        if last is not None and now - last < self._window:
            self._quiet[key] = self._quiet.get(key, 0) + 1
            return False
        if len(self._last) > 10_000:  # many peers: forget the old ones rather than grow
            self._last = {k: t for k, t in self._last.items() if now - t < self._window}
            self._quiet = {k: n for k, n in self._quiet.items() if k in self._last}
        self._last[key] = now
        quiet = self._quiet.pop(key, 0)
        more = f" ({quiet} more from {host} not logged)" if quiet else ""
        log.warning("web port refused %s: %s%s%s", peer, reason, detail, more)
        return True


def peer_name(address: object) -> str:
    if isinstance(address, tuple) and len(address) >= 2:
        return f"{address[0]}:{address[1]}"
    return str(address or "unknown peer")


class WebPort:
    """Accepts connections on one socket for a protocol factory (aiohttp's server)."""

    def __init__(
        self,
        factory: Callable[[], asyncio.Protocol],
        ssl_context: ssl.SSLContext | None,
        refusals: RefusalLog,
    ) -> None:
        self._factory = factory
        self._ssl = ssl_context
        self._refusals = refusals
        self._sock: socket.socket | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, host: str, port: int) -> int:
        """Listen and return the bound port (``port`` may be 0)."""
        self._sock = socket.create_server((host, port), backlog=128)
        self._sock.setblocking(False)
        self._spawn(self._accept_loop(self._sock))
        return int(self._sock.getsockname()[1])

    async def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _accept_loop(self, listener: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                sock, address = await loop.sock_accept(listener)
            except OSError as exc:
                if listener.fileno() < 0:
                    return  # closed by close()
                # Out of file descriptors and the like: say so and give the system a moment,
                # rather than spin on accept or stop serving.
                log.warning("web port cannot accept a connection: %s", exc)
                await asyncio.sleep(0.5)
                continue
            self._spawn(self._connect(sock, peer_name(address)))

    async def _connect(self, sock: socket.socket, peer: str) -> None:
        loop = asyncio.get_running_loop()
        try:
            if self._ssl is None:
                await loop.connect_accepted_socket(self._factory, sock)
                return
            first = await _peek(sock)
            if not first:
                sock.close()  # connected and left (a TCP probe): nothing to say
            elif first[0] != TLS_HANDSHAKE_RECORD:
                await self._refuse_plain(sock, peer)
            else:
                await loop.connect_accepted_socket(
                    self._factory,
                    sock,
                    ssl=self._ssl,
                    ssl_handshake_timeout=TLS_HANDSHAKE_TIMEOUT_S,
                )
        except OSError as exc:  # TimeoutError and ssl.SSLError are OSErrors
            sock.close()
            if isinstance(exc, ssl.SSLError):  # worded as the RPC ports word it
                self._refusals.refused(peer, tls.refusal(exc))
                return
            if isinstance(exc, TimeoutError):
                reason = "no TLS handshake in time"
            else:
                reason = "TLS handshake failed" if self._ssl else "connection failed"
            self._refusals.refused(peer, reason, f" ({_describe(exc)})")

    async def _refuse_plain(self, sock: socket.socket, peer: str) -> None:
        loop = asyncio.get_running_loop()
        data = sock.recv(4096)
        first_line = data.split(b"\r\n", 1)[0][:100].decode("ascii", "replace")
        host = _header(data, b"host")[:255] or "this-host"
        if first_line.split(" ")[-1].startswith("HTTP/"):
            reason, text = "plain HTTP on the HTTPS port", f"use https://{host}/\n"
            self._refusals.refused(peer, reason, f" ({first_line!r})")
            reply = (
                "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
                f"Connection: close\r\nContent-Length: {len(text)}\r\n\r\n{text}"
            )
            with suppress(OSError):
                await loop.sock_sendall(sock, reply.encode())
        else:
            self._refusals.refused(peer, "neither TLS nor HTTP on the HTTPS port")
        sock.close()


async def _peek(sock: socket.socket) -> bytes:
    """The first byte the client sent, left in the socket; b"" if it closed."""
    loop = asyncio.get_running_loop()
    readable: asyncio.Future[None] = loop.create_future()

    def ready() -> None:
        if not readable.done():
            readable.set_result(None)

    loop.add_reader(sock.fileno(), ready)
    try:
        await asyncio.wait_for(readable, FIRST_BYTES_TIMEOUT_S)
    finally:
        loop.remove_reader(sock.fileno())
    return sock.recv(1, socket.MSG_PEEK)


def _header(request: bytes, name: bytes) -> str:
    for line in request.split(b"\r\n")[1:]:
        key, sep, value = line.partition(b":")
        if sep and key.strip().lower() == name:
            return "".join(c for c in value.strip().decode("ascii", "replace") if c.isprintable())
    return ""


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ConnectionError):
        # What a client that rejects our certificate looks like from here under TLS 1.3.
        return "the peer hung up during the handshake: does it trust our CA?"
    return str(exc) or type(exc).__name__

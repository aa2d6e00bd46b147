"""Framed, authenticated request/reply messaging over TCP (optionally TLS).

A frame is a 4-byte big-endian length and a msgpack body ``[kind, request_id, message]``.
Every connection opens with a handshake: the client says ``Hello`` (protocol name and
version), the server answers ``Challenge`` with a nonce, and when ``spark.authenticate`` is
on both sides prove they hold the shared secret with an HMAC over both nonces, so the
secret never crosses the wire and neither side can be replayed. Anything that is not a
well-formed frame of the endpoint's message union closes that one connection with a logged
reason; the daemon keeps serving everyone else.

Writes go straight to the transport (asyncio flushes at once when the socket is idle and
buffers while a write is in flight), so a message never waits for a batching timer.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import inspect
import logging
import os
import socket
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import msgspec

from .conf import Conf
from .protocol import (
    PROTOCOL_VERSION,
    Ack,
    Challenge,
    Failure,
    Handshake,
    Hello,
    Message,
    Proof,
    Refused,
    Welcome,
)

log = logging.getLogger("minispark.rpc")

ONE_WAY, REQUEST, REPLY = 0, 1, 2
HEADER_BYTES = 4
# The links that read no configuration of their own use the table's default, kept once there.
DEFAULT_MAX_FRAME = Conf().get_bytes("minispark.rpc.maxFrameSize")
HANDSHAKE_TIMEOUT_S = 10.0
PROTOCOL_NAME = "minispark"

Handler = Callable[["Connection", Any], Any]
CloseCallback = Callable[["Connection"], None]


class RpcError(Exception):
    """The peer answered a request with a failure."""


class ConnectionClosed(ConnectionError):
    """The connection is gone; what was in flight will not be answered."""


class MalformedFrame(ValueError):
    """Bytes that are not a message this endpoint accepts."""


class HandshakeError(ConnectionError):
    """The peer is not a minispark process of our version, or the secret does not match."""


@dataclass(frozen=True)
class Security:
    """How connections prove who they are: a shared secret and/or TLS contexts."""

    secret: bytes | None = None
    server_ssl: ssl.SSLContext | None = None
    client_ssl: ssl.SSLContext | None = None
    web_ssl: ssl.SSLContext | None = None  # HTTPS: our certificate, none asked of browsers


def web_tls_context(cert: str, key: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def tls_contexts(cert: str, key: str, ca: str | None) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """RPC server and client contexts from PEM files.

    With a CA file both sides verify the peer's certificate against it (mutual TLS: every
    cluster member holds a certificate from the same CA). Host names are not checked because
    cluster members are often addressed by IP; the CA is the trust anchor.
    """
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert, key)
    client = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    client.check_hostname = False
    client.load_cert_chain(cert, key)
    if ca:
        server.load_verify_locations(ca)
        server.verify_mode = ssl.CERT_REQUIRED
        client.load_verify_locations(ca)
    else:
        client.verify_mode = ssl.CERT_NONE
    return server, client


def _mac(secret: bytes | None, first: bytes, second: bytes) -> bytes:
    if secret is None:
        return b""
    return hmac.new(secret, first + second, hashlib.sha256).digest()


_encoder = msgspec.msgpack.Encoder()
_handshake_decoder = msgspec.msgpack.Decoder(tuple[int, int, Handshake])


def decode(decoder: msgspec.msgpack.Decoder[Any], body: bytes) -> Any:
    """Decode one frame body; every way untrusted bytes can be wrong becomes MalformedFrame.

    msgspec raises DecodeError or ValidationError, and UnicodeDecodeError for invalid UTF-8
    inside a string (found by the property tests), so all three are caught here, once.
    """
    try:
        return decoder.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError) as exc:
        raise MalformedFrame(str(exc)) from exc


def _frame(kind: int, request_id: int, message: Message) -> bytes:
    body = _encoder.encode((kind, request_id, message))
    return len(body).to_bytes(HEADER_BYTES, "big") + body


async def _read_frame(reader: asyncio.StreamReader, max_frame: int) -> bytes:
    header = await reader.readexactly(HEADER_BYTES)
    size = int.from_bytes(header, "big")
    if size > max_frame:
        raise ValueError(f"frame of {size} bytes exceeds the limit of {max_frame} bytes")
    return await reader.readexactly(size)


async def _read_handshake(reader: asyncio.StreamReader) -> Message:
    # Handshake frames are tiny; a peer that announces a big one is not one of ours.
    _, _, message = decode(_handshake_decoder, await _read_frame(reader, 4096))
    assert isinstance(message, Message)
    return message


class Connection:
    """One authenticated link. ``send`` is fire-and-forget, ``ask`` awaits the reply."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        decoder: msgspec.msgpack.Decoder[Any],
        handler: Handler,
        peer_role: str,
        max_frame: int,
        on_close: CloseCallback | None = None,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._decoder = decoder
        self.handler = handler
        self.peer_role = peer_role
        self._max_frame = max_frame
        self._on_close = on_close
        self._pending: dict[int, asyncio.Future[Message]] = {}
        self._next_id = 1
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False
        self.closed_event = asyncio.Event()
        peer = writer.get_extra_info("peername") or ("?", 0)
        self.peer_host: str = str(peer[0])
        self.peer_port: int = int(peer[1])
        self.attachment: object = None  # what the endpoint knows this link as (a worker, an app)

    def __repr__(self) -> str:
        return f"<Connection {self.peer_role}@{self.peer_host}:{self.peer_port}>"

    @property
    def is_closed(self) -> bool:
        """True once no frame can be sent: closed here, or the transport already closing
        (the peer went away and the reader has not seen the end of the stream yet)."""
        return self._closed or self._writer.is_closing()

    def send(self, message: Message) -> None:
        self._write(ONE_WAY, 0, message)

    async def ask(self, message: Message, timeout: float = 10.0) -> Message:
        """Send a request and wait for its reply; a ``Failure`` reply raises ``RpcError``."""
        request_id = self._next_id
        self._next_id += 1
        future: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        try:
            self._write(REQUEST, request_id, message)
            # Awaited directly (not through wait_for's extra waiter), so that the asker
            # resumes within the one yield run() makes after handing it the reply.
            async with asyncio.timeout(timeout):
                reply = await future
        finally:
            self._pending.pop(request_id, None)
        if isinstance(reply, Failure):
            raise RpcError(reply.message)
        return reply

    async def drain(self) -> None:
        """Wait while the transport's buffer is above its high-water mark (backpressure)."""
        if not self._closed:
            with contextlib.suppress(ConnectionError):
                await self._writer.drain()

    def _write(self, kind: int, request_id: int, message: Message) -> None:
        if self._closed or self._writer.is_closing():
            raise ConnectionClosed(f"{self!r} is closed")
        self._writer.write(_frame(kind, request_id, message))

    def close(self, reason: str = "") -> None:
        if self._closed:
            return
        self._closed = True
        if reason:
            log.info("closing %r: %s", self, reason)
        self._writer.close()
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ConnectionClosed(f"{self!r} closed"))
        self._pending.clear()
        self.closed_event.set()
        if self._on_close is not None:
            try:
                self._on_close(self)
            except Exception:
                log.exception("close callback for %r failed", self)

    async def run(self) -> None:
        """Read frames until the peer goes away or sends something we cannot accept."""
        reason = "peer closed the connection"
        try:
            while True:
                body = await _read_frame(self._reader, self._max_frame)
                kind, request_id, message = decode(self._decoder, body)
                self._dispatch(kind, request_id, message)
                if kind == REPLY:
                    # Let the asker act on its reply before the next frame is handled: a
                    # master sends LaunchExecutor right after RegisteredWorker, and a worker
                    # that has not taken in the reply yet would drop it as not its leader's.
                    await asyncio.sleep(0)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        except ValueError as exc:  # MalformedFrame, or a frame over the size limit
            reason = f"refused malformed frame ({exc})"
            log.warning("%r sent a malformed frame: %s", self, exc)
        except asyncio.CancelledError:
            reason = "shutting down"
        finally:
            self.close(reason if reason != "peer closed the connection" else "")

    def _dispatch(self, kind: int, request_id: int, message: Message) -> None:
        if kind == REPLY:
            future = self._pending.get(request_id)
            if future is not None and not future.done():
                future.set_result(message)
            return
        try:
            result = self.handler(self, message)
        except Exception as exc:
            log.exception("handling %s from %r failed", type(message).__name__, self)
            result = Failure(message=f"{type(exc).__name__}: {exc}")
        if inspect.isawaitable(result):
            task = asyncio.ensure_future(self._finish(kind, request_id, result))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        elif kind == REQUEST:
            self._reply(request_id, result)

    async def _finish(self, kind: int, request_id: int, pending: Awaitable[Any]) -> None:
        try:
            result = await pending
        except Exception as exc:
            log.exception("handler on %r failed", self)
            result = Failure(message=f"{type(exc).__name__}: {exc}")
        if kind == REQUEST:
            self._reply(request_id, result)

    def _reply(self, request_id: int, result: Any) -> None:
        reply = result if isinstance(result, Message) else Ack()
        with contextlib.suppress(ConnectionClosed):
            self._write(REPLY, request_id, reply)


def _decoder_for(inbound: Any) -> msgspec.msgpack.Decoder[Any]:
    return msgspec.msgpack.Decoder(tuple[int, int, inbound])


class Server:
    """Accepts connections for one endpoint (master, worker, driver)."""

    def __init__(
        self,
        *,
        name: str,
        inbound: Any,
        handler: Handler,
        security: Security,
        on_close: CloseCallback | None = None,
        max_frame: int = DEFAULT_MAX_FRAME,
    ) -> None:
        self.name = name
        self._decoder = _decoder_for(inbound)
        self._handler = handler
        self._security = security
        self._on_close = on_close
        self._max_frame = max_frame
        self._server: asyncio.Server | None = None
        self.connections: set[Connection] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.refused = 0  # connections turned away at the handshake or for bad frames

    async def start(self, host: str, port: int) -> int:
        """Listen and return the bound port (useful when ``port`` is 0)."""
        self._server = await asyncio.start_server(
            self._accept, host, port, ssl=self._security.server_ssl
        )
        sockets = self._server.sockets
        return int(sockets[0].getsockname()[1])

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for conn in list(self.connections):
            conn.close("server stopping")

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        try:
            role = await asyncio.wait_for(
                _server_handshake(reader, writer, self._security.secret), HANDSHAKE_TIMEOUT_S
            )
        except (
            HandshakeError,
            TimeoutError,
            ValueError,
            asyncio.IncompleteReadError,
            ConnectionError,
        ) as exc:
            self.refused += 1
            log.warning("%s refused a connection from %s: %s", self.name, peer, _describe(exc))
            writer.close()
            return
        conn = Connection(
            reader,
            writer,
            decoder=self._decoder,
            handler=self._handler,
            peer_role=role,
            max_frame=self._max_frame,
            on_close=self._closed,
        )
        self.connections.add(conn)
        await conn.run()

    def _closed(self, conn: Connection) -> None:
        self.connections.discard(conn)
        if self._on_close is not None:
            self._on_close(conn)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "no handshake within the time limit"
    if isinstance(exc, asyncio.IncompleteReadError):
        return "connection closed during the handshake"
    return f"{type(exc).__name__}: {exc}" if not isinstance(exc, HandshakeError) else str(exc)


async def _server_handshake(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, secret: bytes | None
) -> str:
    hello = await _read_handshake(reader)
    if not isinstance(hello, Hello) or hello.protocol != PROTOCOL_NAME:
        raise HandshakeError("not a minispark handshake")
    if hello.version != PROTOCOL_VERSION:
        reason = f"protocol version {hello.version} is not supported (this is {PROTOCOL_VERSION})"
        writer.write(_frame(ONE_WAY, 0, Refused(reason=reason)))
        raise HandshakeError(reason)
    nonce = os.urandom(16)
    writer.write(
        _frame(ONE_WAY, 0, Challenge(version=PROTOCOL_VERSION, nonce=nonce, auth=bool(secret)))
    )
    proof = await _read_handshake(reader)
    if not isinstance(proof, Proof):
        raise HandshakeError("expected a proof after the challenge")
    if secret is not None and not hmac.compare_digest(proof.mac, _mac(secret, nonce, hello.nonce)):
        writer.write(_frame(ONE_WAY, 0, Refused(reason="authentication failed")))
        raise HandshakeError(f"authentication failed for a {hello.role or 'peer'}: wrong secret")
    writer.write(_frame(ONE_WAY, 0, Welcome(mac=_mac(secret, hello.nonce, nonce))))
    return hello.role


def _hello(role: str) -> Hello:
    return Hello(protocol=PROTOCOL_NAME, version=PROTOCOL_VERSION, role=role, nonce=os.urandom(16))


def _answer_challenge(challenge: Message, hello: Hello, secret: bytes | None) -> Proof:
    """The client's side of the handshake, free of I/O so both clients share it."""
    if isinstance(challenge, Refused):
        raise HandshakeError(f"refused: {challenge.reason}")
    if not isinstance(challenge, Challenge):
        raise HandshakeError("the server did not answer with a challenge")
    if challenge.auth and secret is None:
        raise HandshakeError(
            "the server requires authentication: set spark.authenticate=true and the same "
            "spark.authenticate.secret"
        )
    if not challenge.auth and secret is not None:
        raise HandshakeError(
            "spark.authenticate is on here but off on the server: set it on both sides"
        )
    return Proof(mac=_mac(secret, challenge.nonce, hello.nonce))


def _check_welcome(
    welcome: Message, hello: Hello, proof_nonce: bytes, secret: bytes | None
) -> None:
    if isinstance(welcome, Refused):
        raise HandshakeError(f"refused: {welcome.reason}")
    expected = _mac(secret, hello.nonce, proof_nonce)
    if not isinstance(welcome, Welcome) or not hmac.compare_digest(welcome.mac, expected):
        raise HandshakeError("the server could not prove it holds the shared secret")


async def _client_handshake(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, secret: bytes | None, role: str
) -> None:
    hello = _hello(role)
    writer.write(_frame(ONE_WAY, 0, hello))
    challenge = await _read_handshake(reader)
    writer.write(_frame(ONE_WAY, 0, _answer_challenge(challenge, hello, secret)))
    assert isinstance(challenge, Challenge)
    _check_welcome(await _read_handshake(reader), hello, challenge.nonce, secret)


async def connect(
    host: str,
    port: int,
    *,
    inbound: Any,
    handler: Handler,
    security: Security,
    role: str,
    on_close: CloseCallback | None = None,
    timeout: float = 5.0,
    max_frame: int = DEFAULT_MAX_FRAME,
) -> Connection:
    """Open, handshake and start reading; the returned connection is ready to use."""
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection(host, port, ssl=security.client_ssl), timeout
    )
    try:
        await asyncio.wait_for(_client_handshake(reader, writer, security.secret, role), timeout)
    except BaseException:
        writer.close()
        raise
    conn = Connection(
        reader,
        writer,
        decoder=_decoder_for(inbound),
        handler=handler,
        peer_role="server",
        max_frame=max_frame,
        on_close=on_close,
    )
    task = asyncio.ensure_future(conn.run())
    _background.add(task)
    task.add_done_callback(_background.discard)
    return conn


_background: set[asyncio.Task[None]] = set()


class BlockingClient:
    """A synchronous client for processes without an event loop (task processes fetching
    shuffle blocks). Same frames, same handshake; one request at a time."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        security: Security,
        role: str,
        inbound: Any,
        timeout: float = 30.0,
    ) -> None:
        sock = socket.create_connection((host, port), timeout=timeout)
        if security.client_ssl is not None:
            sock = security.client_ssl.wrap_socket(sock)
        self._sock = sock
        self._decoder = _decoder_for(inbound)
        self._next_id = 1
        try:
            self._handshake(security.secret, role)
        except BaseException:
            sock.close()
            raise

    def _read(self, decoder: msgspec.msgpack.Decoder[Any], limit: int) -> Any:
        header = self._recv(HEADER_BYTES)
        size = int.from_bytes(header, "big")
        if size > limit:
            raise MalformedFrame(f"frame of {size} bytes exceeds the limit of {limit} bytes")
        return decode(decoder, self._recv(size))

    def _recv(self, size: int) -> bytes:
        chunks, remaining = [], size
        while remaining:
            chunk = self._sock.recv(min(remaining, 1 << 20))
            if not chunk:
                raise ConnectionClosed("the server closed the connection")
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)

    def _handshake(self, secret: bytes | None, role: str) -> None:
        hello = _hello(role)
        self._sock.sendall(_frame(ONE_WAY, 0, hello))
        _, _, challenge = self._read(_handshake_decoder, 4096)
        self._sock.sendall(_frame(ONE_WAY, 0, _answer_challenge(challenge, hello, secret)))
        _, _, welcome = self._read(_handshake_decoder, 4096)
        _check_welcome(welcome, hello, challenge.nonce, secret)

    def ask(self, message: Message) -> Message:
        request_id = self._next_id
        self._next_id += 1
        self._sock.sendall(_frame(REQUEST, request_id, message))
        while True:
            kind, reply_to, reply = self._read(self._decoder, DEFAULT_MAX_FRAME)
            if kind == REPLY and reply_to == request_id:
                break
        if isinstance(reply, Failure):
            raise RpcError(reply.message)
        assert isinstance(reply, Message)
        return reply

    def close(self) -> None:
        self._sock.close()

"""Framed, authenticated request/reply messaging over TCP (optionally TLS).

A frame is a 4-byte big-endian length and a msgpack body ``[kind, request_id, message]``.
Every connection opens with a handshake (:mod:`minispark.handshake`): with
``spark.authenticate`` on, both sides prove they hold a shared secret of their keyrings.
With TLS, the server accepts plain TCP and does the TLS handshake itself, so that every
refusal (plain TCP or HTTP on a TLS port, a certificate that does not verify, a wrong or
unknown secret) is one warning line naming the peer and the reason, and a plain minispark
client is told in its own framing which file to pass. Anything that is not a well-formed
frame of the endpoint's message union closes that one connection with a logged reason; the
daemon keeps serving everyone else.

Writes go straight to the transport (asyncio flushes at once when the socket is idle and
buffers while a write is in flight), so a message never waits for a batching timer.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import inspect
import logging
import os
import socket
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import msgspec

from . import tls
from .conf import Conf, ConfError
from .handshake import HandshakeError, Refusal
from .handshake import answer as _answer
from .handshake import challenge as _challenge
from .handshake import check_proof as _check_proof
from .handshake import check_welcome as _check_welcome
from .handshake import hello as _hello
from .keyring import Keyring
from .protocol import Ack, Challenge, Failure, Handshake, Hello, Message, Refused

log = logging.getLogger("minispark.rpc")

ONE_WAY, REQUEST, REPLY = 0, 1, 2
HEADER_BYTES = 4
# The links that read no configuration of their own use the table's default, kept once there.
DEFAULT_MAX_FRAME = Conf().get_bytes("minispark.rpc.maxFrameSize")
HANDSHAKE_TIMEOUT_S = 10.0
TLS_PORT = f"this port speaks TLS: {tls.CA_HINT}"
_HTTP_ON_TLS = (
    b"HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n"
    b"This is a minispark RPC port and it speaks TLS.\n"
)

# HandshakeError is raised to rpc's callers, who know it by this module.
__all__ = [
    "BlockingClient",
    "Connection",
    "ConnectionClosed",
    "HandshakeError",
    "MalformedFrame",
    "RpcError",
    "Security",
    "Server",
    "connect",
    "decode",
]

Handler = Callable[["Connection", Any], Any]
CloseCallback = Callable[["Connection"], None]


class RpcError(Exception):
    """The peer answered a request with a failure."""


class ConnectionClosed(ConnectionError):
    """The connection is gone; what was in flight will not be answered."""


class MalformedFrame(ValueError):
    """Bytes that are not a message this endpoint accepts."""


@dataclass(frozen=True)
class Security:
    """How connections prove who they are: a keyring of shared secrets and/or TLS contexts.

    ``client_ssl`` verifies servers against the cluster's CA and the dialled host name;
    ``pin``, when set, replaces that check by the SHA-256 of the server's certificate (an
    executor's link to its driver). ``files`` are loaded again into the contexts when they
    change. ``secret`` is shorthand for a keyring of that one secret.
    """

    keyring: Keyring | None = None
    server_ssl: ssl.SSLContext | None = None
    client_ssl: ssl.SSLContext | None = None
    web_ssl: ssl.SSLContext | None = None  # HTTPS: our certificate, none asked of browsers
    files: tls.CertFiles | None = None
    pin: str | None = None
    secret: dataclasses.InitVar[bytes | None] = None

    def __post_init__(self, secret: bytes | None) -> None:
        if secret is not None and self.keyring is None:
            object.__setattr__(self, "keyring", Keyring.of(secret))

    @property
    def tls(self) -> bool:
        return self.client_ssl is not None

    def serving(self, server_ssl: ssl.SSLContext) -> Security:
        """The same links, with this context for our own server (a driver's ephemeral one)."""
        return dataclasses.replace(self, server_ssl=server_ssl)

    def pinned(self, fingerprint: str) -> Security:
        """For links to a server known by its certificate's SHA-256 rather than by the CA."""
        return dataclasses.replace(self, client_ssl=tls.pinned_context(), pin=fingerprint)

    def refresh(self) -> None:
        if self.files is not None:
            self.files.refresh()


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
    header = await reader.readexactly(HEADER_BYTES)
    if header[:2] == b"\x16\x03":  # a TLS record: handshake, version 3.x
        raise HandshakeError("a TLS client on a port without TLS (TLS is off here)")
    # Handshake frames are tiny; a peer that announces a big one is not one of ours.
    size = int.from_bytes(header, "big")
    if size > 4096:
        raise ValueError(f"frame of {size} bytes exceeds the limit of 4096 bytes")
    _, _, message = decode(_handshake_decoder, await reader.readexactly(size))
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
        if self._security.tls and self._security.server_ssl is None:
            raise ConfError(
                f"TLS is on but this {self.name} has no certificate: set minispark.ssl.certFile "
                "and minispark.ssl.keyFile to its PEM files"
            )
        # Plain TCP even with TLS: _accept does the TLS handshake, to name each refusal.
        self._server = await asyncio.start_server(self._accept, host, port)
        sockets = self._server.sockets
        return int(sockets[0].getsockname()[1])

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for conn in list(self.connections):
            conn.close("server stopping")

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = _peer_name(writer)
        try:
            async with asyncio.timeout(HANDSHAKE_TIMEOUT_S):
                if self._security.server_ssl is not None:
                    # Before any await: nothing may read the client's first bytes but TLS.
                    self._security.refresh()
                    await _start_tls(writer, self._security.server_ssl)
                role = await _server_handshake(reader, writer, self._security.keyring)
        except ssl.SSLError as exc:
            self._refuse(writer, peer, tls.refusal(exc))
            return
        except (
            HandshakeError,
            TimeoutError,
            ValueError,
            asyncio.IncompleteReadError,
            ConnectionError,
        ) as exc:
            self._refuse(writer, peer, _describe(exc))
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

    def _refuse(self, writer: asyncio.StreamWriter, peer: str, reason: str) -> None:
        self.refused += 1
        log.warning("%s refused a connection from %s: %s", self.name, peer, reason)
        writer.close()

    def _closed(self, conn: Connection) -> None:
        self.connections.discard(conn)
        if self._on_close is not None:
            self._on_close(conn)


def _peer_name(writer: asyncio.StreamWriter) -> str:
    peer = writer.get_extra_info("peername")
    return f"{peer[0]}:{peer[1]}" if peer else "an unknown peer"


async def _start_tls(writer: asyncio.StreamWriter, context: ssl.SSLContext) -> None:
    """The server's TLS handshake on an accepted plain connection. A client that speaks
    plain TCP or HTTP gets a plain answer saying so (written through a duplicate of the
    socket, which outlives the transport that the failed handshake closes)."""
    raw = writer.get_extra_info("socket")
    spare = socket.socket(fileno=os.dup(raw.fileno()))
    try:
        await writer.start_tls(context)
    except ssl.SSLError as exc:
        reason = getattr(exc, "reason", None)
        answer = {
            "WRONG_VERSION_NUMBER": _frame(ONE_WAY, 0, Refused(reason=TLS_PORT)),
            "HTTP_REQUEST": _HTTP_ON_TLS,
        }.get(reason or "")
        if answer is not None:
            with contextlib.suppress(OSError):
                spare.send(answer)  # small, into an empty socket buffer: never blocks
        raise
    except ConnectionError:
        # asyncio clients close without an alert when they reject our certificate.
        raise HandshakeError(
            "the client closed the connection during the TLS handshake (if it rejected our "
            "certificate, it says why: an untrusted CA or a name it did not dial)"
        ) from None
    finally:
        spare.close()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "no handshake within the time limit"
    if isinstance(exc, HandshakeError):
        return str(exc)
    if isinstance(exc, asyncio.IncompleteReadError | ConnectionError):
        return "connection closed during the handshake"
    return f"{type(exc).__name__}: {exc}"


async def _server_handshake(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, keyring: Keyring | None
) -> str:
    greeting = await _read_handshake(reader)
    try:
        sent, secret = _challenge(greeting, keyring)
        writer.write(_frame(ONE_WAY, 0, sent))
        assert isinstance(greeting, Hello)
        try:
            proof = await _read_handshake(reader)
        except asyncio.IncompleteReadError:
            if sent.auth:
                raise HandshakeError(
                    f"a {greeting.role or 'peer'} left after the challenge without proving a "
                    "secret (it has none configured?)"
                ) from None
            raise
        writer.write(_frame(ONE_WAY, 0, _check_proof(proof, greeting, sent, secret)))
    except Refusal as refusal:
        writer.write(_frame(ONE_WAY, 0, Refused(reason=refusal.told)))
        raise
    return greeting.role


async def _client_handshake(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    keyring: Keyring | None,
    role: str,
    address: str,
) -> None:
    sent = _hello(role, keyring)
    writer.write(_frame(ONE_WAY, 0, sent))
    theirs = await _read_handshake(reader)
    proof, secret = _answer(theirs, sent, keyring, address)
    writer.write(_frame(ONE_WAY, 0, proof))
    assert isinstance(theirs, Challenge)
    _check_welcome(await _read_handshake(reader), sent, theirs, secret, address)


async def _open(
    host: str, port: int, security: Security
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    context = security.client_ssl
    if context is None:
        return await asyncio.open_connection(host, port)
    security.refresh()
    try:
        reader, writer = await asyncio.open_connection(
            host, port, ssl=context, server_hostname=host
        )
    except ssl.SSLError as exc:
        # Off the loop: explaining a name mismatch reads the certificate over a new socket.
        raise HandshakeError(await asyncio.to_thread(tls.client_error, exc, host, port)) from None
    if security.pin is not None:
        ssl_object = writer.get_extra_info("ssl_object")
        try:
            tls.check_pin(ssl_object.getpeercert(binary_form=True), security.pin, f"{host}:{port}")
        except ssl.SSLError as exc:
            writer.close()
            raise HandshakeError(str(exc.args[0])) from None
    return reader, writer


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
    reader, writer = await asyncio.wait_for(_open(host, port, security), timeout)
    try:
        await asyncio.wait_for(
            _client_handshake(reader, writer, security.keyring, role, f"{host}:{port}"), timeout
        )
    except asyncio.IncompleteReadError:
        writer.close()
        raise HandshakeError(_closed_early(host, port, security)) from None
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


def _closed_early(host: str, port: int, security: Security) -> str:
    hint = "" if security.tls else f" (if it speaks TLS, {tls.CA_HINT})"
    return f"{host}:{port} closed the connection during the handshake{hint}"


_background: set[asyncio.Task[None]] = set()


class BlockingClient:
    """A synchronous client for processes without an event loop (task processes fetching
    shuffle blocks). Same frames, same handshake, same checks; one request at a time."""

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
        self._address = f"{host}:{port}"
        sock = socket.create_connection((host, port), timeout=timeout)
        try:
            if security.client_ssl is not None:
                security.refresh()
                try:
                    sock = security.client_ssl.wrap_socket(sock, server_hostname=host)
                except ssl.SSLError as exc:
                    raise HandshakeError(tls.client_error(exc, host, port)) from None
                if security.pin is not None:
                    der = sock.getpeercert(binary_form=True)
                    try:
                        tls.check_pin(der, security.pin, self._address)
                    except ssl.SSLError as exc:
                        raise HandshakeError(str(exc.args[0])) from None
            self._sock = sock
            self._decoder = _decoder_for(inbound)
            self._next_id = 1
            self._handshake(security.keyring, role)
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
                raise ConnectionClosed(f"{self._address} closed the connection")
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)

    def _handshake(self, keyring: Keyring | None, role: str) -> None:
        sent = _hello(role, keyring)
        self._sock.sendall(_frame(ONE_WAY, 0, sent))
        _, _, theirs = self._read(_handshake_decoder, 4096)
        proof, secret = _answer(theirs, sent, keyring, self._address)
        self._sock.sendall(_frame(ONE_WAY, 0, proof))
        _, _, welcome = self._read(_handshake_decoder, 4096)
        _check_welcome(welcome, sent, theirs, secret, self._address)

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

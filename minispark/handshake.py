"""The opening of every RPC connection, free of I/O so the asyncio and blocking clients share it.

The client says ``Hello`` with a nonce and the ids of the secrets it accepts; the server picks
its first secret whose id the client holds (so during a rotation, where one side has
"new, old" and the other "old", both settle on "old") and answers ``Challenge`` naming it,
with its own nonce. Each side then proves it holds that secret with an HMAC over both nonces,
so no secret crosses the wire and neither side can be replayed. The server reads its keyring
on every handshake (the keyring re-reads a changed file), so a rotation needs no restart.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from .keyring import Keyring, key_id
from .protocol import PROTOCOL_VERSION, Challenge, Hello, Message, Proof, Refused, Welcome

PROTOCOL_NAME = "minispark"
SECRET_HINT = "pass --conf spark.authenticate.secret.file=<path to minispark.secret>"


class HandshakeError(ConnectionError):
    """The peer is not a minispark process of our version, or the secrets do not match."""


def mac(secret: bytes | None, first: bytes, second: bytes) -> bytes:
    if secret is None:
        return b""
    return hmac.new(secret, first + second, hashlib.sha256).digest()


def hello(role: str, keyring: Keyring | None) -> Hello:
    ids = keyring.ids() if keyring is not None else []
    return Hello(
        protocol=PROTOCOL_NAME,
        version=PROTOCOL_VERSION,
        role=role,
        nonce=os.urandom(16),
        key_ids=ids,
    )


def challenge(greeting: Message, keyring: Keyring | None) -> tuple[Challenge, bytes | None]:
    """The server's answer to a Hello and the secret it chose; HandshakeError (whose
    ``refusal`` is sent back first, when set) if the client cannot be served."""
    if not isinstance(greeting, Hello) or greeting.protocol != PROTOCOL_NAME:
        raise HandshakeError("not a minispark handshake")
    if greeting.version != PROTOCOL_VERSION:
        reason = (
            f"protocol version {greeting.version} is not supported (this is {PROTOCOL_VERSION})"
        )
        raise Refusal(reason, reason)
    secret = None
    if keyring is not None:
        secrets = keyring.secrets()
        if greeting.key_ids:
            wanted = set(greeting.key_ids)
            secret = next((s for s in secrets if key_id(s) in wanted), None)
            if secret is None:
                raise Refusal(
                    f"no shared secret with a {greeting.role or 'peer'}: none of its "
                    f"{len(greeting.key_ids)} secret(s) is one of ours",
                    f"no shared secret: {SECRET_HINT}",
                )
        else:  # a client without a secret, or one that predates keyrings
            secret = secrets[0]
    nonce = os.urandom(16)
    sent = Challenge(
        version=PROTOCOL_VERSION,
        nonce=nonce,
        auth=keyring is not None,
        key_id=key_id(secret) if secret is not None else b"",
    )
    return sent, secret


class Refusal(HandshakeError):
    """A handshake the server turns down with a reason it tells the client."""

    def __init__(self, logged: str, told: str) -> None:
        super().__init__(logged)
        self.told = told


def check_proof(proof: Message, greeting: Hello, sent: Challenge, secret: bytes | None) -> Welcome:
    if not isinstance(proof, Proof):
        raise HandshakeError("expected a proof after the challenge")
    if secret is not None and not hmac.compare_digest(
        proof.mac, mac(secret, sent.nonce, greeting.nonce)
    ):
        raise Refusal(
            f"authentication failed for a {greeting.role or 'peer'}: wrong secret",
            f"authentication failed: {SECRET_HINT}",
        )
    return Welcome(mac=mac(secret, greeting.nonce, sent.nonce))


def answer(
    reply: Message, sent: Hello, keyring: Keyring | None, address: str
) -> tuple[Proof, bytes | None]:
    """The client's proof for the server's Challenge, and the secret it used."""
    if isinstance(reply, Refused):
        raise HandshakeError(f"{address} refused: {reply.reason}")
    if not isinstance(reply, Challenge):
        raise HandshakeError(f"{address} did not answer with a minispark challenge")
    if reply.auth and keyring is None:
        raise HandshakeError(f"{address} requires authentication: {SECRET_HINT}")
    if not reply.auth and keyring is not None:
        raise HandshakeError(
            f"spark.authenticate is on here but off on the server at {address}: set it on "
            "both sides"
        )
    secret = None
    if keyring is not None:
        secrets = keyring.secrets()
        if reply.key_id:
            secret = next((s for s in secrets if key_id(s) == reply.key_id), None)
            if secret is None:
                raise HandshakeError(f"{address} chose a secret this process does not hold")
        else:  # a server that predates keyrings: it checks against its one secret
            secret = secrets[0]
    return Proof(mac=mac(secret, reply.nonce, sent.nonce)), secret


def check_welcome(
    reply: Message, sent: Hello, theirs: Challenge, secret: bytes | None, address: str
) -> None:
    if isinstance(reply, Refused):
        raise HandshakeError(f"{address} refused: {reply.reason}")
    expected = mac(secret, sent.nonce, theirs.nonce)
    if not isinstance(reply, Welcome) or not hmac.compare_digest(reply.mac, expected):
        raise HandshakeError(f"{address} could not prove it holds the shared secret")

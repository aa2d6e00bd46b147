"""The shared secrets a process accepts, re-read when their file changes.

A secret file holds one secret per line. The first line is the secret this process presents
when it connects; every line is accepted from peers. That is what lets a rotation go host by
host without downtime: every host first gets ``new`` above ``old`` (each side presents ``new``
and still accepts ``old``), then ``new`` alone. Processes read the file again when its size or
modification time changes, so neither daemons nor running executors and drivers need a
restart to follow a rotation.

A peer learns which of our secrets to use from short key ids (a keyed hash of each secret,
which says nothing about the secret itself), so a handshake never has to try them in turn.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from pathlib import Path

KEY_ID_BYTES = 8


class KeyringError(ValueError):
    """The secret file cannot be read or holds no secret."""


def key_id(secret: bytes) -> bytes:
    """A public name for a secret: peers compare these to agree on one without revealing it."""
    return hashlib.sha256(b"minispark key id\0" + secret).digest()[:KEY_ID_BYTES]


def parse(text: bytes) -> tuple[bytes, ...]:
    """The secrets in a file's contents, newest (presented) first; blank lines ignored."""
    return tuple(line.strip() for line in text.splitlines() if line.strip())


@dataclass
class Keyring:
    """Secrets from a fixed value or from a file that is re-read when it changes."""

    fixed: tuple[bytes, ...] = ()
    path: str | None = None
    _stamp: tuple[int, int] | None = field(default=None, init=False, repr=False)
    _loaded: tuple[bytes, ...] = field(default=(), init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @classmethod
    def of(cls, secret: bytes) -> Keyring:
        return cls(fixed=(secret,))

    def secrets(self) -> tuple[bytes, ...]:
        """Every accepted secret, the presented one first (re-reads a changed file)."""
        if self.path is None:
            return self.fixed
        with self._lock:
            self._refresh(self.path)
            return self._loaded

    def current(self) -> bytes:
        return self.secrets()[0]

    def find(self, ids: list[bytes]) -> bytes | None:
        """Our first secret whose id the peer also holds; None if we share none."""
        wanted = set(ids)
        return next((s for s in self.secrets() if key_id(s) in wanted), None)

    def ids(self) -> list[bytes]:
        return [key_id(s) for s in self.secrets()]

    def _refresh(self, path: str) -> None:
        try:
            info = Path(path).stat()
            stamp = (info.st_mtime_ns, info.st_size)
            if stamp == self._stamp:
                return
            secrets = parse(Path(path).read_bytes())
        except OSError as err:
            if self._loaded:
                return  # keep serving with what we had; a rotation may be mid-write
            reason = err.strerror or type(err).__name__
            raise KeyringError(
                f"spark.authenticate.secret.file: cannot read {path!r} ({reason})"
            ) from err
        if not secrets:
            if self._loaded:
                return
            raise KeyringError(f"spark.authenticate.secret.file: {path!r} is empty")
        self._stamp, self._loaded = stamp, secrets

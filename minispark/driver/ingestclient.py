"""The driver's side of the history server's ingest API (``history/ingestweb.py``), blocking:
it runs on the event log's own thread, never on the driver's event loop.

Errors come in three kinds, because the writer treats them differently: ``IngestRefused``
(the server will not take the log from us: wrong secret, untrusted certificate, a history
server that reads an object store), ``OffsetConflict`` (the log there has another size:
resume from it) and ``OSError`` (unreachable for now: keep the lines and try again).
"""

from __future__ import annotations

import http.client
import json
import ssl
from typing import Any
from urllib.parse import quote, urlsplit

from .. import tls
from ..keyring import Keyring

TIMEOUT_S = 5.0
CHECK_S = 2.0  # the check at start: a driver does not wait long for a server that is away
SECRET_HINT = (
    "set spark.authenticate.secret.file (or spark.authenticate.secret) to the cluster's secret"
)


class IngestRefused(Exception):
    """The history server will not take this driver's log; the message says what to fix."""


class OffsetConflict(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(f"the history server holds {size} bytes")
        self.size = size


class IngestClient:
    def __init__(self, url: str, keyring: Keyring | None, context: ssl.SSLContext | None) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{url!r} is not an http(s)://host:port URL")
        self.url = url.rstrip("/")
        self.https = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.https else 80)
        self.base = parts.path.rstrip("/")  # a server behind a proxy's path prefix
        self.keyring = keyring
        # No cluster CA configured: a public certificate, verified against the system's CAs.
        self.context = context or (ssl.create_default_context() if self.https else None)

    def status(self, timeout: float = CHECK_S) -> None:
        """Raises unless the server would take our log (the check at start)."""
        self._request("GET", "/eventlogs", b"", timeout)

    def append(self, name: str, offset: int, data: bytes, timeout: float = TIMEOUT_S) -> int:
        """Append ``data`` at ``offset`` of ``name``; the log's size after it."""
        path = f"/eventlogs/{quote(name, safe='')}?offset={offset}"
        return int(self._request("POST", path, data, timeout)["size"])

    def complete(self, name: str, timeout: float = TIMEOUT_S) -> None:
        self._request("POST", f"/eventlogs/{quote(name, safe='')}/complete", b"", timeout)

    def _connection(self, timeout: float) -> http.client.HTTPConnection:
        if self.https:
            return http.client.HTTPSConnection(
                self.host, self.port, timeout=timeout, context=self.context
            )
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/octet-stream"}
        if self.keyring is not None:
            headers["Authorization"] = "Bearer " + self.keyring.current().decode("utf-8")
        return headers

    def _request(self, method: str, path: str, body: bytes, timeout: float) -> dict[str, Any]:
        connection = self._connection(timeout)
        try:
            connection.request(method, self.base + path, body=body, headers=self._headers())
            response = connection.getresponse()
            status, text = response.status, response.read().decode("utf-8", "replace")
        except ssl.SSLCertVerificationError as exc:
            raise IngestRefused(tls.client_error(exc, self.host, self.port)) from None
        except http.client.HTTPException as exc:  # a reply cut short: a server going away
            raise OSError(f"{type(exc).__name__}: {exc}") from None
        finally:
            connection.close()
        return self._answer(status, text)

    def _answer(self, status: int, text: str) -> dict[str, Any]:
        try:
            body = json.loads(text)
        except ValueError:
            body = None
        if not isinstance(body, dict):  # not our API's answer (the auth's, or another server)
            if status == 404:
                raise IngestRefused(
                    f"{self.url} has no ingest API: point spark.eventLog.dir at a minispark "
                    "history server's web port"
                )
            body = {"message": text.strip().splitlines()[0] if text.strip() else ""}
        if status == 200:
            return body
        message = str(body.get("message", ""))
        if status == 409 and isinstance(body.get("size"), int):
            raise OffsetConflict(body["size"])
        if status in (401, 403):
            reason = message.split(":", 1)[0]
            raise IngestRefused(
                f"the history server at {self.url} refused the event log ({reason}): {SECRET_HINT}"
            )
        if status >= 500:  # the server's own trouble: may pass
            raise OSError(f"the history server answered {status} {message}".strip())
        raise IngestRefused(f"the history server at {self.url} refused the event log: {message}")

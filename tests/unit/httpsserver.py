"""A real HTTPS server on 127.0.0.1 serving a given certificate: what the ops probes meet on a
secure cluster. Its certificates come from ``tests.certs``."""

from __future__ import annotations

import http.server
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class _Handler(http.server.BaseHTTPRequestHandler):
    """/json answers 200 with the server's secret as a bearer token, 401 without it."""

    server: _Server

    def do_GET(self) -> None:
        open_paths = ("/healthz", "/readyz", "/metrics")
        wanted = {f"Bearer {s}" for s in self.server.secrets}
        if self.path not in open_paths and self.headers.get("Authorization") not in wanted:
            self._answer(401, b"authentication required")
            return
        body = b'{"status": "ALIVE", "workers": [], "activeapps": [], "activedrivers": []}'
        self._answer(200, body)

    def _answer(self, code: int, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(http.server.ThreadingHTTPServer):
    secrets: set[str]


@contextmanager
def https_server(cert_file: Path, key_file: Path, secrets: set[str]) -> Iterator[_Server]:
    """An HTTPS server on 127.0.0.1 serving ``cert_file``, accepting ``secrets`` (a set the
    test may change while it runs)."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.secrets = secrets
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def address(server: _Server) -> str:
    return f"127.0.0.1:{server.server_address[1]}"

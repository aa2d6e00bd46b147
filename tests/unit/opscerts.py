"""A test CA and host certificates made with ``cryptography``, and a real HTTPS server on
127.0.0.1 that serves one of them: what the ops probes meet on a secure cluster."""

from __future__ import annotations

import datetime as dt
import http.server
import ipaddress
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

NOW = dt.datetime.now(dt.UTC)


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


@dataclass
class Authority:
    """A CA whose certificate is written to ``ca_file``."""

    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate
    ca_file: Path

    @classmethod
    def make(cls, directory: Path, name: str = "test CA") -> Authority:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(name))
            .issuer_name(_name(name))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - dt.timedelta(days=1))
            .not_valid_after(NOW + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        directory.mkdir(parents=True, exist_ok=True)
        ca_file = directory / "ca.pem"
        ca_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return cls(key, cert, ca_file)

    def issue(
        self, directory: Path, name: str, *, days: float, ip: str = "127.0.0.1"
    ) -> tuple[Path, Path, dt.datetime]:
        """(cert file, key file, notAfter) of a host certificate valid ``days`` from now
        (negative: expired that long ago)."""
        key = ec.generate_private_key(ec.SECP256R1())
        # Certificates carry whole seconds.
        expires = (NOW + dt.timedelta(days=days)).replace(microsecond=0)
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(name))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(min(NOW, expires) - dt.timedelta(days=30))
            .not_valid_after(expires)
            .add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName(name), x509.IPAddress(ipaddress.ip_address(ip))]
                ),
                critical=False,
            )
            .sign(self.key, hashes.SHA256())
        )
        cert_file, key_file = directory / f"{name}.pem", directory / f"{name}.key"
        cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return cert_file, key_file, expires


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

"""TLS for the RPC links: contexts, certificates re-read when they change, and refusals in words.

Servers present a certificate and accept clients without one (drivers have none), but a
certificate that a client does present must verify against the CA (``CERT_OPTIONAL``).
Authentication is the shared-secret HMAC of the handshake; TLS adds secrecy and the
server's identity, which clients check against the CA and the host name they dialled.

A driver's server uses an ephemeral self-signed certificate instead (``driver/tlscert.py``);
its executors pin its SHA-256 fingerprint, which reached them over verified links.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import socket
import ssl
import threading
from dataclasses import dataclass, field

log = logging.getLogger("minispark.tls")

CA_HINT = "pass --conf minispark.ssl.caFile=<path to the cluster's ca.pem>"
# OpenSSL's X509_V_ERR_HOSTNAME_MISMATCH and X509_V_ERR_IP_ADDRESS_MISMATCH.
_NAME_MISMATCH = frozenset({62, 64})
_EXPIRED = 10  # X509_V_ERR_CERT_HAS_EXPIRED


def fingerprint(der: bytes) -> str:
    """The SHA-256 of a DER certificate, as lowercase hex (what executors pin)."""
    return hashlib.sha256(der).hexdigest()


def _stamp(paths: tuple[str, ...]) -> tuple[tuple[int, int], ...]:
    stamps = []
    for path in paths:
        info = os.stat(path)
        stamps.append((info.st_mtime_ns, info.st_size))
    return tuple(stamps)


@dataclass
class CertFiles:
    """The PEM files behind some contexts, loaded again into the same contexts when they change.

    ``load_cert_chain`` on a live context replaces its certificate for every connection made
    after it (OpenSSL copies the certificate into each connection when it is created), so a
    server that refreshes before each handshake follows a renewal without a restart. A CA
    file that changes is loaded on top: the old CA stays trusted until the process restarts,
    which is what a CA rotation needs while hosts still hold certificates from both.
    """

    cert: str | None
    key: str | None
    ca: str | None
    identity: list[ssl.SSLContext] = field(default_factory=list)  # present cert/key
    trust: list[ssl.SSLContext] = field(default_factory=list)  # verify peers against ca
    _stamp: tuple[tuple[int, int], ...] = field(default=(), init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def paths(self) -> tuple[str, ...]:
        return tuple(p for p in (self.cert, self.key, self.ca) if p)

    def load(self) -> None:
        """Load every file into every context now; errors propagate (start-up)."""
        self._stamp = _stamp(self.paths())
        self._load()

    def _load(self) -> None:
        if self.cert and self.key:
            for context in self.identity:
                context.load_cert_chain(self.cert, self.key)
        if self.ca:
            for context in self.trust:
                context.load_verify_locations(self.ca)

    def refresh(self) -> bool:
        """Reload when a file changed since the last load; True if it did. A file caught
        mid-rotation (missing, half written) keeps the loaded one and is tried again later."""
        with self._lock:
            try:
                stamp = _stamp(self.paths())
                if stamp == self._stamp:
                    return False
                self._load()
            except (OSError, ssl.SSLError, ValueError) as exc:
                log.warning("TLS files changed but cannot be loaded yet (%s); keeping the old", exc)
                return False
            self._stamp = stamp
            log.info("TLS files reloaded: %s", ", ".join(self.paths()))
            return True

    def sni_refresh(
        self, connection: ssl.SSLObject | ssl.SSLSocket, name: str | None, _: ssl.SSLContext
    ) -> None:
        """An ``sni_callback`` for a context this process does not handshake itself (the web
        port's): OpenSSL calls it for every ClientHello. A connection begun just before the
        reload holds the old certificate, so it gets a fresh context with the new one."""
        if self.refresh() and self.cert and self.key:
            fresh = web_context()
            fresh.load_cert_chain(self.cert, self.key)
            connection.context = fresh


def server_context() -> ssl.SSLContext:
    """An RPC server's context: clients need no certificate, a presented one must verify."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.verify_mode = ssl.CERT_OPTIONAL
    return context


def web_context() -> ssl.SSLContext:
    """An HTTPS port's context: browsers are asked for no certificate."""
    return ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)


def client_context() -> ssl.SSLContext:
    """A client's context: the server's certificate must verify and hold the dialled name."""
    # PROTOCOL_TLS_CLIENT verifies and checks host names by default; unlike
    # create_default_context it trusts no system CA, only the cluster's (loaded by CertFiles).
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def pinned_context() -> ssl.SSLContext:
    """A client's context for a server whose certificate is pinned by fingerprint (a driver):
    OpenSSL verifies nothing, :func:`check_pin` compares the digest after the handshake."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def check_pin(der: bytes | None, pin: str, address: str) -> None:
    if der is None or not _same(fingerprint(der), pin):
        raise ssl.SSLError(
            f"the certificate of {address} is not the driver's (its SHA-256 is not "
            "minispark.driver.certSha256): something else answers at the driver's address"
        )


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.lower(), b.lower())


def refusal(exc: BaseException) -> str:
    """Why a server-side TLS handshake failed, for the one warning line naming the peer."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"client certificate refused ({exc.verify_message})"
    reason = getattr(exc, "reason", None) or ""
    if reason == "HTTP_REQUEST":
        return "plain HTTP on a TLS port"
    if reason in ("WRONG_VERSION_NUMBER", "UNSUPPORTED_PROTOCOL", "UNKNOWN_PROTOCOL"):
        return "plain TCP (not a TLS handshake) on a TLS port"
    if reason.startswith(("TLSV1_ALERT_", "SSLV3_ALERT_")):
        alert = reason.split("ALERT_", 1)[1].lower().replace("_", " ")
        return f"the client refused our certificate ({alert})"
    return f"TLS handshake failed ({reason or exc})"


def client_error(exc: ssl.SSLError, host: str, port: int) -> str:
    """A client's failed TLS handshake as one line that says what to pass or fix."""
    address = f"{host}:{port}"
    if isinstance(exc, ssl.SSLCertVerificationError):
        if exc.verify_code in _NAME_MISMATCH:
            names = ", ".join(certificate_names(host, port)) or "no names"
            return (
                f"the certificate of {address} does not hold the name {host!r} that was "
                f"dialled (it holds: {names}): dial one of those names, or give that host a "
                f"certificate for {host}"
            )
        if exc.verify_code == _EXPIRED:
            return f"the certificate of {address} has expired: renew the server's certificate"
        return f"the certificate of {address} is not trusted ({exc.verify_message}): {CA_HINT}"
    reason = getattr(exc, "reason", None) or ""
    if reason == "WRONG_VERSION_NUMBER" or isinstance(exc, ssl.SSLEOFError):
        return (
            f"{address} does not speak TLS: enable TLS on the cluster or unset "
            "minispark.ssl.caFile and minispark.ssl.enabled here"
        )
    return f"TLS handshake with {address} failed: {exc}"


def certificate_names(host: str, port: int, timeout: float = 5.0) -> list[str]:
    """The names a server's certificate holds, read without verifying it: only for the
    message that explains a host name mismatch, never to decide trust."""
    probe = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    probe.check_hostname = False
    probe.verify_mode = ssl.CERT_NONE
    try:
        with (
            socket.create_connection((host, port), timeout=timeout) as raw,
            probe.wrap_socket(raw) as wrapped,
        ):
            der = wrapped.getpeercert(binary_form=True)
    except (OSError, ssl.SSLError):
        return []
    if der is None:
        return []
    return _names_in(der)


def _names_in(der: bytes) -> list[str]:
    from cryptography import x509

    cert = x509.load_der_x509_certificate(der)
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [str(name.value) for name in sans]

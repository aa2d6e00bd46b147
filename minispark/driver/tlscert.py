"""The driver's ephemeral TLS certificate: made in memory at start, pinned by its executors.

A driver runs wherever its user is (a laptop, a CI job), so it has no certificate from the
cluster's CA, and issuing one would mean a CA key outside the controller. Instead each
``SparkContext`` makes a self-signed EC P-256 certificate for its own RPC server and puts its
SHA-256 in the application's settings (``minispark.driver.certSha256``). Those reach the
executors through the master and the worker over links verified against the CA, so an
executor that finds that exact certificate at the driver's address knows it is the driver.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from .. import tls

# Pinning checks the exact certificate, not its dates; the span only has to cover the run.
VALIDITY = datetime.timedelta(days=365)


@dataclass(frozen=True)
class DriverCert:
    context: ssl.SSLContext  # the driver's RPC server context, holding the certificate
    fingerprint: str  # its SHA-256 in hex, for minispark.driver.certSha256


def _subject_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def make(host: str) -> DriverCert:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "minispark driver")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))  # tolerate clock skew
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.SubjectAlternativeName([_subject_name(host)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    context = tls.server_context()
    _load(
        context,
        cert.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    return DriverCert(context, tls.fingerprint(cert.public_bytes(serialization.Encoding.DER)))


def _load(context: ssl.SSLContext, cert_pem: bytes, key_pem: bytes) -> None:
    """``load_cert_chain`` takes paths only: the PEMs go to a private directory for the
    moment it reads them, and are gone before this returns."""
    with tempfile.TemporaryDirectory(prefix="minispark-driver-tls-") as scratch:
        path = Path(scratch) / "driver.pem"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(key_pem + cert_pem)
        context.load_cert_chain(path)

"""Certificates for tests, made with cryptography: a cluster CA and what goes wrong with one.

``Pki(root)`` writes a CA and issues host certificates into ``root``; ``Pki(root, "other")``
is a second, unrelated CA. Host certificates name 127.0.0.1 and localhost unless told
otherwise, so clients on loopback verify them with host name checks on.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

LOOPBACK = ("127.0.0.1", "localhost")
DAY = datetime.timedelta(days=1)


@dataclass(frozen=True)
class HostCert:
    cert: Path
    key: Path
    ca: Path  # the CA certificate that signed ``cert``


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _san(names: tuple[str, ...]) -> x509.SubjectAlternativeName:
    general: list[x509.GeneralName] = []
    for name in names:
        try:
            general.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            general.append(x509.DNSName(name))
    return x509.SubjectAlternativeName(general)


class Pki:
    def __init__(self, root: Path, name: str = "ca") -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.root = root
        self.name = name
        self._key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"minispark test {name}")])
        now = datetime.datetime.now(datetime.UTC)
        self._subject = subject
        self._cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - DAY)
            .not_valid_after(now + 30 * DAY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self._key, hashes.SHA256())
        )
        self.ca = root / f"{name}.pem"
        self.ca.write_bytes(self._cert.public_bytes(serialization.Encoding.PEM))

    def issue(
        self, label: str, names: tuple[str, ...] = LOOPBACK, *, expired: bool = False
    ) -> HostCert:
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        start, end = (now - 10 * DAY, now - DAY) if expired else (now - DAY, now + 30 * DAY)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
            .issuer_name(self._subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(_san(names), critical=False)
            .sign(self._key, hashes.SHA256())
        )
        paths = HostCert(
            self.root / f"{self.name}-{label}.pem", self.root / f"{self.name}-{label}.key", self.ca
        )
        paths.key.write_bytes(_pem_key(key))
        paths.key.chmod(0o600)
        paths.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return paths


def tls_conf(host: HostCert, ca: Path) -> tuple[str, ...]:
    """A daemon's TLS settings, as --conf pairs."""
    return (
        "minispark.ssl.enabled=true",
        f"minispark.ssl.certFile={host.cert}",
        f"minispark.ssl.keyFile={host.key}",
        f"minispark.ssl.caFile={ca}",
    )


def make_cluster_certs(root: Path) -> HostCert:
    """A CA and one certificate for loopback that every daemon of a test can share."""
    return Pki(root).issue("node", ("node", *LOOPBACK))

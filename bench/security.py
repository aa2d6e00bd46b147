"""What authentication and TLS cost: no-op tasks/s and the word count, secure against plain.

    python bench/security.py [--runs 3] [--tasks 2000] [--size-mb 100]

The two sides of bench/overhead.py, taking turns: a plain ``local-cluster[2,1,1024]`` and
one with ``spark.authenticate`` (a secret file) and TLS on every link (a CA and a host
certificate for 127.0.0.1 made here with ``cryptography``; the driver has only the CA and
the secret, as a user outside the cluster would).

It prints the medians and the ratios secure / plain. The issue's target: TLS and auth cost
at most 10% on both (tasks/s ratio >= 0.9, word count seconds ratio <= 1.1).
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import sys
import tempfile
from pathlib import Path

from overhead import Side, arguments, compare

TARGET_COST = 0.10


def make_credentials(root: Path) -> dict[str, str]:
    """A CA, a certificate for 127.0.0.1 signed by it, and a secret: a cluster's files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    day = datetime.timedelta(days=1)

    def build(subject: str, issuer: str, public: object, signer: object, ca: bool) -> bytes:
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(public)  # type: ignore[arg-type]
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - day)
            .not_valid_after(now + day)
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            san = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
            builder = builder.add_extension(san, critical=False)
        cert = builder.sign(signer, hashes.SHA256())  # type: ignore[arg-type]
        return cert.public_bytes(serialization.Encoding.PEM)

    ca_key, host_key = (
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )
    files = {
        "ca": root / "ca.pem",
        "cert": root / "host.pem",
        "key": root / "host.key",
        "secret": root / "minispark.secret",
    }
    files["ca"].write_bytes(build("bench ca", "bench ca", ca_key.public_key(), ca_key, True))
    files["cert"].write_bytes(build("127.0.0.1", "bench ca", host_key.public_key(), ca_key, False))
    files["key"].write_bytes(
        host_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    files["secret"].write_text(os.urandom(24).hex() + "\n")
    for private in (files["key"], files["secret"]):
        private.chmod(0o600)
    return {name: str(path) for name, path in files.items()}


def main() -> int:
    args = arguments(__doc__ or "")
    with tempfile.TemporaryDirectory(prefix="bench-security-") as tmp:
        files = make_credentials(Path(tmp))
        # Daemons of local-cluster get the driver's settings: the host certificate is theirs.
        secure = {
            "spark.authenticate.secret.file": files["secret"],
            "minispark.ssl.caFile": files["ca"],
            "minispark.ssl.certFile": files["cert"],
            "minispark.ssl.keyFile": files["key"],
        }
        compare(args, Side("plain", {}), Side("auth+TLS", secure), TARGET_COST)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""How the operator's probes trust a daemon's HTTPS web port: the cluster CA, host names
checked (the certificates carry the inventory name, ``ansible_host`` and the FQDN).

Standard library only. The errors name the CA file, since providing the right one is the fix.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass

from .errors import UsageError

CA_ENV = "MINISPARK_CA_FILE"


@dataclass(frozen=True)
class Tls:
    """The CA a probe trusts and the context that enforces it."""

    ca_file: str
    context: ssl.SSLContext

    @classmethod
    def load(cls, ca_file: str) -> Tls:
        """The context for ``ca_file``; UsageError naming the file if it is missing or bad."""
        try:
            context = ssl.create_default_context(cafile=ca_file)
        except FileNotFoundError:
            raise UsageError(
                f"CA certificate {ca_file} does not exist: copy the cluster's ca.pem there "
                f"or set {CA_ENV} to it"
            ) from None
        except (OSError, ssl.SSLError) as exc:
            raise UsageError(
                f"CA certificate {ca_file} is not a PEM certificate "
                f"({getattr(exc, 'reason', None) or exc}): give the cluster's ca.pem"
            ) from None
        return cls(ca_file, context)

    def refused(self, exc: ssl.SSLCertVerificationError) -> str:
        """Why a served certificate was not accepted, and which file decides that."""
        reason = exc.verify_message or exc.reason or "verification failed"
        return (
            f"TLS certificate refused ({reason}): it must be issued by the CA in "
            f"{self.ca_file} for this address (give the cluster's ca.pem, or set {CA_ENV})"
        )


def ssl_reason(exc: ssl.SSLError) -> str:
    """An SSL failure other than verification, in the operator's terms."""
    text = str(exc.reason or exc)
    if "WRONG_VERSION_NUMBER" in text or "RECORD_LAYER" in text:
        return (
            "does not speak HTTPS (plain HTTP?): is minispark_tls_enabled false on that host? "
            "then set it false in the inventory too"
        )
    return f"TLS handshake failed: {text}"

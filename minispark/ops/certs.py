"""How long each daemon's web certificate has left (``fab status``, after a rotation).

The date is read from the certificate the port serves, in a handshake that does not verify
it: an expired or foreign certificate must still show its date (the HTTP probes are the ones
that refuse it). Python's ``ssl`` parses a peer certificate only after verifying it, so the
few DER fields up to ``notAfter`` are read here. Standard library only.
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime

from .probes import DEFAULT_TIMEOUT, ProbeError, os_reason, split_address

WARN_DAYS = 30
_SEQUENCE, _EXPLICIT_0, _UTC_TIME, _GENERALIZED_TIME = 0x30, 0xA0, 0x17, 0x18


# ---- the DER of an X.509 certificate, as far as its validity -------------------------------


def _tlv(der: bytes, at: int) -> tuple[int, int, int]:
    """(tag, start of contents, end of contents) of the DER element at ``at``."""
    if at + 2 > len(der):
        raise ValueError("truncated")
    tag, length = der[at], der[at + 1]
    at += 2
    if length & 0x80:
        count = length & 0x7F
        if not 0 < count <= 4 or at + count > len(der):
            raise ValueError("bad length")
        length = int.from_bytes(der[at : at + count], "big")
        at += count
    if at + length > len(der):
        raise ValueError("truncated")
    return tag, at, at + length


def _time(tag: int, text: bytes) -> datetime:
    raw = text.decode("ascii")
    if tag == _UTC_TIME:  # YYMMDDHHMMSSZ; RFC 5280: YY < 50 is 20YY
        year = int(raw[:2])
        raw = f"{2000 + year if year < 50 else 1900 + year}{raw[2:]}"
    elif tag != _GENERALIZED_TIME:
        raise ValueError("validity is not a time")
    return datetime.strptime(raw, "%Y%m%d%H%M%SZ").replace(tzinfo=UTC)


def not_after(der: bytes) -> datetime:
    """A DER certificate's notAfter; ValueError if ``der`` is not a certificate."""
    tag, at, _ = _tlv(der, 0)  # Certificate
    if tag != _SEQUENCE:
        raise ValueError("not a certificate")
    tag, at, _ = _tlv(der, at)  # TBSCertificate
    if tag != _SEQUENCE:
        raise ValueError("not a certificate")
    tag, start, end = _tlv(der, at)
    if tag == _EXPLICIT_0:  # version
        tag, start, end = _tlv(der, end)
    for _ in range(3):  # serialNumber (just read), signature, issuer
        tag, start, end = _tlv(der, end)
    if tag != _SEQUENCE:
        raise ValueError("no validity")
    tag, start, end = _tlv(der, start)  # notBefore
    tag, start, end = _tlv(der, end)  # notAfter
    return _time(tag, der[start:end])


# ---- what status shows ---------------------------------------------------------------------


def days_left(expires: datetime, now: datetime) -> int:
    """Whole days until ``expires``; negative once it has passed (0: expires within a day)."""
    seconds = (expires - now).total_seconds()
    return int(seconds // 86400)


@dataclass(frozen=True)
class Expiry:
    """One daemon's web certificate: when it expires, or why that is not known."""

    daemon: str
    address: str
    expires: datetime | None = None
    reason: str = ""

    def days(self, now: datetime) -> int | None:
        return None if self.expires is None else days_left(self.expires, now)

    def expired(self, now: datetime) -> bool:
        return self.expires is not None and self.expires <= now

    def warning(self, now: datetime, warn_days: int = WARN_DAYS) -> str | None:
        """A line for the operator when the certificate expires soon, or has."""
        if self.expires is None:
            return None
        when = self.expires.strftime("%Y-%m-%d %H:%M UTC")
        if self.expired(now):
            return (
                f"the certificate of {self.daemon} {self.address} expired on {when}: "
                "run fab rotate-credentials"
            )
        days = days_left(self.expires, now)
        if days < warn_days:
            return (
                f"the certificate of {self.daemon} {self.address} expires in {days} days "
                f"({when}): run fab rotate-credentials within {warn_days} days of expiry"
            )
        return None


def served_certificate(address: str, timeout: float = DEFAULT_TIMEOUT) -> bytes:
    """The DER certificate the TLS port ``address`` presents; ProbeError if none."""
    try:
        host, port = split_address(address.partition("://")[2] or address)
    except ValueError as exc:
        raise ProbeError(str(exc)) from None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # reading the date only: nothing is sent
    try:
        with (
            socket.create_connection((host, port), timeout=timeout) as raw,
            context.wrap_socket(raw, server_hostname=host) as tls,
        ):
            der = tls.getpeercert(binary_form=True)
    except TimeoutError:
        raise ProbeError(f"{address}: no TLS handshake within {timeout:g}s") from None
    except ssl.SSLError as exc:
        raise ProbeError(f"{address}: TLS handshake failed ({exc.reason or exc})") from None
    except OSError as exc:
        raise ProbeError(f"{address}: cannot connect: {os_reason(exc)}") from None
    if not der:
        raise ProbeError(f"{address}: presented no certificate")
    return der


def expiry(daemon: str, address: str, timeout: float = DEFAULT_TIMEOUT) -> Expiry:
    """The served certificate's expiry; never raises (the reason says what went wrong)."""
    try:
        return Expiry(daemon, address, not_after(served_certificate(address, timeout)))
    except ProbeError as exc:
        return Expiry(daemon, address, reason=str(exc).removeprefix(f"{address}: "))
    except ValueError as exc:
        return Expiry(daemon, address, reason=f"served an unreadable certificate ({exc})")

#!/usr/bin/python
"""When the certificate each daemon serves expires, read from the daemon itself."""

from __future__ import annotations

DOCUMENTATION = r"""
module: minispark_tls_expiry
short_description: Days left on the TLS certificate each minispark daemon serves
description:
  - Runs on the controller (health.yml). Opens a TLS connection to each endpoint and reads the
    certificate it presents, without verifying it, so that an expired or foreign certificate
    still shows its date (the health probes are what refuse such a daemon).
  - Warns for each certificate with fewer than I(warn_days) days left, or already expired.
    Never changes anything.
options:
  endpoints:
    type: dict
    required: true
    description: Label (e.g. the host name) to C(host:port) of a TLS port.
  warn_days: {type: int, default: 30, description: Warn this many days ahead.}
  timeout: {type: float, default: 3.0, description: Seconds to wait for each daemon.}
"""

RETURN = r"""
certificates:
  description: "Per label: address, not_after, days_left; or error when none was read."
  returned: always
  type: dict
"""

import datetime  # noqa: E402
import socket  # noqa: E402
import ssl  # noqa: E402
from typing import Any  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
except ImportError:  # reported by main(): ansible-core itself depends on cryptography
    x509 = None  # type: ignore[assignment]


def served(address: str, timeout: float) -> bytes:
    host, _, port = address.rpartition(":")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout) as raw,
        context.wrap_socket(raw, server_hostname=host.strip("[]")) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    if not der:
        raise ssl.SSLError("no certificate presented")
    return der


def one(address: str, timeout: float) -> dict[str, Any]:
    try:
        cert = x509.load_der_x509_certificate(served(address, timeout))
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return {"address": address, "error": f"no certificate read: {reason}"}
    left = cert.not_valid_after_utc - datetime.datetime.now(datetime.UTC)
    return {
        "address": address,
        "not_after": cert.not_valid_after_utc.isoformat(),
        "days_left": int(left.total_seconds() // 86400),
        "sha256": cert.fingerprint(hashes.SHA256()).hex(),
    }


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "endpoints": {"type": "dict", "required": True},
            "warn_days": {"type": "int", "default": 30},
            "timeout": {"type": "float", "default": 3.0},
        },
        supports_check_mode=True,
    )
    if x509 is None:
        module.fail_json(msg="minispark_tls_expiry needs the cryptography package")
    found = {
        label: one(str(address), module.params["timeout"])
        for label, address in sorted(module.params["endpoints"].items())
    }
    for label, info in found.items():
        days = info.get("days_left")
        if days is not None and days < 0:
            module.warn(
                f"{label} {info['address']}: its certificate expired on {info['not_after']}; "
                "run playbooks/site.yml (it issues a new one) or rotate_credentials.yml"
            )
        elif days is not None and days < module.params["warn_days"]:
            module.warn(
                f"{label} {info['address']}: its certificate expires in {days} days: run "
                "playbooks/site.yml, which issues a new one from "
                f"{module.params['warn_days']} days before"
            )
    module.exit_json(changed=False, certificates=found)


if __name__ == "__main__":
    main()

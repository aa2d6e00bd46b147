#!/usr/bin/python
"""The cluster's CA and host certificates in the controller's credentials directory."""

from __future__ import annotations

DOCUMENTATION = r"""
module: minispark_pki
short_description: Make and keep the minispark cluster CA and one certificate per host
description:
  - Runs on the controller. Keeps C(ca.pem) and C(ca.key) in I(dir), made once, and
    C(hosts/<name>.pem) and C(hosts/<name>.key) for every host in I(hosts), issued by that CA.
  - A host certificate is issued again (with a new key) when it is missing or unreadable, its
    key does not match it, the CA did not sign it, its subject alternative names differ from
    I(hosts[].sans), fewer than I(renew_days) days remain, or the host is in I(rekey).
  - With I(ca_cert) and I(ca_key) the operator's CA issues the host certificates (its key stays
    where it is; C(ca.pem) becomes a copy of its certificate). With a host's I(cert) and I(key)
    that host's certificate is the operator's, checked against the CA and never replaced.
  - Supports check mode; C(changed) is true exactly when a file was (or would be) written.
    Keys are never returned.
options:
  dir: {type: path, required: true, description: The credentials directory (mode 0700).}
  ca_cert: {type: path, description: The operator's CA certificate (PEM).}
  ca_key: {type: path, description: The key of I(ca_cert); without it every host needs I(cert).}
  ca_name: {type: str, default: minispark cluster CA, description: Name of a generated CA.}
  ca_days: {type: int, default: 3650, description: Validity of a generated CA in days.}
  cert_days: {type: int, default: 365, description: Validity of a host certificate in days.}
  renew_days: {type: int, default: 30, description: Re-issue this many days before expiry.}
  rekey:
    type: list
    elements: str
    default: []
    description: Hosts whose key and certificate are replaced now (rotation).
  hosts:
    type: list
    elements: dict
    default: []
    description: One entry per host.
    suboptions:
      name: {type: str, required: true, description: Inventory name, the files' name.}
      sans:
        type: list
        elements: str
        required: true
        description: Names and addresses (addresses become IP SANs).
      exact:
        type: bool
        default: true
        description: false keeps a certificate whose SANs include I(sans) (FQDN unknown).
      cert: {type: path, description: The operator's certificate for this host.}
      key: {type: path, description: The key of I(cert).}
"""

RETURN = r"""
ca: {description: "path, sha256, not_after, days_left of the CA", returned: always, type: dict}
hosts:
  description: "Per host: cert, key, not_after, days_left, action (kept, issued, given) and reason."
  returned: always
  type: dict
"""

import datetime  # noqa: E402
import ipaddress  # noqa: E402
import os  # noqa: E402
import tempfile  # noqa: E402
from typing import Any  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402 (Ansible reads DOCUMENTATION first)

try:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
except ImportError:  # reported by main(): ansible-core itself depends on cryptography
    x509 = None  # type: ignore[assignment]

DAY = datetime.timedelta(days=1)


class PkiError(Exception):
    """One line naming the file and the fix; the module fails with it."""


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def write_private(path: str, data: bytes, mode: int) -> None:
    """Atomically, with the final mode from the start: a key is never readable by others."""
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None


def must_exist(path: str | None, what: str) -> None:
    """An operator's file that is not there: say which variable names it."""
    if path and not os.path.isfile(path):
        raise PkiError(f"{what} is {path}, which does not exist on the controller")


def load_cert(path: str) -> Any:
    data = read(path)
    if data is None:
        return None
    try:
        return x509.load_pem_x509_certificate(data)
    except ValueError:
        return None


def load_key(path: str) -> Any:
    data = read(path)
    if data is None:
        return None
    try:
        return serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        return None


def same_key(cert: Any, key: Any) -> bool:
    pub = serialization.PublicFormat.SubjectPublicKeyInfo
    enc = serialization.Encoding.DER
    return bool(cert.public_key().public_bytes(enc, pub) == key.public_key().public_bytes(enc, pub))


def signed_by(cert: Any, ca: Any) -> bool:
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def split_sans(sans: list[str]) -> tuple[set[str], set[str]]:
    """(DNS names, IP addresses as text), deduplicated: an address is an IP SAN only."""
    dns, ips = set(), set()
    for san in sans:
        if not san:
            continue
        try:
            ips.add(str(ipaddress.ip_address(san)))
        except ValueError:
            dns.add(san.lower())
    return dns, ips


def cert_sans(cert: Any) -> tuple[set[str], set[str]]:
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set(), set()
    dns = {name.lower() for name in ext.get_values_for_type(x509.DNSName)}
    ips = {str(ip) for ip in ext.get_values_for_type(x509.IPAddress)}
    return dns, ips


def sha256(cert: Any) -> str:
    return str(cert.fingerprint(hashes.SHA256()).hex())


def days_left(cert: Any) -> int:
    return int((cert.not_valid_after_utc - now()) / DAY)


def pem(key: Any) -> bytes:
    return bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def new_ca(name: str, days: int) -> tuple[Any, Any]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    start = now() - DAY  # hosts whose clocks lag a little still accept it
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(now() + days * DAY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def issue(ca: Any, ca_key: Any, name: str, sans: list[str], days: int) -> tuple[Any, Any]:
    key = ec.generate_private_key(ec.SECP256R1())
    dns, ips = split_sans(sans)
    names: list[x509.GeneralName] = [x509.DNSName(d) for d in sorted(dns)]
    names += [x509.IPAddress(ipaddress.ip_address(i)) for i in sorted(ips)]
    start = now() - DAY
    not_after = min(now() + days * DAY, ca.not_valid_after_utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        # Daemons are servers to some peers and clients to others (a worker dials its master).
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return cert, key


class Pki:
    """What the module does, with every write gated by check mode."""

    def __init__(self, params: dict[str, Any], check_mode: bool) -> None:
        self.p = params
        self.check = check_mode
        self.changed = False
        self.dir = params["dir"]
        self.ca_pem = os.path.join(self.dir, "ca.pem")
        self.ca_key_path = params["ca_key"] or os.path.join(self.dir, "ca.key")

    def ensure_dir(self, path: str) -> None:
        if not os.path.isdir(path):
            self.changed = True
            if not self.check:
                os.makedirs(path, mode=0o700)
                os.chmod(path, 0o700)
        elif os.stat(path).st_mode & 0o777 != 0o700:
            self.changed = True
            if not self.check:
                os.chmod(path, 0o700)

    def put(self, path: str, data: bytes, mode: int) -> None:
        """Write when the content or mode differs."""
        current = read(path)
        if current == data and os.stat(path).st_mode & 0o777 == mode:
            return
        self.changed = True
        if not self.check:
            write_private(path, data, mode)

    def ensure_mode(self, path: str, mode: int) -> None:
        if os.stat(path).st_mode & 0o777 != mode:
            self.changed = True
            if not self.check:
                os.chmod(path, mode)

    def ca(self) -> tuple[Any, Any]:
        """The CA certificate and its key (None when only the operator's certificate is given)."""
        for var in ("ca_cert", "ca_key"):
            must_exist(self.p[var], f"minispark_tls_{var}")
        if self.p["ca_cert"]:
            cert = load_cert(self.p["ca_cert"])
            if cert is None:
                raise PkiError(
                    f"minispark_tls_ca_cert {self.p['ca_cert']} is not a PEM certificate"
                )
            key = None
            if self.p["ca_key"]:
                key = load_key(self.p["ca_key"])
                if key is None or not same_key(cert, key):
                    raise PkiError(
                        f"minispark_tls_ca_key {self.p['ca_key']} is not the key of "
                        f"{self.p['ca_cert']}: give the CA's unencrypted PEM key"
                    )
            self.put(self.ca_pem, cert.public_bytes(serialization.Encoding.PEM), 0o644)
            return cert, key
        cert, key = load_cert(self.ca_pem), load_key(self.ca_key_path)
        if (
            cert is None
            and key is None
            and read(self.ca_pem) is None
            and read(self.ca_key_path) is None
        ):
            cert, key = new_ca(self.p["ca_name"], self.p["ca_days"])
            self.put(self.ca_key_path, pem(key), 0o600)
            self.put(self.ca_pem, cert.public_bytes(serialization.Encoding.PEM), 0o644)
            return cert, key
        if cert is None or key is None or not same_key(cert, key):
            # Never replaced silently: every host trusts this CA.
            raise PkiError(
                f"{self.ca_pem} and {self.ca_key_path} are not a CA certificate and its key: "
                "restore them from a backup, or remove both to make a new CA (every host then "
                "gets a new certificate)"
            )
        self.ensure_mode(self.ca_key_path, 0o600)
        return cert, key

    def host(self, ca: Any, ca_key: Any, entry: dict[str, Any]) -> dict[str, Any]:
        name = entry["name"]
        if entry["cert"]:
            return self.given(ca, entry)
        cert_path = os.path.join(self.dir, "hosts", f"{name}.pem")
        key_path = os.path.join(self.dir, "hosts", f"{name}.key")
        cert, key = load_cert(cert_path), load_key(key_path)
        reason = self.stale(ca, entry, cert, key)
        if reason is None:
            self.ensure_mode(key_path, 0o600)
            return {
                "cert": cert_path,
                "key": key_path,
                "action": "kept",
                "reason": "",
                "not_after": cert.not_valid_after_utc.isoformat(),
                "sha256": sha256(cert),
                "days_left": days_left(cert),
            }
        if ca_key is None:
            raise PkiError(
                f"{name} has no minispark_tls_cert/minispark_tls_key and minispark_tls_ca_key is "
                "not given: give the host its certificate, or the CA's key to issue one"
            )
        cert, key = issue(ca, ca_key, name, entry["sans"], self.p["cert_days"])
        self.changed = True
        if not self.check:
            write_private(key_path, pem(key), 0o600)
            write_private(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
        return {
            "cert": cert_path,
            "key": key_path,
            "action": "issued",
            "reason": reason,
            "not_after": cert.not_valid_after_utc.isoformat(),
            "sha256": sha256(cert),
            "days_left": days_left(cert),
        }

    def stale(self, ca: Any, entry: dict[str, Any], cert: Any, key: Any) -> str | None:
        """Why the host's certificate must be issued again, or None to keep it."""
        if entry["name"] in self.p["rekey"]:
            return "a new key was asked for"
        if cert is None or key is None:
            return "missing or unreadable"
        if not same_key(cert, key):
            return "the key does not match the certificate"
        if not signed_by(cert, ca):
            return "the CA changed"
        want, have = split_sans(entry["sans"]), cert_sans(cert)
        if entry["exact"] and want != have:
            return "its names and addresses changed"
        if not (want[0] <= have[0] and want[1] <= have[1]):
            return "its names and addresses changed"
        left = days_left(cert)
        if left < self.p["renew_days"]:
            return f"it expires in {left} days"
        return None

    def given(self, ca: Any, entry: dict[str, Any]) -> dict[str, Any]:
        """The operator's certificate for a host: checked, never changed."""
        name = entry["name"]
        must_exist(entry["cert"], f"{name}: minispark_tls_cert")
        must_exist(entry["key"], f"{name}: minispark_tls_key")
        cert = load_cert(entry["cert"])
        if cert is None:
            raise PkiError(f"{name}: minispark_tls_cert {entry['cert']} is not a PEM certificate")
        key = load_key(entry["key"] or "")
        if key is None or not same_key(cert, key):
            raise PkiError(
                f"{name}: minispark_tls_key {entry['key']} is not the key of {entry['cert']}"
            )
        if not signed_by(cert, ca):
            raise PkiError(
                f"{name}: {entry['cert']} is not signed by the CA in minispark_tls_ca_cert: peers "
                "would refuse it; give the CA that issued it"
            )
        return {
            "cert": entry["cert"],
            "key": entry["key"],
            "action": "given",
            "reason": "",
            "not_after": cert.not_valid_after_utc.isoformat(),
            "sha256": sha256(cert),
            "days_left": days_left(cert),
        }

    def run(self) -> dict[str, Any]:
        self.ensure_dir(self.dir)
        ca, ca_key = self.ca()
        if any(not h["cert"] for h in self.p["hosts"]):
            self.ensure_dir(os.path.join(self.dir, "hosts"))
        hosts = {h["name"]: self.host(ca, ca_key, h) for h in self.p["hosts"]}
        fingerprint = sha256(ca)
        return {
            "changed": self.changed,
            "ca": {
                "path": self.ca_pem,
                "sha256": fingerprint,
                "not_after": ca.not_valid_after_utc.isoformat(),
                "days_left": days_left(ca),
            },
            "hosts": hosts,
        }


def main() -> None:
    host_spec = {
        "name": {"type": "str", "required": True},
        "sans": {"type": "list", "elements": "str", "required": True},
        "exact": {"type": "bool", "default": True},
        "cert": {"type": "path"},
        "key": {"type": "path"},
    }
    module = AnsibleModule(
        argument_spec={
            "dir": {"type": "path", "required": True},
            "ca_cert": {"type": "path"},
            "ca_key": {"type": "path", "no_log": False},
            "ca_name": {"type": "str", "default": "minispark cluster CA"},
            "ca_days": {"type": "int", "default": 3650},
            "cert_days": {"type": "int", "default": 365},
            "renew_days": {"type": "int", "default": 30},
            "rekey": {"type": "list", "elements": "str", "default": []},
            "hosts": {"type": "list", "elements": "dict", "default": [], "options": host_spec},
        },
        required_by={"ca_key": "ca_cert"},
        supports_check_mode=True,
    )
    if x509 is None:
        module.fail_json(msg="minispark_pki needs the cryptography package on the controller")
    try:
        result = Pki(module.params, module.check_mode).run()
    except PkiError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()

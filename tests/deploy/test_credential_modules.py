"""The controller's credential modules (roles/minispark/library), run as Ansible runs them:
the module file as a program, given its arguments in a file, answering one JSON object.

No lab: everything happens in a temporary credentials directory. The host certificates are
checked by a real TLS handshake on 127.0.0.1 with host name verification.
"""

from __future__ import annotations

import json
import socket
import ssl
import stat
import threading
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.hashes import SHA256

from tests.deploy.ansible import run_module


def pki(tmp_path: Path, directory: Path, hosts: list[dict[str, Any]], **extra: Any) -> Any:
    return run_module("minispark_pki", {"dir": str(directory), "hosts": hosts, **extra}, tmp_path)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def handshake(creds: Path, host: str, dial: str) -> str | None:
    """Serve hosts/<host>.pem on 127.0.0.1 and connect verifying it as ``dial``; None when
    the handshake succeeds, else the client's reason."""
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(creds / "hosts" / f"{host}.pem", creds / "hosts" / f"{host}.key")
    client_ctx = ssl.create_default_context(cafile=str(creds / "ca.pem"))
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]

        def serve() -> None:
            conn, _ = listener.accept()
            try:
                with server_ctx.wrap_socket(conn, server_side=True):
                    pass
            except (ssl.SSLError, OSError):
                pass

        thread = threading.Thread(target=serve)
        thread.start()
        try:
            with (
                socket.create_connection(("127.0.0.1", port)) as raw,
                client_ctx.wrap_socket(raw, server_hostname=dial),
            ):
                return None
        except ssl.SSLCertVerificationError as exc:
            return exc.verify_message
        finally:
            thread.join()


HOST = {"name": "h1", "sans": ["h1", "127.0.0.1", "h1.lab.example"]}


def test_first_run_makes_the_ca_and_certificates_second_changes_nothing(tmp_path: Path) -> None:
    creds = tmp_path / "credentials"
    first = pki(tmp_path, creds, [HOST])
    assert first["changed"] is True and first["hosts"]["h1"]["action"] == "issued"
    assert mode(creds) == 0o700 and mode(creds / "ca.key") == 0o600
    assert mode(creds / "hosts" / "h1.key") == 0o600
    before = {p.name: p.read_bytes() for p in creds.rglob("*") if p.is_file()}
    second = pki(tmp_path, creds, [HOST])
    assert second["changed"] is False and second["hosts"]["h1"]["action"] == "kept"
    assert {p.name: p.read_bytes() for p in creds.rglob("*") if p.is_file()} == before
    assert second["hosts"]["h1"]["days_left"] == 364
    assert "PRIVATE" not in json.dumps(second)


def test_the_certificate_carries_the_names_and_addresses_peers_dial(tmp_path: Path) -> None:
    creds = tmp_path / "credentials"
    pki(tmp_path, creds, [HOST])
    assert handshake(creds, "h1", "127.0.0.1") is None  # an IP SAN, as for ansible_host
    assert handshake(creds, "h1", "h1") is None
    assert handshake(creds, "h1", "h1.lab.example") is None
    assert "mismatch" in (handshake(creds, "h1", "h2") or "")
    cert = x509.load_pem_x509_certificate((creds / "hosts" / "h1.pem").read_bytes())
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sorted(map(str, sans.get_values_for_type(x509.IPAddress))) == ["127.0.0.1"]
    assert sorted(sans.get_values_for_type(x509.DNSName)) == ["h1", "h1.lab.example"]


def test_changed_names_reissue_a_superset_is_kept_when_the_fqdn_is_unknown(
    tmp_path: Path,
) -> None:
    creds = tmp_path / "credentials"
    pki(tmp_path, creds, [HOST])
    key_before = (creds / "hosts" / "h1.key").read_bytes()
    # Facts not gathered (a --limit run): the known names are in the certificate, kept.
    partial = {"name": "h1", "sans": ["h1", "127.0.0.1"], "exact": False}
    assert pki(tmp_path, creds, [partial])["changed"] is False
    moved = {"name": "h1", "sans": ["h1", "127.0.0.2", "h1.lab.example"]}
    again = pki(tmp_path, creds, [moved])
    assert again["changed"] is True
    assert again["hosts"]["h1"]["reason"] == "its names and addresses changed"
    assert (creds / "hosts" / "h1.key").read_bytes() != key_before
    assert "mismatch" in (handshake(creds, "h1", "127.0.0.1") or "")


def test_a_certificate_close_to_expiry_is_renewed(tmp_path: Path) -> None:
    creds = tmp_path / "credentials"
    pki(tmp_path, creds, [HOST], cert_days=20)
    assert pki(tmp_path, creds, [HOST], renew_days=5)["changed"] is False
    renewed = pki(tmp_path, creds, [HOST], renew_days=30)
    assert renewed["changed"] is True
    assert renewed["hosts"]["h1"]["reason"] == "it expires in 19 days"
    assert renewed["hosts"]["h1"]["days_left"] == 364


def test_check_mode_reports_without_writing(tmp_path: Path) -> None:
    creds = tmp_path / "credentials"
    args = {"dir": str(creds), "hosts": [HOST]}
    checked = run_module("minispark_pki", args, tmp_path, check=True)
    assert checked["changed"] is True and not creds.exists()
    pki(tmp_path, creds, [HOST])
    pem = (creds / "hosts" / "h1.pem").read_bytes()
    moved = {"name": "h1", "sans": ["h1", "127.0.0.9"]}
    checked = run_module("minispark_pki", {**args, "hosts": [moved]}, tmp_path, check=True)
    assert checked["changed"] is True and checked["hosts"]["h1"]["action"] == "issued"
    assert (creds / "hosts" / "h1.pem").read_bytes() == pem
    assert run_module("minispark_pki", args, tmp_path, check=True)["changed"] is False


def test_rekey_gives_a_new_key_under_the_same_ca(tmp_path: Path) -> None:
    creds = tmp_path / "credentials"
    first = pki(tmp_path, creds, [HOST])
    key_before = (creds / "hosts" / "h1.key").read_bytes()
    rekeyed = pki(tmp_path, creds, [HOST], rekey=["h1"])
    assert rekeyed["changed"] is True and rekeyed["ca"]["sha256"] == first["ca"]["sha256"]
    assert (creds / "hosts" / "h1.key").read_bytes() != key_before
    assert handshake(creds, "h1", "127.0.0.1") is None


def test_an_operators_ca_issues_the_host_certificates(tmp_path: Path) -> None:
    theirs = tmp_path / "their-ca"
    pki(tmp_path, theirs, [])
    creds = tmp_path / "credentials"
    ca = {"ca_cert": str(theirs / "ca.pem"), "ca_key": str(theirs / "ca.key")}
    first = pki(tmp_path, creds, [HOST], **ca)
    assert first["changed"] is True
    assert (creds / "ca.pem").read_bytes() == (theirs / "ca.pem").read_bytes()
    assert not (creds / "ca.key").exists()  # the operator's key stays where it is
    assert handshake(creds, "h1", "127.0.0.1") is None
    assert pki(tmp_path, creds, [HOST], **ca)["changed"] is False


def test_a_new_ca_reissues_every_host_certificate(tmp_path: Path) -> None:
    creds = tmp_path / "credentials"
    pki(tmp_path, creds, [HOST])
    other = tmp_path / "other-ca"
    pki(tmp_path, other, [])
    ca = {"ca_cert": str(other / "ca.pem"), "ca_key": str(other / "ca.key")}
    moved = pki(tmp_path, creds, [HOST], **ca)
    assert moved["hosts"]["h1"]["reason"] == "the CA changed"
    assert handshake(creds, "h1", "127.0.0.1") is None


def test_operators_host_certificates_are_checked_and_kept(tmp_path: Path) -> None:
    theirs = tmp_path / "their-ca"
    pki(tmp_path, theirs, [HOST])
    given = {
        **HOST,
        "cert": str(theirs / "hosts" / "h1.pem"),
        "key": str(theirs / "hosts" / "h1.key"),
    }
    creds = tmp_path / "credentials"
    done = pki(tmp_path, creds, [given], ca_cert=str(theirs / "ca.pem"))
    assert done["hosts"]["h1"]["action"] == "given" and not (creds / "hosts").exists()
    stranger = tmp_path / "stranger"
    pki(tmp_path, stranger, [])
    refused = pki(tmp_path, tmp_path / "c2", [given], ca_cert=str(stranger / "ca.pem"))
    assert refused["failed"] is True
    assert refused["msg"] == (
        f"h1: {given['cert']} is not signed by the CA in minispark_tls_ca_cert: peers would "
        "refuse it; give the CA that issued it"
    )
    # Without the CA's key a host without its own certificate cannot get one.
    bare = pki(tmp_path, tmp_path / "c3", [HOST], ca_cert=str(theirs / "ca.pem"))
    assert bare["failed"] is True and "h1 has no minispark_tls_cert" in bare["msg"]


def test_a_broken_ca_is_never_replaced_silently(tmp_path: Path) -> None:
    creds = tmp_path / "credentials"
    pki(tmp_path, creds, [HOST])
    other = tmp_path / "other"
    pki(tmp_path, other, [])
    (creds / "ca.key").write_bytes((other / "ca.key").read_bytes())
    pem = (creds / "ca.pem").read_bytes()
    broken = pki(tmp_path, creds, [HOST])
    assert broken["failed"] is True and "are not a CA certificate and its key" in broken["msg"]
    assert (creds / "ca.pem").read_bytes() == pem


# ---- minispark_secret ------------------------------------------------------------------------


def secret(tmp_path: Path, path: Path, check: bool = False, **args: Any) -> Any:
    return run_module("minispark_secret", {"path": str(path), **args}, tmp_path, check=check)


def test_a_secret_is_generated_once_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "credentials" / "minispark.secret"
    assert secret(tmp_path, path, check=True)["changed"] is True and not path.exists()
    first = secret(tmp_path, path)
    assert first["changed"] is True and first["lines"] == 1
    value = path.read_text()
    assert len(value.strip()) == 43 and value.endswith("\n")  # 32 bytes, URL-safe base64
    assert set(value.strip()) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    )
    assert mode(path) == 0o600 and mode(path.parent) == 0o700
    assert secret(tmp_path, path)["changed"] is False and path.read_text() == value
    assert value.strip() not in json.dumps(first)
    other = secret(tmp_path, tmp_path / "credentials" / "zookeeper.secret")
    assert other["changed"] is True
    assert (tmp_path / "credentials" / "zookeeper.secret").read_text() != value


def test_the_inventorys_secret_wins_and_is_not_returned(tmp_path: Path) -> None:
    path = tmp_path / "minispark.secret"
    secret(tmp_path, path)
    given = secret(tmp_path, path, value="from-the-vault")
    assert given["changed"] is True and path.read_text() == "from-the-vault\n"
    assert "from-the-vault" not in json.dumps(given)
    assert secret(tmp_path, path, value="from-the-vault")["changed"] is False
    bad = secret(tmp_path, path, value="two\nlines")
    assert bad["failed"] is True and "one line" in bad["msg"]


def test_rotation_steps_and_their_resumption(tmp_path: Path) -> None:
    path = tmp_path / "minispark.secret"
    staged_path = tmp_path / "minispark.secret.next"
    secret(tmp_path, path)
    old = path.read_text().strip()
    assert secret(tmp_path, path, state="staged")["changed"] is True
    new, kept = staged_path.read_text().split()
    assert kept == old and new != old and path.read_text().strip() == old
    # Run again after an interruption: the same new secret, nothing written.
    assert secret(tmp_path, path, state="staged")["changed"] is False
    assert secret(tmp_path, path, state="promoted")["changed"] is True
    assert path.read_text().split() == [new, old] and not staged_path.exists()
    assert mode(path) == 0o600
    assert secret(tmp_path, path, state="promoted")["changed"] is False
    # Staging again now reuses both (every host already accepts them).
    assert secret(tmp_path, path, state="staged")["lines"] == 2
    assert staged_path.read_text().split() == [new, old]
    secret(tmp_path, path, state="promoted")
    assert secret(tmp_path, path, state="finished", check=True)["changed"] is True
    assert path.read_text().split() == [new, old]
    assert secret(tmp_path, path, state="finished")["changed"] is True
    assert path.read_text() == f"{new}\n"
    assert secret(tmp_path, path)["changed"] is False


def test_rotation_needs_an_existing_secret(tmp_path: Path) -> None:
    refused = secret(tmp_path, tmp_path / "none.secret", state="staged")
    assert refused["failed"] is True
    assert (
        refused["msg"]
        == f"{tmp_path / 'none.secret'} is missing: run site.yml first, which makes it"
    )


def test_the_warning_module_warns_and_changes_nothing(tmp_path: Path) -> None:
    done = run_module("minispark_warning", {"msg": "auth is off"}, tmp_path)
    assert done["changed"] is False
    assert [w["event"]["msg"] for w in done["warnings"]] == ["auth is off"]


def test_tls_expiry_reads_the_served_certificate_and_warns_ahead(tmp_path: Path) -> None:
    creds = tmp_path / "credentials"
    pki(tmp_path, creds, [HOST], cert_days=20)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(creds / "hosts" / "h1.pem", creds / "hosts" / "h1.key")
    with socket.create_server(("127.0.0.1", 0)) as listener:
        address = f"127.0.0.1:{listener.getsockname()[1]}"

        def serve() -> None:
            conn, _ = listener.accept()
            try:
                with ctx.wrap_socket(conn, server_side=True):
                    pass
            except (ssl.SSLError, OSError):
                pass

        thread = threading.Thread(target=serve)
        thread.start()
        args = {"endpoints": {"h1 master": address, "gone": "127.0.0.1:1"}, "warn_days": 30}
        done = run_module("minispark_tls_expiry", args, tmp_path)
        thread.join()
    served = done["certificates"]["h1 master"]
    cert = x509.load_pem_x509_certificate((creds / "hosts" / "h1.pem").read_bytes())
    assert served["days_left"] == 19 and served["sha256"] == cert.fingerprint(SHA256()).hex()
    assert done["certificates"]["gone"]["error"] == "no certificate read: Connection refused"
    warnings = [w["event"]["msg"] for w in done["warnings"]]
    assert warnings == [
        f"h1 master {address}: its certificate expires in 19 days: run playbooks/site.yml, "
        "which issues a new one from 30 days before"
    ]
    assert done["changed"] is False

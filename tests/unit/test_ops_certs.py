"""Certificate expiry (days left, the 30-day warning) and the HTTPS probes, against real TLS
servers on 127.0.0.1 serving certificates made here: valid, expiring in 10 days, expired,
from another CA, for another address."""

from __future__ import annotations

import datetime as dt
import http.server
import socket
import ssl
import threading
from pathlib import Path

import pytest

from minispark.ops import certs, probes
from minispark.ops.__main__ import main
from minispark.ops.certs import Expiry, days_left, not_after
from minispark.ops.probes import ProbeError, master_state, web_call
from minispark.ops.tls import Tls
from tests.unit.opscerts import Authority, address, https_server

NOW = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)


# ---- pure logic ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("delta", "days"),
    [
        (dt.timedelta(days=90), 90),
        (dt.timedelta(days=10, hours=23), 10),
        (dt.timedelta(hours=5), 0),
        (dt.timedelta(hours=-5), -1),
        (dt.timedelta(days=-3), -3),
    ],
)
def test_days_left_counts_whole_days(delta: dt.timedelta, days: int) -> None:
    assert days_left(NOW + delta, NOW) == days


def test_the_warning_starts_under_thirty_days() -> None:
    def at(days: float) -> Expiry:
        return Expiry("master m1", "10.0.0.1:8080", NOW + dt.timedelta(days=days))

    assert at(30).warning(NOW) is None
    soon = at(29.5).warning(NOW)
    assert soon is not None and "master m1 10.0.0.1:8080 expires in 29 days" in soon
    assert at(29.5).warning(NOW, warn_days=7) is None
    gone = at(-1).warning(NOW)
    assert gone is not None and "expired on 2026-12-02" in gone and "rotate-credentials" in gone
    assert at(-1).expired(NOW) and not at(1).expired(NOW)
    assert Expiry("worker w1", "x:1", reason="cannot connect").warning(NOW) is None


def test_not_after_reads_the_der(tmp_path: Path) -> None:
    ca = Authority.make(tmp_path)
    cert_file, _, expires = ca.issue(tmp_path, "m1", days=10)
    der = ssl.PEM_cert_to_DER_cert(cert_file.read_text())
    assert not_after(der) == expires
    with pytest.raises(ValueError):
        not_after(b"\x30\x03\x02\x01")
    with pytest.raises(ValueError):
        not_after(b"garbage")


# ---- against real TLS servers -------------------------------------------------------------


@pytest.fixture
def ca(tmp_path: Path) -> Authority:
    return Authority.make(tmp_path / "ca")


@pytest.mark.parametrize("days", [400, 10, -2])
def test_the_served_certificates_expiry_is_read(ca: Authority, tmp_path: Path, days: int) -> None:
    cert, key, expires = ca.issue(tmp_path, "m1", days=days)
    with https_server(cert, key, {"s"}) as server:
        found = certs.expiry("master m1", address(server))
    assert found.expires == expires and found.reason == ""
    now = dt.datetime.now(dt.UTC)
    assert found.expired(now) == (days < 0)
    warning = found.warning(now)
    assert (warning is None) == (days >= 30)
    if days == 10:
        assert warning is not None and "expires in 9 days" in warning


def test_a_port_without_tls_gives_a_reason_not_a_date() -> None:
    with socket.socket() as idle:
        idle.bind(("127.0.0.1", 0))
        port = idle.getsockname()[1]
    found = certs.expiry("worker w1", f"127.0.0.1:{port}")
    assert found.expires is None and "cannot connect" in found.reason


def test_https_probes_verify_and_send_the_secret(ca: Authority, tmp_path: Path) -> None:
    cert, key, _ = ca.issue(tmp_path, "m1", days=400)
    tls = Tls.load(str(ca.ca_file))
    with https_server(cert, key, {"s3cret"}) as server:
        assert master_state(address(server), secret="s3cret", tls=tls)["status"] == "ALIVE"
        refused = r"GET /json refused the secret sent \(HTTP 401\): give the cluster's current"
        with pytest.raises(ProbeError, match=refused):
            master_state(address(server), secret="wrong", tls=tls)
        # The open endpoints need none.
        status, _ = web_call(address(server), "/readyz", what="master x", tls=tls)
        assert status == 200


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("expired", "certificate has expired"),
        ("other CA", "unable to get local issuer certificate"),
        ("other address", "IP address mismatch"),
    ],
)
def test_an_untrusted_certificate_names_the_ca_file(
    ca: Authority, tmp_path: Path, kind: str, reason: str
) -> None:
    if kind == "expired":
        cert, key, _ = ca.issue(tmp_path, "m1", days=-1)
    elif kind == "other CA":
        cert, key, _ = Authority.make(tmp_path / "rogue", "rogue CA").issue(
            tmp_path, "m1", days=400
        )
    else:
        cert, key, _ = ca.issue(tmp_path, "m1", days=400, ip="10.9.9.9")
    tls = Tls.load(str(ca.ca_file))
    with https_server(cert, key, {"s"}) as server:
        with pytest.raises(ProbeError) as caught:
            master_state(address(server), secret="s", tls=tls)
        # The state probe reports it, not raises it.
        assert probes.probe_master(address(server), tls=tls)["status"] == "UNREACHABLE"
    message = str(caught.value)
    assert "\n" not in message
    assert f"master {address(server)}: TLS certificate refused" in message
    assert reason in message and f"issued by the CA in {ca.ca_file}" in message


def test_plain_http_to_an_https_port_and_back(ca: Authority, tmp_path: Path) -> None:
    cert, key, _ = ca.issue(tmp_path, "m1", days=400)
    with https_server(cert, key, {"s"}) as server:
        with pytest.raises(ProbeError, match=r"broken HTTP answer.*does it serve HTTPS"):
            master_state(address(server), secret="s")
        # The server still serves a well-behaved client after that.
        assert master_state(address(server), secret="s", tls=Tls.load(str(ca.ca_file)))


def test_the_cli_takes_the_ca_and_reports_expiry(
    ca: Authority, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good, good_key, _ = ca.issue(tmp_path, "m1", days=400)
    soon, soon_key, _ = ca.issue(tmp_path, "w1", days=10)
    secret = tmp_path / "secret"
    secret.write_text("s3cret\nold\n")
    with https_server(good, good_key, {"s3cret"}) as m1, https_server(soon, soon_key, set()) as w1:
        argv = ["--ca-file", str(ca.ca_file), "--secret-file", str(secret)]
        assert main([*argv, "master-state", address(m1)]) == 0
        assert '"status": "ALIVE"' in capsys.readouterr().out
        assert main(["certs", f"{address(m1)},{address(w1)}"]) == 0
        out = capsys.readouterr().out
    assert '"days_left": 399' in out and '"days_left": 9' in out
    assert f"{address(w1)} expires in 9 days" in out and '"problems": []' in out


def test_the_cli_names_a_missing_ca_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--ca-file", str(tmp_path / "nope.pem"), "master-state", "127.0.0.1:1"])
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"CA certificate {tmp_path / 'nope.pem'} does not" in err


def test_https_to_a_plain_http_port_says_tls_is_off_there(ca: Authority) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        where = f"127.0.0.1:{server.server_address[1]}"
        with pytest.raises(ProbeError) as caught:
            master_state(where, tls=Tls.load(str(ca.ca_file)))
        found = certs.expiry("master m1", where)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert f"master {where}: does not speak HTTPS" in str(caught.value)
    assert "minispark_tls_enabled" in str(caught.value)
    assert found.expires is None and "TLS handshake failed" in found.reason

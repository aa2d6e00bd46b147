"""The web ports of real daemons with auth and TLS on: who gets in, who is turned away."""

from __future__ import annotations

import base64
import socket
import ssl
import urllib.error
import urllib.request
from pathlib import Path

from tests.certs import make_cluster_certs

from .harness import Cluster, Daemon, url_of, wait_for

SECRET = "web-secret-0123"
PROBES = ("/healthz", "/readyz", "/metrics")


def _auth(secret_file: Path) -> tuple[str, ...]:
    return ("spark.authenticate=true", f"spark.authenticate.secret.file={secret_file}")


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def basic(secret: str, user: str = "admin") -> dict[str, str]:
    token = base64.b64encode(f"{user}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def fetch(
    url: str,
    headers: dict[str, str] | None = None,
    *,
    method: str = "GET",
    context: ssl.SSLContext | None = None,
) -> tuple[int, dict[str, str], str]:
    data = b"" if method == "POST" else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    # No redirects followed: a kill form answers 303, and that answer is what we check.
    opener = urllib.request.build_opener(
        urllib.request.HTTPSHandler(context=context), _NoRedirect()
    )
    try:
        with opener.open(request, timeout=10) as reply:
            return reply.status, dict(reply.headers), reply.read().decode()
    except urllib.error.HTTPError as err:
        with err:
            return err.code, dict(err.headers), err.read().decode()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _protected(master: Daemon, worker: Daemon) -> list[tuple[str, str]]:
    """(method, url) of every endpoint that needs the secret, on both daemons."""
    m, w = master.web, worker.web
    return [
        ("GET", f"{m}/"),
        ("GET", f"{m}/json"),
        ("GET", f"{m}/json/workers"),
        ("GET", f"{m}/v1/submissions/status/driver-1"),
        ("POST", f"{m}/v1/submissions/create"),
        ("POST", f"{m}/v1/submissions/kill/driver-1"),
        ("POST", f"{m}/app/kill?id=app-none"),
        ("POST", f"{m}/workers/kill?host=nohost"),
        ("GET", f"{w}/"),
        ("GET", f"{w}/json"),
        ("GET", f"{w}/logPage/?appId=app-1&executorId=0&logType=stdout"),
    ]


def test_every_page_but_the_probes_needs_the_secret(cluster: Cluster, tmp_path: Path) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text(SECRET + "\n")
    master = cluster.master(*_auth(secret_file))
    worker = cluster.worker(url_of(master), *_auth(secret_file))
    cluster.wait_registered(master, 1)
    wait_for(lambda: fetch(worker.web + "/healthz")[0] == 200, "the worker's web port")

    for method, url in _protected(master, worker):
        for headers in ({}, bearer("guess"), basic("guess"), basic(SECRET[:-1])):
            status, reply_headers, body = fetch(url, headers, method=method)
            assert status == 401, (method, url, headers)
            assert reply_headers["WWW-Authenticate"] == 'Basic realm="minispark"'
            assert "Bearer <secret>" in body
        for headers in (bearer(SECRET), basic(SECRET), basic(SECRET, user="")):
            status, _, _ = fetch(url, headers, method=method)
            assert status not in (401, 403), (method, url, status)
    for daemon in (master, worker):
        for probe in PROBES:
            assert fetch(daemon.web + probe)[0] == 200, (daemon.name, probe)
    # The secret in a query string is not a credential.
    assert fetch(f"{master.web}/json?secret={SECRET}")[0] == 401

    log = master.log()
    assert "web port refused 127.0.0.1:" in log and ": no credentials (GET /)" in log
    assert "wrong secret" in log and "Traceback" not in log and SECRET not in log
    assert master.alive() and worker.alive()
    assert master.json()["aliveworkers"] == 1  # the harness's own call, with the secret


def test_a_rotation_of_the_secret_file_reaches_the_web_ports(
    cluster: Cluster, tmp_path: Path
) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text("new-secret\nold-secret\n")
    master = cluster.master(*_auth(secret_file))
    for secret in ("new-secret", "old-secret"):  # during the roll both are accepted
        assert fetch(master.web + "/json", bearer(secret))[0] == 200, secret
    secret_file.write_text("new-secret\n")  # the roll is over: the old one goes
    assert fetch(master.web + "/json", bearer("old-secret"))[0] == 401
    assert fetch(master.web + "/json", basic("new-secret"))[0] == 200


def test_ui_authenticate_closes_the_probes(cluster: Cluster, tmp_path: Path) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text(SECRET)
    master = cluster.master(*_auth(secret_file), "minispark.ui.authenticate=true")
    for probe in PROBES:
        assert fetch(master.web + probe)[0] == 401, probe
        assert fetch(master.web + probe, bearer(SECRET))[0] == 200, probe


def test_https_port_refuses_plain_http_and_serves_https(cluster: Cluster, tmp_path: Path) -> None:
    certs = make_cluster_certs(tmp_path / "tls")
    secret_file = tmp_path / "secret"
    secret_file.write_text(SECRET)
    tls = (
        "minispark.ssl.enabled=true",
        f"minispark.ssl.certFile={certs.cert}",
        f"minispark.ssl.keyFile={certs.key}",
        f"minispark.ssl.caFile={certs.ca}",
    )
    master = cluster.master(*_auth(secret_file), *tls, wait=False)
    worker = cluster.worker(url_of(master), *_auth(secret_file), *tls)
    https = f"https://127.0.0.1:{master.webui_port}"
    verified = ssl.create_default_context(cafile=str(certs.ca))  # and the IP SAN is checked

    def workers() -> list[dict[str, str]] | None:
        try:
            status, _, body = fetch(f"{https}/json/workers", bearer(SECRET), context=verified)
        except OSError:
            return None
        return body if status == 200 and "ALIVE" in body else None  # type: ignore[return-value]

    wait_for(workers, "the worker to register over TLS")

    # Plain HTTP: an answer that says to use https, and a line in the log naming the peer.
    with socket.create_connection(("127.0.0.1", master.webui_port)) as plain:
        plain.sendall(b"GET /json HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        peer_port = plain.getsockname()[1]
        reply = _read_all(plain)
    assert reply.startswith(b"HTTP/1.1 400 ") and b"use https://127.0.0.1/" in reply
    wait_for(lambda: "plain HTTP on the HTTPS port" in master.log(), "the refusal's log line")
    line = next(x for x in master.log().splitlines() if "plain HTTP on the HTTPS port" in x)
    assert f"refused 127.0.0.1:{peer_port}:" in line and "'GET /json HTTP/1.1'" in line

    # The port keeps serving HTTPS, with the secret, and links between the pages say https.
    status, _, body = fetch(f"{https}/", basic(SECRET), context=verified)
    assert status == 200 and f'href="https://127.0.0.1:{worker.webui_port}"' in body
    assert fetch(f"{https}/json", context=verified)[0] == 401
    assert master.alive() and "Traceback" not in master.log()


def _read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(4096):
        chunks.append(chunk)
    return b"".join(chunks)

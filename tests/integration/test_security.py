"""Authentication, TLS, and hostile bytes against real daemons."""

from __future__ import annotations

import contextlib
import socket
import ssl
import subprocess
import urllib.request
from pathlib import Path

import msgspec
import psutil
import pytest

from minispark import SparkConf, SparkContext
from minispark.protocol import Hello, RegisterWorker

from .harness import Cluster, app_conf, http, url_of, wait_for

SECRET = "correct horse battery staple"
AUTH = ("spark.authenticate=true", f"spark.authenticate.secret={SECRET}")


def _conf(url: str, *pairs: str) -> SparkConf:
    return app_conf(url, *pairs, name="secure")


def test_authenticated_cluster_runs_and_refuses_strangers(cluster: Cluster) -> None:
    master = cluster.master(*AUTH)
    cluster.worker(url_of(master), *AUTH)
    intruder = cluster.worker(
        url_of(master), "spark.authenticate=true", "spark.authenticate.secret=guess"
    )
    cluster.wait_registered(master, 1)
    wait_for(lambda: "authentication failed" in master.log(), "the wrong secret to be refused")
    assert "refused: authentication failed" in intruder.log()
    assert SECRET not in master.log() and "(redacted)" in master.log()  # never logged
    assert master.json()["aliveworkers"] == 1

    # An authenticated driver gets executors, which authenticate to driver and worker too.
    with SparkContext(conf=_conf(url_of(master), *AUTH)) as sc:
        sc.wait_for_executors(1)
        app_id = sc.applicationId
        # Mutating HTTP endpoints need the secret as well.
        assert http(master.web + "/app/kill", method="POST", data=f"id={app_id}".encode())[0] == 401
        status, _ = http(
            master.web + "/app/kill",
            method="POST",
            data=f"id={app_id}".encode(),
            headers={"Authorization": f"Bearer {SECRET}"},
        )
        assert status in (200, 303)
        wait_for(lambda: sc._client.status.ended, "the kill to reach the driver")
        assert sc._client.status.ended.startswith("KILLED")


def test_driver_without_the_secret_gets_a_clear_error(cluster: Cluster) -> None:
    master = cluster.master(*AUTH)
    with pytest.raises(ConnectionError, match="requires authentication"):
        SparkContext(conf=_conf(url_of(master)))


def test_secret_on_one_side_only_is_refused_by_the_client(cluster: Cluster) -> None:
    master = cluster.master()
    with pytest.raises(ConnectionError, match="off on the server"):
        SparkContext(conf=_conf(url_of(master), *AUTH))


def _frame(payload: bytes) -> bytes:
    return len(payload).to_bytes(4, "big") + payload


def _hostile_payloads() -> dict[str, bytes]:
    enc = msgspec.msgpack.encode
    old_hello = Hello(protocol="minispark", version=999, role="x", nonce=b"n")
    return {
        "http": b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        "huge frame": (2**31).to_bytes(4, "big") + b"x" * 100,
        "truncated": (100).to_bytes(4, "big") + b"short",
        "not msgpack": _frame(b"\xc1\xc1\xc1"),
        "wrong type": _frame(enc((0, 0, {"type": "Nope"}))),
        "wrong version": _frame(enc((0, 0, old_hello))),
        "message before handshake": _frame(
            enc(
                (
                    0,
                    0,
                    RegisterWorker(
                        worker_id="w",
                        host="h",
                        port=1,
                        cores=1,
                        memory_mb=1,
                        webui_url="",
                        master_address="",
                    ),
                )
            )
        ),
        "empty": b"",
    }


def test_hostile_bytes_are_refused_and_the_master_keeps_serving(cluster: Cluster) -> None:
    master = cluster.master()
    for name, payload in _hostile_payloads().items():
        with socket.create_connection(("127.0.0.1", master.port), timeout=15) as sock:
            sock.sendall(payload)
            sock.shutdown(socket.SHUT_WR)
            sock.settimeout(15)
            try:
                while sock.recv(4096):
                    pass  # drain until the master closes the connection
            except (ConnectionResetError, TimeoutError) as exc:
                assert isinstance(exc, ConnectionResetError), f"{name}: connection left open"
    assert master.alive()
    log = master.log()
    assert log.count("refused a connection") >= 6
    assert "protocol version 999 is not supported" in log
    assert "Traceback" not in log
    cluster.worker(url_of(master))
    cluster.wait_registered(master, 1)
    assert http(master.web + "/healthz")[0] == 200


def _certificates(root: Path) -> tuple[Path, Path, Path]:
    ca_key, ca, key, csr, cert = (
        root / n for n in ("ca.key", "ca.pem", "node.key", "node.csr", "node.pem")
    )
    run = lambda *a: subprocess.run(["openssl", *a], check=True, capture_output=True)  # noqa: E731
    run(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        str(ca_key),
        "-out",
        str(ca),
        "-days",
        "2",
        "-subj",
        "/CN=minispark-test-ca",
    )
    run(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        str(key),
        "-out",
        str(csr),
        "-subj",
        "/CN=node",
    )
    run(
        "x509",
        "-req",
        "-in",
        str(csr),
        "-CA",
        str(ca),
        "-CAkey",
        str(ca_key),
        "-CAcreateserial",
        "-out",
        str(cert),
        "-days",
        "2",
    )
    return cert, key, ca


def _tls(cert: Path, key: Path, ca: Path) -> tuple[str, ...]:
    return (
        "minispark.ssl.enabled=true",
        f"minispark.ssl.certFile={cert}",
        f"minispark.ssl.keyFile={key}",
        f"minispark.ssl.caFile={ca}",
    )


def test_tls_cluster_registers_and_serves_https(cluster: Cluster, tmp_path: Path) -> None:
    cert, key, ca = _certificates(tmp_path)
    tls = _tls(cert, key, ca)
    master = cluster.master(*tls, wait=False)
    cluster.worker(url_of(master), *tls)
    wait_for(lambda: "registered worker" in master.log(), "a TLS registration")
    context = ssl.create_default_context(cafile=str(ca))
    context.check_hostname = False
    with urllib.request.urlopen(
        f"https://127.0.0.1:{master.webui_port}/readyz", context=context
    ) as r:
        assert r.status == 200
    with SparkContext(conf=_conf(url_of(master), *tls)) as sc:
        sc.wait_for_executors(1)
    # A client without TLS cannot even start the handshake.
    with socket.create_connection(("127.0.0.1", master.port), timeout=15) as sock:
        sock.sendall(
            _frame(
                msgspec.msgpack.encode(
                    (0, 0, Hello(protocol="minispark", version=1, role="x", nonce=b"n"))
                )
            )
        )
        sock.settimeout(15)
        reply = sock.recv(4096)
    # OpenSSL answers plain bytes with an alert record (0x15) and closes; never a Challenge.
    assert reply[:1] in (b"", b"\x15"), reply[:20]
    assert master.alive()


def test_local_cluster_with_tls(tmp_path: Path) -> None:
    cert, key, ca = _certificates(tmp_path)
    tls = _tls(cert, key, ca)
    with SparkContext(conf=_conf("local-cluster[1,1,512]", *tls)) as sc:
        assert len(sc.wait_for_executors(1)) == 1


def test_local_cluster_keeps_the_secret_off_command_lines() -> None:
    with SparkContext(conf=_conf("local-cluster[1,1,512]", *AUTH)) as sc:
        assert sc.parallelize(range(4), 2).sum() == 6  # executors authenticated
        started = psutil.Process().children(recursive=True)  # daemons and executors
        assert len(started) >= 3
        for proc in started:
            with contextlib.suppress(psutil.NoSuchProcess):
                assert SECRET not in " ".join(proc.cmdline()), proc

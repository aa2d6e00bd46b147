"""Authentication, TLS, and hostile bytes against real daemons."""

from __future__ import annotations

import contextlib
import socket
import ssl
import urllib.request
from pathlib import Path

import msgspec
import psutil
import pytest

from minispark import SparkConf, SparkContext
from minispark.protocol import Hello, Refused, RegisterWorker
from tests.certs import Pki, tls_conf

from .harness import Cluster, app_conf, cli, http, url_of, wait_for

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
    # Keyrings agree on a secret by id: a wrong one is no shared secret, named at once.
    wait_for(lambda: "no shared secret with a worker" in master.log(), "the wrong secret refused")
    assert "refused: no shared secret: pass --conf spark.authenticate.secret.file=" in (
        intruder.log()
    )
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


def test_submit_without_the_secret_says_which_file_to_pass_in_one_line(
    cluster: Cluster, tmp_path: Path
) -> None:
    master = cluster.master(*AUTH)
    app = tmp_path / "count.py"
    app.write_text(
        "from minispark import SparkContext\n"
        "with SparkContext(appName='count') as sc:\n"
        "    print(sc.parallelize(range(10)).count())\n"
    )
    done = cli("submit", "--master", url_of(master), str(app))
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "requires authentication" in lines[0]
    assert "spark.authenticate.secret.file" in lines[0]


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


def _pki(root: Path) -> tuple[Pki, tuple[str, ...]]:
    pki = Pki(root / "pki")
    return pki, tls_conf(pki.issue("node"), pki.ca)


def test_tls_cluster_registers_and_serves_https(cluster: Cluster, tmp_path: Path) -> None:
    pki, tls = _pki(tmp_path)
    ca = pki.ca
    master = cluster.master(*tls, wait=False)
    cluster.worker(url_of(master), *tls)
    wait_for(lambda: "registered worker" in master.log(), "a TLS registration")
    context = ssl.create_default_context(cafile=str(ca))
    with urllib.request.urlopen(
        f"https://127.0.0.1:{master.webui_port}/readyz", context=context
    ) as r:
        assert r.status == 200
    with SparkContext(conf=_conf(url_of(master), *tls)) as sc:
        sc.wait_for_executors(1)
    # A client without TLS gets no Challenge: a plain Refused that says which file to pass.
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
    _, _, refused = msgspec.msgpack.decode(reply[4:], type=tuple[int, int, Refused])
    assert "this port speaks TLS: pass --conf minispark.ssl.caFile=" in refused.reason
    assert master.alive()


def test_local_cluster_with_tls(tmp_path: Path) -> None:
    _, tls = _pki(tmp_path)
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


def _word_count(sc: SparkContext) -> list[tuple[str, int]]:
    words = sc.parallelize(["a b a", "c a b", "b a"] * 10, 4).flatMap(str.split)
    return sorted(words.map(lambda w: (w, 1)).reduceByKey(lambda x, y: x + y, 3).collect())


def test_driver_with_only_the_secret_and_ca_runs_a_shuffle(
    cluster: Cluster, tmp_path: Path
) -> None:
    pki, tls = _pki(tmp_path)
    secret = tmp_path / "minispark.secret"
    secret.write_text(SECRET + "\n")
    daemon = (*tls, "spark.authenticate=true", f"spark.authenticate.secret.file={secret}")
    master = cluster.master(*daemon, wait=False)
    cluster.worker(url_of(master), *daemon)
    cluster.worker(url_of(master), *daemon)
    wait_for(lambda: master.log().count("registered worker") >= 2, "two TLS registrations")
    # What a user outside the cluster has: two files, no certificate, no switches.
    two_files = (f"spark.authenticate.secret.file={secret}", f"minispark.ssl.caFile={pki.ca}")
    with SparkContext(conf=_conf(url_of(master), *two_files)) as sc:
        sc.wait_for_executors(2)
        assert _word_count(sc) == [("a", 40), ("b", 30), ("c", 10)]
    assert "refused a connection" not in master.log()


def test_clients_missing_a_file_are_told_which_one(cluster: Cluster, tmp_path: Path) -> None:
    pki, tls = _pki(tmp_path)
    master = cluster.master(*tls, *AUTH, wait=False)
    wait_for(lambda: "elected leader" in master.log(), "the master to lead")
    with pytest.raises(ConnectionError, match=r"pass --conf minispark\.ssl\.caFile=<path"):
        SparkContext(conf=_conf(url_of(master), *AUTH))
    with pytest.raises(ConnectionError, match=r"pass --conf spark\.authenticate\.secret\.file="):
        SparkContext(conf=_conf(url_of(master), f"minispark.ssl.caFile={pki.ca}"))
    other = Pki(tmp_path / "other", "other")
    with pytest.raises(ConnectionError, match=r"not trusted .*minispark\.ssl\.caFile"):
        SparkContext(conf=_conf(url_of(master), *AUTH, f"minispark.ssl.caFile={other.ca}"))
    log = master.log()
    assert "plain TCP (not a TLS handshake) on a TLS port" in log
    assert "left after the challenge without proving a secret" in log
    assert "during the TLS handshake" in log
    assert "Traceback" not in log and master.alive()


def test_tls_hostile_peers_are_refused_and_the_master_keeps_serving(
    cluster: Cluster, tmp_path: Path
) -> None:
    pki, tls = _pki(tmp_path)
    master = cluster.master(*tls, wait=False)
    wait_for(lambda: "master listening" in master.log(), "the master to listen")
    for payload in _hostile_payloads().values():
        with socket.create_connection(("127.0.0.1", master.port), timeout=15) as sock:
            sock.sendall(payload)
            sock.shutdown(socket.SHUT_WR)
            sock.settimeout(15)
            with contextlib.suppress(ConnectionResetError):
                while sock.recv(4096):
                    pass  # drain until the master closes the connection
    # A client certificate from another CA is refused by the server's own check.
    intruder = Pki(tmp_path / "other", "other").issue("intruder")
    context = ssl.create_default_context(cafile=str(pki.ca))
    context.load_cert_chain(intruder.cert, intruder.key)
    with (
        socket.create_connection(("127.0.0.1", master.port), timeout=15) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as sock,
        contextlib.suppress(ssl.SSLError, ConnectionError),
    ):
        sock.sendall(b"x")
        sock.recv(10)
    wait_for(lambda: "client certificate refused" in master.log(), "the intruder's refusal")
    log = master.log()
    assert "plain HTTP on a TLS port" in log
    assert "plain TCP (not a TLS handshake) on a TLS port" in log
    assert "Traceback" not in log and master.alive()
    cluster.worker(url_of(master), *tls)
    wait_for(lambda: "registered worker" in master.log(), "a TLS registration after all that")


def test_secret_rotation_without_restarting_the_daemons(cluster: Cluster, tmp_path: Path) -> None:
    master_secret, worker_secret = tmp_path / "master.secret", tmp_path / "worker.secret"
    master_secret.write_text("new\nold\n")  # the roll has reached the master only
    worker_secret.write_text("old\n")
    master = cluster.master(
        "spark.authenticate=true", f"spark.authenticate.secret.file={master_secret}"
    )
    cluster.worker(url_of(master), f"spark.authenticate.secret.file={worker_secret}")
    cluster.wait_registered(master, 1)
    old_file = tmp_path / "old.secret"
    old_file.write_text("old\n")
    new_file = tmp_path / "new.secret"
    new_file.write_text("new\nold\n")
    for file in (old_file, new_file):  # new connections during the window: either works
        with SparkContext(
            conf=_conf(url_of(master), f"spark.authenticate.secret.file={file}")
        ) as sc:
            assert sc.parallelize(range(10), 2).sum() == 45
    # The roll ends: "new" alone everywhere, written in place of the old files.
    for path in (master_secret, worker_secret):
        fresh = path.with_suffix(".tmp")
        fresh.write_text("new\n")
        fresh.replace(path)
    with pytest.raises(ConnectionError, match="no shared secret"):
        SparkContext(conf=_conf(url_of(master), f"spark.authenticate.secret.file={old_file}"))
    # The master logs the refusal after answering it: wait for the line, do not race it.
    wait_for(lambda: "no shared secret with a driver" in master.log(), "the refusal's log line")
    only_new = tmp_path / "only-new.secret"
    only_new.write_text("new\n")
    with SparkContext(
        conf=_conf(url_of(master), f"spark.authenticate.secret.file={only_new}")
    ) as sc:
        assert sc.parallelize(range(10), 2).sum() == 45  # executors reach worker and driver
    assert master.alive() and master.json()["aliveworkers"] == 1

"""Configuration sources and systemd readiness, through the real CLI."""

from __future__ import annotations

import socket
from pathlib import Path

from .harness import Cluster, url_of, wait_for


def test_env_file_and_daemon_opts_configure_a_worker(cluster: Cluster) -> None:
    conf_dir = cluster.root / "conf"
    conf_dir.mkdir(parents=True, exist_ok=True)
    (conf_dir / "minispark-env").write_text(
        "# as the Ansible role renders it\n"
        'MINISPARK_WORKER_CORES="3"\n'
        "MINISPARK_WORKER_MEMORY=1536m\n"
        'MINISPARK_DAEMON_OPTS="-Dspark.worker.timeout=7s -Dspark.deploy.spreadOut=false"\n'
    )
    master = cluster.master()
    # Started without --cores/--memory (the harness always passes them): the env file decides.
    args = [
        "worker",
        url_of(master),
        "--host",
        "127.0.0.1",
        "--webui-port",
        "0",
        "--work-dir",
        str(cluster.root / "bare"),
    ]
    bare = cluster._spawn("bare", args, [], None)
    try:
        (info,) = wait_for(
            lambda: [w for w in master.json()["workers"] if w["state"] == "ALIVE"], "registration"
        )
        assert (info["cores"], info["memory"]) == (3, 1536)
        # MINISPARK_DAEMON_OPTS from the same file reached both daemons.
        expected = "spark.deploy.spreadOut=false, spark.worker.timeout=7s"
        assert f"master settings: {expected}" in master.log()
        assert f"worker settings: {expected}" in (cluster.root / "bare.log").read_text()
    finally:
        bare.terminate()
        bare.wait(10)


def test_bad_value_in_master_opts_stops_the_master_naming_the_key(cluster: Cluster) -> None:
    master = cluster.master(
        env={
            "MINISPARK_MASTER_OPTS": "-Dspark.deploy.defaultCores=3 "
            "-Dspark.dead.worker.persistence=x"
        },
        wait=False,
    )
    # The bad value in MINISPARK_MASTER_OPTS names its key, even though it came from an env var.
    assert master.proc.wait(30) == 2
    assert "spark.dead.worker.persistence" in master.log()


def test_sd_notify_ready_and_status(cluster: Cluster, tmp_path: Path) -> None:
    path = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        sock.settimeout(60)
        master = cluster.master(env={"NOTIFY_SOCKET": str(path)})
        first = [sock.recv(4096).decode()]
        while "READY=1" not in first[-1]:
            first.append(sock.recv(4096).decode())
        # Ready once it serves (as a standby, until the election says otherwise) ...
        assert "STATUS=STANDBY" in first[-1]
        # ... and the status follows the master's state.
        while "STATUS=ALIVE" not in first[-1]:
            first.append(sock.recv(4096).decode())
        cluster.worker(url_of(master), env={"NOTIFY_SOCKET": str(path)})
        messages = []
        while not any("READY=1" in m and "registered with" in m for m in messages):
            messages.append(sock.recv(4096).decode())
        master.signal(15)
        while "STOPPING=1" not in messages[-1]:
            messages.append(sock.recv(4096).decode())

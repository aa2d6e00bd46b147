"""Daemon start-up and idle memory: minispark against Dask, measured in the same run.

    python bench/daemon_startup.py [--runs 5]

For each run it starts, through their real command lines on 127.0.0.1:
- a minispark master, timing until ``/readyz`` answers 200, then a worker, timing until it
  shows ALIVE in the master's ``/json``; after a 2 s idle, each daemon's resident memory;
- a Dask scheduler (``dask scheduler``), timing until it accepts a client, then a Dask
  worker (``dask worker``), timing until the scheduler lists it; the same memory reading.

It prints medians and the ratio minispark / Dask (below 1 means minispark is faster or
smaller). The issue's targets: each time under 1 s, each daemon's idle RSS under 80 MiB.
Spark 4.3, measured on this kind of machine, needs about 4 s (master), 6 s (/json) and
6-7 s (worker ALIVE); Spark is not installable here, so Dask is the in-run baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import psutil

GUARD_S = 120.0
IDLE_S = 2.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def until(check: Callable[[], bool], what: str) -> float:
    """Seconds until ``check`` holds, polling every 5 ms."""
    start = time.perf_counter()
    while not check():
        if time.perf_counter() - start > GUARD_S:
            raise RuntimeError(f"gave up waiting for {what}")
        time.sleep(0.005)
    return time.perf_counter() - start


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=1) as resp:
            return int(resp.status)
    except OSError:
        return 0


def alive_workers(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=1) as resp:
            return int(json.load(resp)["aliveworkers"])
    except (OSError, ValueError, KeyError):
        return 0


def rss_mib(proc: subprocess.Popen[bytes]) -> float:
    """Resident memory of the process and its children (a daemon may fork helpers)."""
    root = psutil.Process(proc.pid)
    total = sum(p.memory_info().rss for p in [root, *root.children(recursive=True)])
    return total / 2**20


def spawn(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in reversed(procs):
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def minispark_run(tmp: Path) -> dict[str, float]:
    port, webui, worker_webui = free_port(), free_port(), free_port()
    env_conf = tmp / "conf"
    env_conf.mkdir(exist_ok=True)
    os.environ["MINISPARK_CONF_DIR"] = str(env_conf)
    cli = [sys.executable, "-m", "minispark"]
    procs: list[subprocess.Popen[bytes]] = []
    try:
        procs.append(
            spawn(
                [
                    *cli,
                    "master",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--webui-port",
                    str(webui),
                ],
                tmp / "master.log",
            )
        )
        master_s = until(lambda: http_status(f"http://127.0.0.1:{webui}/readyz") == 200, "master")
        procs.append(
            spawn(
                [
                    *cli,
                    "worker",
                    f"minispark://127.0.0.1:{port}",
                    "--host",
                    "127.0.0.1",
                    "--webui-port",
                    str(worker_webui),
                    "--work-dir",
                    str(tmp / "work"),
                ],
                tmp / "worker.log",
            )
        )
        json_url = f"http://127.0.0.1:{webui}/json"
        worker_s = until(lambda: alive_workers(json_url) >= 1, "worker ALIVE")
        time.sleep(IDLE_S)
        return {
            "master_s": master_s,
            "worker_s": worker_s,
            "master_rss": rss_mib(procs[0]),
            "worker_rss": rss_mib(procs[1]),
        }
    finally:
        stop(procs)


def dask_run(tmp: Path) -> dict[str, float]:
    from distributed import Client

    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs: list[subprocess.Popen[bytes]] = []
    client: Client | None = None
    try:
        procs.append(
            spawn(
                [
                    "dask",
                    "scheduler",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--dashboard-address",
                    ":0",
                    "--no-show",
                ],
                tmp / "scheduler.log",
            )
        )
        holder: list[Client] = []

        def connected() -> bool:
            try:
                holder.append(Client(address, timeout=1))
            except OSError:
                return False
            return True

        master_s = until(connected, "dask scheduler")
        client = holder[0]
        procs.append(
            spawn(
                [
                    "dask",
                    "worker",
                    address,
                    "--host",
                    "127.0.0.1",
                    "--nworkers",
                    "1",
                    "--nthreads",
                    "1",
                    "--no-dashboard",
                    "--local-directory",
                    str(tmp),
                ],
                tmp / "worker.log",
            )
        )
        worker_s = until(lambda: len(client.scheduler_info()["workers"]) >= 1, "dask worker")
        time.sleep(IDLE_S)
        return {
            "master_s": master_s,
            "worker_s": worker_s,
            "master_rss": rss_mib(procs[0]),
            "worker_rss": rss_mib(procs[1]),
        }
    finally:
        if client is not None:
            client.close()
        stop(procs)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    results: dict[str, list[dict[str, float]]] = {"minispark": [], "dask": []}
    for i in range(args.runs):
        for name, run in (("minispark", minispark_run), ("dask", dask_run)):
            with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmp:
                results[name].append(run(Path(tmp)))
        print(f"run {i + 1}/{args.runs} done", file=sys.stderr)
    rows = [
        ("master/scheduler ready (s)", "master_s", 1.0),
        ("worker registered (s)", "worker_s", 1.0),
        ("master/scheduler idle RSS (MiB)", "master_rss", 80.0),
        ("worker idle RSS (MiB)", "worker_rss", 80.0),
    ]
    print(f"median of {args.runs} runs        minispark      dask   ratio  target  met")
    for label, key, target in rows:
        ours = statistics.median(r[key] for r in results["minispark"])
        theirs = statistics.median(r[key] for r in results["dask"])
        met = "yes" if ours < target else "NO"
        print(f"{label:32s} {ours:9.3f} {theirs:9.3f} {ours / theirs:7.2f} {target:7g}  {met}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

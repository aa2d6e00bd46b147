"""``local-cluster[N,C,M]``: a real master and N workers on loopback for one program.

The daemons are started through the real CLI as child processes, with their own empty
configuration directory (the host's /etc/minispark must not leak in), and they stop
themselves if this process dies (``daemon.PARENT_PID_ENV``), so an embedded cluster never
outlives the program that asked for it, even after a kill -9.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from ..conf import Conf
from ..daemon import ORPHAN_DIR_ENV, PARENT_PID_ENV
from ..masterurl import LocalCluster
from ..security import keyring_from_conf, tls_enabled

log = logging.getLogger("minispark.localcluster")

START_TIMEOUT_S = 60.0
STOP_GRACE_S = 10.0
# Settings the driver shares with its embedded daemons (same secret, same timeouts).
SHARED_PREFIXES = (
    "spark.authenticate",
    "minispark.ssl.",
    "spark.worker.",
    "spark.deploy.",
    "spark.dead.",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalClusterProcesses:
    def __init__(self, spec: LocalCluster, conf: dict[str, str]) -> None:
        self.spec = spec
        self.conf_pairs = [f"{k}={v}" for k, v in conf.items() if k.startswith(SHARED_PREFIXES)]
        # With TLS on, the web port speaks HTTPS; these are our own daemons on loopback, so
        # the readiness poll need not verify their certificate.
        # (minispark.ssl.caFile alone turns TLS on, in the daemons as everywhere.)
        self.tls = tls_enabled(Conf(conf))
        # With auth on, /json needs the secret like every other page but the probes.
        keyring = keyring_from_conf(Conf(conf))
        self.web_headers = (
            {"Authorization": f"Bearer {keyring.current().decode()}"} if keyring else {}
        )
        self.dir = Path(tempfile.mkdtemp(prefix="minispark-local-cluster-"))
        self.port = free_port()
        self.webui_port = free_port()
        self.processes: list[subprocess.Popen[bytes]] = []

    @property
    def master_url(self) -> str:
        return f"minispark://127.0.0.1:{self.port}"

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env[PARENT_PID_ENV] = str(os.getpid())
        env[ORPHAN_DIR_ENV] = str(self.dir)
        conf_dir = self.dir / "conf"
        conf_dir.mkdir(exist_ok=True)
        env["MINISPARK_CONF_DIR"] = str(conf_dir)
        for key in [k for k in env if k.startswith("MINISPARK_") and k.endswith("_OPTS")]:
            del env[key]
        # The shared settings, the secret among them, go in the environment, which only our
        # user can read, rather than on the daemons' command lines, which ps shows to all.
        env["MINISPARK_DAEMON_OPTS"] = shlex.join(f"-D{pair}" for pair in self.conf_pairs)
        return env

    def _spawn(self, name: str, args: list[str]) -> None:
        with (self.dir / f"{name}.log").open("ab") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "minispark", *args],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self._env(),
                start_new_session=True,
            )
        self.processes.append(proc)

    def start(self) -> str:
        log.info(
            "starting local-cluster: 1 master, %d workers (logs in %s)", self.spec.workers, self.dir
        )
        self._spawn(
            "master",
            [
                "master",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--webui-port",
                str(self.webui_port),
            ],
        )
        for i in range(self.spec.workers):
            self._spawn(
                f"worker-{i + 1}",
                [
                    "worker",
                    self.master_url,
                    "--host",
                    "127.0.0.1",
                    "--port",
                    "0",
                    "--webui-port",
                    "0",
                    "--cores",
                    str(self.spec.cores),
                    "--memory",
                    f"{self.spec.memory_mb}m",
                    "--work-dir",
                    str(self.dir / f"work-{i + 1}"),
                ],
            )
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise
        return self.master_url

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            dead = [p for p in self.processes if p.poll() is not None]
            if dead:
                raise RuntimeError(
                    f"local-cluster: a daemon exited at start; see the logs in {self.dir}"
                )
            if self._alive_workers() >= self.spec.workers:
                return
            time.sleep(0.05)
        raise RuntimeError(
            f"local-cluster did not come up within {START_TIMEOUT_S:g}s; logs in {self.dir}"
        )

    def _alive_workers(self) -> int:
        try:
            scheme = "https" if self.tls else "http"
            url = f"{scheme}://127.0.0.1:{self.webui_port}/json"
            context = ssl._create_unverified_context() if self.tls else None
            request = urllib.request.Request(url, headers=self.web_headers)
            with urllib.request.urlopen(request, timeout=2, context=context) as resp:
                return int(json.load(resp)["aliveworkers"])
        except (OSError, ValueError, KeyError):
            return 0

    def stop(self) -> None:
        """Workers first (they kill their executors), then the master; SIGKILL stragglers."""
        for proc in reversed(self.processes):
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        for proc in self.processes:
            try:
                proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.processes.clear()
        shutil.rmtree(self.dir, ignore_errors=True)

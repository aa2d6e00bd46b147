"""Start real minispark daemons through the CLI on 127.0.0.1, and end them by process id.

Waits poll with generous deadlines: a deadline is a guard against a hang, never a
performance assertion (these machines are small and noisy).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from minispark import SparkConf
from minispark.conf import Conf
from minispark.driver.localcluster import free_port
from minispark.security import auth_enabled

T = TypeVar("T")
GUARD_S = 60.0


def wait_for(check: Callable[[], T | None], what: str, timeout: float = GUARD_S) -> T:
    """Poll ``check`` until it returns something truthy; fail naming ``what`` otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def http(
    url: str,
    *,
    method: str = "GET",
    data: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, str]:
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def get_json(url: str, headers: dict[str, str] | None = None) -> Any:
    status, body = http(url, headers=headers)
    assert status == 200, f"{url} answered {status}: {body}"
    return json.loads(body)


@dataclass
class Daemon:
    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    webui_port: int
    port: int = 0
    headers: dict[str, str] = field(default_factory=dict)  # the secret, when auth is on

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def web(self) -> str:
        return f"http://127.0.0.1:{self.webui_port}"

    def json(self) -> Any:
        return get_json(f"{self.web}/json", headers=self.headers)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def signal(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signum)

    def alive(self) -> bool:
        return self.proc.poll() is None


@dataclass
class Cluster:
    """Daemons of one test; ``stop`` ends every one of them, by pid."""

    root: Path
    conf: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    daemons: list[Daemon] = field(default_factory=list)

    def _environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MINISPARK_")}
        conf_dir = self.root / "conf"
        conf_dir.mkdir(parents=True, exist_ok=True)
        env["MINISPARK_CONF_DIR"] = str(conf_dir)
        env.update(self.env)
        return env

    def _spawn(
        self, name: str, args: list[str], conf: list[str], env: dict[str, str] | None
    ) -> subprocess.Popen[bytes]:
        flags = [a for pair in [*self.conf, *conf] for a in ("--conf", pair)]
        log_path = self.root / f"{name}.log"
        with log_path.open("ab") as out:
            return subprocess.Popen(
                [sys.executable, "-m", "minispark", *args, *flags],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**self._environment(), **(env or {})},
            )

    def master(self, *conf: str, env: dict[str, str] | None = None, wait: bool = True) -> Daemon:
        port, webui = free_port(), free_port()
        name = f"master-{len(self.daemons)}"
        args = ["master", "--host", "127.0.0.1", "--port", str(port), "--webui-port", str(webui)]
        proc = self._spawn(name, args, list(conf), env)
        headers = web_headers([*self.conf, *conf])
        daemon = Daemon(name, proc, self.root / f"{name}.log", webui, port, headers)
        self.daemons.append(daemon)
        if wait:
            healthz = daemon.web + "/healthz"
            wait_for(lambda: _status(healthz, headers) == 200, f"{name} to serve HTTP")
        return daemon

    def worker(
        self,
        master_url: str,
        *conf: str,
        cores: int = 1,
        memory: str = "512m",
        env: dict[str, str] | None = None,
        extra: list[str] | None = None,
    ) -> Daemon:
        webui = free_port()
        name = f"worker-{len(self.daemons)}"
        args = [
            "worker",
            master_url,
            "--host",
            "127.0.0.1",
            "--webui-port",
            str(webui),
            "--cores",
            str(cores),
            "--memory",
            memory,
            "--work-dir",
            str(self.root / name),
            *(extra or []),
        ]
        proc = self._spawn(name, args, list(conf), env)
        headers = web_headers([*self.conf, *conf])
        daemon = Daemon(name, proc, self.root / f"{name}.log", webui, headers=headers)
        self.daemons.append(daemon)
        return daemon

    def history(
        self,
        log_dir: str,
        *conf: str,
        env: dict[str, str] | None = None,
        wait: bool = True,
        port: int | None = None,
    ) -> Daemon:
        """``minispark history-server`` on ``log_dir``, its web port ``port`` or chosen here
        (``wait`` polls plain HTTP: with TLS on, pass False and poll HTTPS yourself)."""
        webui = port or free_port()
        name = f"history-{len(self.daemons)}"
        pairs = [f"spark.history.fs.logDirectory={log_dir}", f"spark.history.ui.port={webui}"]
        args = ["history-server", "--host", "127.0.0.1"]
        proc = self._spawn(name, args, [*pairs, *conf], env)
        headers = web_headers([*self.conf, *conf])
        daemon = Daemon(name, proc, self.root / f"{name}.log", webui, headers=headers)
        self.daemons.append(daemon)
        if wait:
            healthz = daemon.web + "/healthz"
            wait_for(lambda: _status(healthz, headers) == 200, f"{name} to serve HTTP")
        return daemon

    def wait_registered(self, master: Daemon, count: int) -> list[dict[str, Any]]:
        def alive() -> list[dict[str, Any]] | None:
            try:
                workers = [w for w in master.json()["workers"] if w["state"] == "ALIVE"]
            except OSError:  # not listening yet
                return None
            return workers if len(workers) >= count else None

        return wait_for(alive, f"{count} ALIVE workers on {master.name}")

    def stop(self) -> None:
        for daemon in reversed(self.daemons):
            daemon.signal(signal.SIGCONT)  # a stopped process cannot act on SIGTERM
            daemon.signal(signal.SIGTERM)
        for daemon in self.daemons:
            try:
                daemon.proc.wait(10)
            except subprocess.TimeoutExpired:
                daemon.signal(signal.SIGKILL)
                daemon.proc.wait()


def url_of(master: Daemon) -> str:
    return f"minispark://127.0.0.1:{master.port}"


def web_headers(pairs: list[str]) -> dict[str, str]:
    """The Authorization header a daemon started with these settings asks of web clients
    (the daemons' own rule: a secret alone turns auth on, a file's first line is presented)."""
    conf = Conf(dict(pair.partition("=")[::2] for pair in pairs))
    keyring = conf.keyring() if auth_enabled(conf) else None
    return {"Authorization": f"Bearer {keyring.current().decode()}"} if keyring else {}


def _status(url: str, headers: dict[str, str] | None = None) -> int:
    try:
        return http(url, headers=headers)[0]
    except OSError:
        return 0


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it has exited for every purpose that matters here.
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    return True


def app_conf(master: str, *pairs: str, name: str = "test", memory: str = "256m") -> SparkConf:
    """An application's settings for tests: its own (no defaults from the environment)."""
    conf = SparkConf(loadDefaults=False).setMaster(master).setAppName(name)
    conf.set("spark.executor.memory", memory)
    for pair in pairs:
        key, _, value = pair.partition("=")
        conf.set(key, value)
    return conf


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """``python -m minispark <args>``, its output captured."""
    return subprocess.run(
        [sys.executable, "-m", "minispark", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def submit(master: str, app: Path, *flags: str) -> str:
    """Submit ``app`` in cluster mode; the id of the driver the master accepted."""
    result = cli(
        "submit",
        "--deploy-mode",
        "cluster",
        "--master",
        master,
        "--driver-memory",
        "256m",
        "--executor-memory",
        "256m",
        *flags,
        str(app),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Driver successfully submitted as driver-")
    return result.stdout.split()[-1]


def driver_state(master: Daemon, driver_id: str) -> str:
    state = master.json()
    for driver in [*state["activedrivers"], *state["completeddrivers"]]:
        if driver["id"] == driver_id:
            return str(driver["state"])
    return ""

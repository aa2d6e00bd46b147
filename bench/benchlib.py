"""What the engine benchmarks share: clusters started through real command lines, and tables.

Not a benchmark itself. Every process started here is stopped by its PID (its descendants
too, found before stopping it), every wait has a guard, and all traffic stays on 127.0.0.1.
Functions that run inside tasks must not live here: executors and Dask workers cannot import
this module, so each benchmark keeps its task functions in its own ``__main__``, which
cloudpickle ships by value.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import psutil

if TYPE_CHECKING:
    from distributed import Client

GUARD_S = 120.0  # the longest any start-up or readiness wait may take
STOP_GRACE_S = 15.0
BIN = Path(sys.executable).parent  # console scripts of this interpreter (no pyenv shims)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def until(check: Callable[[], bool], what: str, guard_s: float = GUARD_S) -> float:
    """Seconds until ``check`` holds, polling every 5 ms; an error after ``guard_s``."""
    start = time.perf_counter()
    while not check():
        if time.perf_counter() - start > guard_s:
            raise RuntimeError(f"gave up waiting for {what} after {guard_s:g} s")
        time.sleep(0.005)
    return time.perf_counter() - start


def http_json(url: str) -> Any:
    try:
        with urllib.request.urlopen(url, timeout=1) as resp:
            return json.load(resp)
    except (OSError, ValueError):
        return None


def command(name: str) -> list[str]:
    """A console script of this interpreter, called directly (a pyenv shim adds ~50 ms)."""
    script = BIN / name
    if script.is_file():
        return [str(script)]
    if name == "minispark":
        return [sys.executable, "-m", "minispark"]
    raise RuntimeError(f"{name!r} is not installed beside {sys.executable}")


class Processes:
    """Processes we started, stopped by PID: SIGTERM, a grace period, then SIGKILL for them
    and for any descendant they leave behind."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []

    def spawn(self, args: list[str], log: Path, env: dict[str, str] | None = None) -> None:
        with log.open("ab") as out:
            proc = subprocess.Popen(
                args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
            )
        self.procs.append(proc)

    def check_alive(self, what: str) -> None:
        dead = [p for p in self.procs if p.poll() is not None]
        if dead:
            command = " ".join(map(str, dead[0].args[:3]))  # type: ignore[index]
            raise RuntimeError(f"{what}: {command} exited with code {dead[0].returncode}")

    def stop(self) -> None:
        descendants: list[psutil.Process] = []
        for proc in self.procs:
            with contextlib.suppress(psutil.Error):
                descendants.extend(psutil.Process(proc.pid).children(recursive=True))
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        for proc in reversed(self.procs):
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        _, alive = psutil.wait_procs(descendants, timeout=max(0.1, deadline - time.monotonic()))
        for child in alive:
            with contextlib.suppress(psutil.Error):
                child.kill()
        self.procs.clear()


class StandaloneCluster:
    """``minispark master`` and ``workers`` x ``minispark worker -c CORES -m MEMORY`` on
    127.0.0.1, through the CLI, with ``MINISPARK_CONF_DIR`` at an empty directory."""

    def __init__(self, tmp: Path, workers: int = 2, cores: int = 1, memory: str = "1g") -> None:
        self.tmp = tmp
        self.workers = workers
        self.cores = cores
        self.memory = memory
        self.port = free_port()
        self.webui = free_port()
        self.processes = Processes()
        conf_dir = tmp / "conf"
        conf_dir.mkdir(parents=True, exist_ok=True)
        self.env = {**os.environ, "MINISPARK_CONF_DIR": str(conf_dir)}
        for key in [k for k in self.env if k.startswith("MINISPARK_") and k.endswith("_OPTS")]:
            del self.env[key]

    @property
    def url(self) -> str:
        return f"minispark://127.0.0.1:{self.port}"

    def status(self) -> dict[str, Any]:
        found = http_json(f"http://127.0.0.1:{self.webui}/json")
        return found if isinstance(found, dict) else {}

    def __enter__(self) -> StandaloneCluster:
        cli = command("minispark")
        try:
            self.processes.spawn([*cli, "master", "--host", "127.0.0.1", "--port", str(self.port),
                                  "--webui-port", str(self.webui)],
                                 self.tmp / "master.log", self.env)  # fmt: skip
            for i in range(self.workers):
                self.processes.spawn([*cli, "worker", self.url, "--host", "127.0.0.1",
                                      "--port", "0", "--webui-port", "0",
                                      "--cores", str(self.cores), "--memory", self.memory,
                                      "--work-dir", str(self.tmp / f"work-{i + 1}")],
                                     self.tmp / f"worker-{i + 1}.log", self.env)  # fmt: skip
            until(self._ready, f"{self.workers} minispark workers ALIVE")
        except BaseException:
            self.processes.stop()
            raise
        return self

    def _ready(self) -> bool:
        self.processes.check_alive("minispark cluster start")
        return int(self.status().get("aliveworkers", 0)) >= self.workers

    def wait_idle(self) -> None:
        """Until no application is running and every core is free again."""

        def idle() -> bool:
            status = self.status()
            return (
                bool(status)
                and not status.get("activeapps")
                and int(status.get("coresused", -1)) == 0
            )

        until(idle, "the minispark cluster to be idle")

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.processes.stop()


class DaskCluster:
    """``dask scheduler`` and ``workers`` x ``dask worker --nthreads 1`` on 127.0.0.1, and a
    ``distributed.Client`` connected to them (``.client``)."""

    def __init__(self, tmp: Path, workers: int = 2) -> None:
        self.tmp = tmp
        tmp.mkdir(parents=True, exist_ok=True)
        self.workers = workers
        self.port = free_port()
        self.processes = Processes()
        # The scheduler keeps lock files in dask's temporary directory (/tmp by default).
        self.env = {**os.environ, "DASK_TEMPORARY_DIRECTORY": str(tmp)}
        self._client: Client | None = None

    @property
    def address(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    @property
    def client(self) -> Client:
        assert self._client is not None, "use the cluster in a with block"
        return self._client

    def __enter__(self) -> DaskCluster:
        from distributed import Client

        dask = command("dask")
        try:
            self.processes.spawn([*dask, "scheduler", "--host", "127.0.0.1",
                                  "--port", str(self.port), "--dashboard-address", "127.0.0.1:0",
                                  "--no-show"], self.tmp / "scheduler.log", self.env)  # fmt: skip
            for i in range(self.workers):
                self.processes.spawn([*dask, "worker", self.address, "--host", "127.0.0.1",
                                      "--nworkers", "1", "--nthreads", "1", "--no-dashboard",
                                      "--local-directory", str(self.tmp / f"worker-{i + 1}")],
                                     self.tmp / f"worker-{i + 1}.log", self.env)  # fmt: skip

            def connected() -> bool:
                self.processes.check_alive("dask cluster start")
                try:
                    self._client = Client(self.address, timeout=1)  # type: ignore[no-untyped-call]
                except OSError:
                    return False
                return True

            until(connected, "the dask scheduler")
            until(self._ready, f"{self.workers} dask workers")
        except BaseException:
            self._close_client()
            self.processes.stop()
            raise
        return self

    def _ready(self) -> bool:
        self.processes.check_alive("dask cluster start")
        return len(self.client.scheduler_info()["workers"]) >= self.workers

    def _close_client(self) -> None:
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.close(timeout=10)  # type: ignore[no-untyped-call]
            self._client = None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._close_client()
        self.processes.stop()


class _OtherCPU:
    """CPU seconds used by processes this benchmark did not start, sampled every 0.5 s.

    A process is ours when it is this process or its parent is ours when first seen (sticky,
    so that task processes orphaned at shutdown stay ours). A process of someone else that
    lives less than one sampling interval is missed, so the figure is a lower bound.
    """

    def __init__(self) -> None:
        self.ours = {os.getpid()}
        self.first: dict[tuple[int, float], float] = {}  # (pid, created) -> CPU s at first sight
        self.last: dict[tuple[int, float], float] = {}
        self.names: dict[tuple[int, float], str] = {}
        self.stop = threading.Event()
        self._sample(initial=True)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _sample(self, initial: bool = False) -> None:
        for proc in psutil.process_iter(["pid", "ppid", "create_time", "cpu_times", "cmdline"]):
            info = proc.info
            if info["cpu_times"] is None:
                continue
            pid = int(info["pid"])
            if pid in self.ours or info["ppid"] in self.ours:
                self.ours.add(pid)
                continue
            key = (pid, float(info["create_time"]))
            cpu = float(info["cpu_times"].user + info["cpu_times"].system)
            self.first.setdefault(key, cpu if initial else 0.0)
            self.last[key] = cpu
            self.names.setdefault(key, " ".join(info["cmdline"] or [proc.name()])[:70])

    def _run(self) -> None:
        while not self.stop.wait(0.5):
            self._sample()

    def seconds(self) -> tuple[float, list[tuple[float, str]]]:
        """Total, and the three biggest users with their command lines."""
        self.stop.set()
        self.thread.join(5)
        self._sample()
        used = {key: cpu - self.first[key] for key, cpu in self.last.items()}
        top = sorted(((cpu, self.names[key]) for key, cpu in used.items()), reverse=True)[:3]
        return sum(used.values()), top


@contextlib.contextmanager
def machine_noise(label: str) -> Iterator[None]:
    """On exit, report on stderr how much CPU other processes took while we ran: this is a
    shared 2-core machine, and their load shows in our numbers."""
    wall = time.monotonic()
    other = _OtherCPU()
    try:
        yield
    finally:
        wall = time.monotonic() - wall
        used, top = other.seconds()
        print(
            f"{label}: other processes used at least {used:.1f} CPU s in {wall:.1f} s "
            f"({used / wall:.2f} of 2 cores on average)",
            file=sys.stderr,
        )
        for cpu, name in top:
            if cpu >= 0.5:
                print(f"  {cpu:5.1f} CPU s  {name}", file=sys.stderr)


@contextlib.contextmanager
def deadline(seconds: float, what: str) -> Iterator[None]:
    """Raise TimeoutError in the main thread if the block runs longer than ``seconds``: a
    hung job must not hang the benchmark (the ``with`` blocks around it then stop every
    process it started)."""

    def expired(signum: int, frame: object) -> None:
        raise TimeoutError(f"{what} took over {seconds:g} s; gave up")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


@contextlib.contextmanager
def quiet_logs() -> Iterator[None]:
    """Dask and minispark log warnings about closing connections on shutdown; not ours."""
    import logging

    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        yield
    finally:
        logging.disable(previous)


@dataclass(frozen=True)
class Row:
    """One line of a result table. ``ratio`` is minispark / baseline."""

    figure: str
    minispark: float
    baseline: float
    target: str  # for the reader, e.g. "< 1 s"
    met: bool | None  # None: no target for this row

    @property
    def ratio(self) -> float:
        return self.minispark / self.baseline if self.baseline else float("nan")


def print_table(title: str, baseline: str, rows: list[Row]) -> None:
    width = max(len(r.figure) for r in rows)
    print(title)
    print(f"{'figure':{width}s} {'minispark':>10s} {baseline:>10s} {'ratio':>7s}  target       met")
    for r in rows:
        met = "-" if r.met is None else ("yes" if r.met else "NO")
        ratio = f"{r.ratio:7.2f}" if math.isfinite(r.ratio) else f"{'-':>7s}"
        print(
            f"{r.figure:{width}s} {r.minispark:10.3f} {r.baseline:10.3f} {ratio}  "
            f"{r.target:12s} {met}"
        )
    sys.stdout.flush()

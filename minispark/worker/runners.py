"""Executor processes: launch in their own process group, log to files, kill whole trees.

Each executor is ``python -m minispark.executor`` in a new session, so that one signal to
its process group reaches everything it started. Its stdout and stderr go to
``<work-dir>/<app-id>/<exec-id>/`` as in Spark; the application's settings, under the
worker's security settings, go in its environment (``minispark.appconf``). The runner
turns the process's life into executor states (LAUNCHING → RUNNING → EXITED/FAILED/KILLED)
and hands each change to a callback; it never talks to the master itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psutil

from ..appconf import launch_env
from ..protocol import ApplicationDescription, ExecutorDescription, ExecutorState

log = logging.getLogger("minispark.worker.runner")

TERMINATE_GRACE_S = 5.0
StateCallback = Callable[["ExecutorRunner", ExecutorState, str, int | None], None]


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"killed by {name}"
    return f"Command exited with code {code}"


class ExecutorRunner:
    def __init__(
        self,
        *,
        app_id: str,
        exec_id: int,
        app: ApplicationDescription,
        cores: int,
        memory_mb: int,
        work_dir: Path,
        worker_address: str,
        host: str,
        env: dict[str, str],
        security: dict[str, str],
        on_state: StateCallback,
    ) -> None:
        self.app_id = app_id
        self.exec_id = exec_id
        self.app = app
        self.cores = cores
        self.memory_mb = memory_mb
        self.dir = work_dir / app_id / str(exec_id)
        self.worker_address = worker_address
        self.host = host
        self.env = env
        self.security = security
        self.on_state = on_state
        self.state = ExecutorState.LAUNCHING
        self.process: asyncio.subprocess.Process | None = None
        self.killed = False
        self.started_at = time.time()
        self._task: asyncio.Task[None] | None = None
        self._reaper: asyncio.Task[None] | None = None

    @property
    def full_id(self) -> str:
        return f"{self.app_id}/{self.exec_id}"

    def description(self) -> ExecutorDescription:
        return ExecutorDescription(
            app_id=self.app_id,
            exec_id=self.exec_id,
            cores=self.cores,
            memory_mb=self.memory_mb,
            state=self.state,
        )

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "minispark.executor",
            "--driver-url",
            self.app.driver_url,
            "--executor-id",
            str(self.exec_id),
            "--app-id",
            self.app_id,
            "--hostname",
            self.host,
            "--cores",
            str(self.cores),
            "--memory-mb",
            str(self.memory_mb),
            "--worker-url",
            self.worker_address,
        ]

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        try:
            self.process = await self._spawn()
        except OSError as exc:
            self._set(ExecutorState.FAILED, f"could not start the executor: {exc}", None)
            return
        self._set(ExecutorState.RUNNING, "", None)
        code = await self.process.wait()
        if self.killed:
            self._set(ExecutorState.KILLED, describe_exit(code), code)
        elif code == 0:
            self._set(ExecutorState.EXITED, describe_exit(code), code)
        else:
            self._set(ExecutorState.FAILED, describe_exit(code), code)

    async def _spawn(self) -> asyncio.subprocess.Process:
        self.dir.mkdir(parents=True, exist_ok=True)
        command = self.command()
        with (self.dir / "stdout").open("ab") as out, (self.dir / "stderr").open("ab") as err:
            err.write(f"minispark Executor Command: {' '.join(command)}\n{'=' * 40}\n".encode())
            err.flush()
            return await asyncio.create_subprocess_exec(
                *command,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                cwd=self.dir,
                env=launch_env(self.env, self.app.conf, self.security),
                start_new_session=True,  # its own process group: one signal reaches the tree
            )

    def _set(self, state: ExecutorState, message: str, code: int | None) -> None:
        self.state = state
        if state.finished:
            log.info("executor %s %s: %s", self.full_id, state, message)
        self.on_state(self, state, message, code)

    def kill(self) -> None:
        """SIGTERM the tree, SIGKILL what is left after a grace period."""
        if self.state.finished or self.killed:
            return
        self.killed = True
        if self.process is None or self.process.returncode is not None:
            return
        tree = process_tree(self.process.pid)
        signal_tree(self.process.pid, tree, signal.SIGTERM)
        self._reaper = asyncio.ensure_future(self._kill_after_grace(tree))

    async def _kill_after_grace(self, tree: list[psutil.Process]) -> None:
        assert self.process is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.process.wait(), TERMINATE_GRACE_S)
            return
        log.warning("executor %s ignored SIGTERM; killing it", self.full_id)
        signal_tree(self.process.pid, tree, signal.SIGKILL)

    def kill_now(self) -> None:
        """On worker shutdown: no grace period, nothing may outlive the worker."""
        self.killed = True
        if self.process is not None and self.process.returncode is None:
            signal_tree(self.process.pid, process_tree(self.process.pid), signal.SIGKILL)


def process_tree(pid: int) -> list[psutil.Process]:
    """The process and its descendants, including ones that left the process group."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def signal_tree(pgid: int, tree: list[psutil.Process], signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)
    for proc in tree:
        with contextlib.suppress(psutil.Error):
            proc.send_signal(signum)

"""Cluster-mode drivers on a worker: run the submitted program, supervise it if asked.

The program runs as ``minispark submit`` in client mode inside ``<work-dir>/<driver-id>/``,
where its files (the program and its --py-files, sent with the submission) are written, so
no shared filesystem is needed. Its settings, under the worker's security settings, go in
its environment (``minispark.appconf``), never on its command line. With ``--supervise``
a non-zero exit restarts it after a backoff: 1 s, doubling, back to 1 s after a run longer
than 5 s, capped at 60 s, and with an optional cap on attempts
(``minispark.driver.maxAttempts``) that Spark lacks.
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
from ..daemon import PARENT_PID_ENV
from ..protocol import DriverDescription, DriverState
from .runners import TERMINATE_GRACE_S, describe_exit, process_tree, signal_tree

log = logging.getLogger("minispark.worker.driver")

FIRST_WAIT_S = 1.0
MAX_WAIT_S = 60.0
HEALTHY_RUN_S = 5.0  # a run this long resets the backoff (Spark's successfulRunDuration)

FinalCallback = Callable[["DriverRunner", DriverState, str], None]


class DriverRunner:
    def __init__(
        self,
        *,
        driver_id: str,
        desc: DriverDescription,
        work_dir: Path,
        env: dict[str, str],
        security: dict[str, str],
        on_final: FinalCallback,
    ) -> None:
        self.driver_id = driver_id
        self.desc = desc
        self.dir = work_dir / driver_id
        self.env = env
        self.security = security
        self.on_final = on_final
        self.state = DriverState.RUNNING
        self.attempts = 0
        self.killed = asyncio.Event()
        self.process: asyncio.subprocess.Process | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        try:
            self._write_files()
        except OSError as exc:
            self._final(DriverState.ERROR, f"could not write the driver's files: {exc}")
            return
        wait = FIRST_WAIT_S
        while True:
            self.attempts += 1
            started = time.monotonic()
            try:
                code = await self._run_once()
            except OSError as exc:
                self._final(DriverState.ERROR, f"could not start the driver: {exc}")
                return
            if self.killed.is_set():
                self._final(DriverState.KILLED, "killed")
                return
            if code == 0:
                self._final(DriverState.FINISHED, "")
                return
            if not self._may_restart():
                self._final(DriverState.FAILED, describe_exit(code))
                return
            wait = FIRST_WAIT_S if time.monotonic() - started > HEALTHY_RUN_S else wait
            log.warning(
                "driver %s: %s, re-launching after %g s", self.driver_id, describe_exit(code), wait
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.killed.wait(), wait)  # a kill ends the backoff
                self._final(DriverState.KILLED, "killed while waiting to restart")
                return
            wait = min(wait * 2, MAX_WAIT_S)

    def _may_restart(self) -> bool:
        limit = self.desc.max_attempts
        return self.desc.supervise and (limit is None or self.attempts < limit)

    def _write_files(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        for name, data in self.desc.files.items():
            (self.dir / Path(name).name).write_bytes(data)

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "minispark",
            "submit",
            "--deploy-mode",
            "client",
            str(self.dir / self.desc.main),
            *self.desc.args,
        ]

    def settings(self) -> dict[str, str]:
        """The submitted settings, with --py-files naming this worker's copies."""
        extra = [str(self.dir / n) for n in sorted(self.desc.files) if n != self.desc.main]
        py_files = {"spark.submit.pyFiles": ",".join(extra)} if extra else {}
        return {**self.desc.conf, "spark.app.name": self.desc.name, **py_files}

    async def _run_once(self) -> int:
        env = launch_env(self.env, self.settings(), self.security)
        env[PARENT_PID_ENV] = str(os.getpid())  # dies with this worker
        with (self.dir / "stdout").open("ab") as out, (self.dir / "stderr").open("ab") as err:
            err.write(f"Launch Command: {' '.join(self.command())}\n{'=' * 40}\n".encode())
            err.flush()
            self.process = await asyncio.create_subprocess_exec(
                *self.command(),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                cwd=self.dir,
                env=env,
                start_new_session=True,
            )
        return await self.process.wait()

    def _final(self, state: DriverState, message: str) -> None:
        self.state = state
        log.info("driver %s %s %s", self.driver_id, state, message)
        self.on_final(self, state, message)

    def kill(self) -> None:
        self.killed.set()
        if self.process is not None and self.process.returncode is None:
            tree = process_tree(self.process.pid)
            signal_tree(self.process.pid, tree, signal.SIGTERM)
            loop = asyncio.get_running_loop()
            loop.call_later(TERMINATE_GRACE_S, self._kill_hard, tree)

    def _kill_hard(self, tree: list[psutil.Process]) -> None:
        if self.process is not None and self.process.returncode is None:
            signal_tree(self.process.pid, tree, signal.SIGKILL)

    def kill_now(self) -> None:
        self.killed.set()
        if self.process is not None and self.process.returncode is None:
            signal_tree(self.process.pid, process_tree(self.process.pid), signal.SIGKILL)

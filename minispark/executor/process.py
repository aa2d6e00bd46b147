"""The executor process a worker starts for one application.

It holds a connection to its worker and exits when that closes (fate sharing: executors
never outlive their worker), registers with the application's driver, and runs the tasks
the driver sends in a pool of forked task processes, one per granted core. It watches its
own memory and stops, telling the driver why, before the kernel's OOM killer would.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
from pathlib import Path
from typing import Any

import psutil

from .. import appconf, rpc
from ..appconf import DRIVER_CERT_KEY
from ..conf import Conf, ConfError
from ..masterurl import parse_host_port
from ..protocol import (
    ExecutorAttached,
    ExecutorExiting,
    FetchFile,
    FileData,
    ForgetStage,
    LaunchTasks,
    Message,
    RegisteredExecutor,
    RegisterExecutor,
    StopExecutor,
    ToExecutor,
    UnpersistRdd,
)
from ..security import security_from_conf
from .taskpool import TaskPool
from .taskprocess import Environment

log = logging.getLogger("minispark.executor")
EXIT_OVER_MEMORY = 52
MEMORY_CHECK_S = 0.5
TASK_MEMORY_SHARE = 0.7  # of the executor's memory per core, before a task spills to disk


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="minispark.executor", description="An executor (started by a worker)."
    )
    p.add_argument("--driver-url", required=True)
    p.add_argument("--executor-id", type=int, required=True)
    p.add_argument("--app-id", required=True)
    p.add_argument("--hostname", required=True)
    p.add_argument("--cores", type=int, required=True)
    p.add_argument("--memory-mb", type=int, required=True)
    p.add_argument("--worker-url", required=True)
    return p.parse_args(argv)


def tree_memory(process: psutil.Process) -> int:
    """Resident bytes of the executor and its task processes, counting shared pages once."""
    total = process.memory_info().rss
    for child in process.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            info = child.memory_info()
            total += info.rss - info.shared
    return int(total)


class Executor:
    def __init__(self, args: argparse.Namespace, conf: Conf) -> None:
        self.args = args
        self.security = security_from_conf(conf)
        self.driver_security = _driver_link(self.security, conf)
        self.conf = conf
        self.done = asyncio.Event()
        self.exit_code = 0
        self.driver: rpc.Connection | None = None
        self.pool: TaskPool | None = None
        self.early: list[LaunchTasks] = []  # tasks that arrived before the pool was ready
        self.limit_bytes = args.memory_mb * 2**20
        self.env = self._environment()

    def _exit(self, code: int, why: str) -> None:
        if not self.done.is_set():
            log.info("executor exiting: %s", why)
            self.exit_code = code
            self.done.set()

    def handle(self, conn: rpc.Connection, message: Any) -> None:
        if isinstance(message, LaunchTasks):
            if self.pool is None:  # the driver offers work as soon as we register
                self.early.append(message)
            else:
                self.pool.submit(message)
        elif isinstance(message, ForgetStage):
            if self.pool is not None:
                self.pool.forget_stage((message.stage_id, message.stage_attempt))
        elif isinstance(message, UnpersistRdd):
            for directory in self.env.dirs:
                for block in directory.glob(f"rdd_{message.rdd_id}_*"):
                    block.unlink(missing_ok=True)
        elif isinstance(message, StopExecutor):
            self._exit(0, "the driver asked us to stop")

    def _task_done(self, message: Message) -> None:
        if self.driver is not None and not self.driver.is_closed:
            with contextlib.suppress(rpc.ConnectionClosed):
                self.driver.send(message)

    def _environment(self) -> Environment:
        dirs = [
            Path(d) for d in os.environ.get("MINISPARK_EXECUTOR_DIRS", "").split(os.pathsep) if d
        ]
        if not dirs:  # started by hand: scratch space in the working directory
            dirs = [Path.cwd()]
        per_task = int(self.limit_bytes * TASK_MEMORY_SHARE / max(1, self.args.cores))
        forced = self.conf.get_bytes_or_none("minispark.shuffle.spillThreshold")
        if forced:  # tests and tuning: spill above this resident size instead
            per_task = forced
        return Environment(
            app_id=self.args.app_id,
            worker_url=self.args.worker_url,
            dirs=dirs,
            security=self.security,
            task_memory_bytes=per_task,
        )

    async def _watch_memory(self) -> None:
        me = psutil.Process()
        while not self.done.is_set():
            await asyncio.sleep(MEMORY_CHECK_S)
            used = tree_memory(me)
            if used > self.limit_bytes:
                reason = (
                    f"executor {self.args.executor_id} used {used / 2**20:.0f} MiB, over its "
                    f"spark.executor.memory of {self.args.memory_mb} MiB; it was stopped. "
                    "Raise spark.executor.memory or use more partitions."
                )
                log.error(reason)
                self._task_done(ExecutorExiting(reason=reason))
                self._exit(EXIT_OVER_MEMORY, reason)

    async def _fetch_files(self, names: list[str]) -> None:
        """The application's --py-files, into ./files, importable by every task process."""
        assert self.driver is not None
        target = Path.cwd() / "files"
        target.mkdir(exist_ok=True)
        for name in names:
            reply = await self.driver.ask(FetchFile(name=name), timeout=300)
            assert isinstance(reply, FileData)
            path = target / Path(name).name
            path.write_bytes(reply.data)
            if path.suffix in (".zip", ".egg", ".whl"):
                sys.path.insert(0, str(path))
        sys.path.insert(0, str(target))
        log.info("fetched %d application files from the driver", len(names))

    async def _connect(
        self, address: str, code: int, why: str, security: rpc.Security
    ) -> rpc.Connection:
        """A link whose loss ends this executor (fate sharing with worker and driver)."""
        host, port = parse_host_port(address)
        return await rpc.connect(
            host,
            port,
            inbound=ToExecutor,
            handler=self.handle,
            security=security,
            role="executor",
            on_close=lambda c: self._exit(code, why),
        )

    async def run(self) -> int:
        worker = await self._connect(
            self.args.worker_url, 1, "lost the connection to the worker", self.security
        )
        worker.send(
            ExecutorAttached(
                app_id=self.args.app_id, exec_id=self.args.executor_id, pid=os.getpid()
            )
        )
        self.driver = await self._connect(
            self.args.driver_url, 0, "the driver went away", self.driver_security
        )
        hello = RegisterExecutor(
            exec_id=self.args.executor_id,
            host=self.args.hostname,
            cores=self.args.cores,
            pid=os.getpid(),
            worker_url=self.args.worker_url,
        )
        reply = await self.driver.ask(hello, timeout=30)
        if not isinstance(reply, RegisteredExecutor):
            log.error("driver refused executor registration: %s", reply)
            return 1
        log.info(
            "executor %s/%d registered with driver %s",
            self.args.app_id,
            self.args.executor_id,
            self.args.driver_url,
        )
        await self._fetch_files(reply.files)
        # Forked after the files are in place, so every task process can import them; the
        # task processes close the sockets they inherit (taskprocess._detach).
        self.pool = TaskPool(self.env, self.args.cores, self._task_done)
        for launch in self.early:
            self.pool.submit(launch)
        self.early.clear()
        watcher = asyncio.ensure_future(self._watch_memory())
        await self.done.wait()
        watcher.cancel()
        self.pool.stop()
        await self.driver.drain()
        return self.exit_code


def _driver_link(security: rpc.Security, conf: Conf) -> rpc.Security:
    """The driver has no certificate from the cluster's CA: with TLS, its link is checked
    against the fingerprint it put in the application's settings instead."""
    if not security.tls:
        return security
    pin = (conf.get(DRIVER_CERT_KEY) or "").strip()
    if not pin:
        raise ConfError(
            f"TLS is on but the application's settings lack {DRIVER_CERT_KEY}: the driver "
            "must be a minispark version that makes its own certificate"
        )
    return security.pinned(pin)


def executor_conf() -> Conf:
    """The application's settings under the cluster's security settings, as the worker
    handed them over; taken out of the environment at once, so that no process a task
    starts (a ``pipe()`` command) inherits them and the secret with them."""
    return Conf(appconf.take(os.environ))


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        conf = executor_conf()
        executor = Executor(args, conf)
    except ConfError as exc:
        log.error("%s", exc)
        return 1
    try:
        return asyncio.run(executor.run())
    except (OSError, TimeoutError, rpc.HandshakeError) as exc:
        log.error("executor could not reach its worker or driver: %s", exc)
        return 1

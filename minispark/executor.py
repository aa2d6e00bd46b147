"""The executor process a worker starts for one application.

It holds a connection to its worker and exits when that closes (fate sharing: executors
never outlive their worker), registers with the application's driver, and serves it until
told to stop or until the driver goes away. Running tasks arrives with the execution
engine; this module owns the process's lifecycle.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from typing import Any

from . import rpc
from .conf import Conf, ConfError
from .masterurl import parse_host_port
from .protocol import (
    ExecutorAttached,
    RegisteredExecutor,
    RegisterExecutor,
    StopExecutor,
    ToExecutor,
)
from .security import security_from_conf

log = logging.getLogger("minispark.executor")
EXECUTOR_CONF_ENV = "MINISPARK_EXECUTOR_CONF"


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


class Executor:
    def __init__(self, args: argparse.Namespace, conf: Conf) -> None:
        self.args = args
        self.security = security_from_conf(conf)
        self.done = asyncio.Event()
        self.exit_code = 0

    def _exit(self, code: int, why: str) -> None:
        if not self.done.is_set():
            log.info("executor exiting: %s", why)
            self.exit_code = code
            self.done.set()

    def handle(self, conn: rpc.Connection, message: Any) -> None:
        if isinstance(message, StopExecutor):
            self._exit(0, "the driver asked us to stop")

    async def run(self) -> int:
        worker_host, worker_port = parse_host_port(self.args.worker_url)
        worker = await rpc.connect(
            worker_host, worker_port, inbound=ToExecutor, handler=self.handle,
            security=self.security, role="executor",
            on_close=lambda c: self._exit(1, "lost the connection to the worker"),
        )  # fmt: skip
        worker.send(
            ExecutorAttached(
                app_id=self.args.app_id, exec_id=self.args.executor_id, pid=os.getpid()
            )
        )
        driver_host, driver_port = parse_host_port(self.args.driver_url)
        driver = await rpc.connect(
            driver_host, driver_port, inbound=ToExecutor, handler=self.handle,
            security=self.security, role="executor",
            on_close=lambda c: self._exit(0, "the driver went away"),
        )  # fmt: skip
        hello = RegisterExecutor(
            exec_id=self.args.executor_id,
            host=self.args.hostname,
            cores=self.args.cores,
            pid=os.getpid(),
        )
        reply = await driver.ask(hello, timeout=30)
        if not isinstance(reply, RegisteredExecutor):
            log.error("driver refused executor registration: %s", reply)
            return 1
        log.info(
            "executor %s/%d registered with driver %s",
            self.args.app_id,
            self.args.executor_id,
            self.args.driver_url,
        )
        await self.done.wait()
        return self.exit_code


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        conf = Conf(json.loads(os.environ.get(EXECUTOR_CONF_ENV, "{}")))
        executor = Executor(args, conf)
    except ConfError as exc:
        log.error("%s", exc)
        return 1
    try:
        return asyncio.run(executor.run())
    except (OSError, TimeoutError, rpc.HandshakeError) as exc:
        log.error("executor could not reach its worker or driver: %s", exc)
        return 1


if __name__ == "__main__":
    sys.exit(main())

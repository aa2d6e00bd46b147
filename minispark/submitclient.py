"""`minispark submit --deploy-mode cluster`, `kill` and `status`: ask the leading master.

Every master in the URL is asked which one leads (``masterlink``); standbys say they do not,
and the request then goes to the leader alone, so a client never needs to know which master
leads, and two masters that both claim to are told apart by epoch.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

from . import rpc
from .conf import Conf
from .masterlink import Endpoint, MasterLink, NoLeader, Retries
from .masterurl import parse_master_url
from .protocol import (
    NOT_LEADER,
    DriverDescription,
    DriverStatusResponse,
    KillDriverResponse,
    Message,
    RequestDriverStatus,
    RequestKillDriver,
    RequestSubmitDriver,
    SubmitDriverResponse,
    ToSubmitClient,
)
from .security import security_from_conf

# Driver files travel in the submission and are persisted for recovery, where a ZooKeeper
# record holds at most 1 MiB: a program and its helpers fit; libraries belong on the workers.
MAX_FILES_BYTES = 512 * 1024
FINAL_STATES = ("FINISHED", "FAILED", "KILLED", "ERROR")
ASK_TIMEOUT_S = 10.0

log = logging.getLogger("minispark.submitclient")


class ClientError(Exception):
    """One line for the operator: what went wrong and what to do."""


def ask_leader(url: str, conf: Conf, message: Message) -> Message:
    return asyncio.run(_ask_leader(parse_master_url(url), security_from_conf(conf), message))


async def _ask_leader(
    masters: list[tuple[str, int]], security: rpc.Security, message: Message
) -> Message:
    """Find the leader first, then ask it alone: a submission must reach one master even
    when two claim to lead."""
    link: MasterLink[DriverStatusResponse] = MasterLink(
        masters,
        Endpoint(ToSubmitClient, _no_orders, security, role="client", timeout_s=ASK_TIMEOUT_S),
        subject="client",
        register=_probe,
        retries=Retries(attempts=1),
        log=log,
    )
    try:
        leader = await link.find()
    except NoLeader as exc:
        raise ClientError(f"no master answered as the leader: {exc.tried}") from None
    try:
        reply = await leader.ask(message, timeout=ASK_TIMEOUT_S)
    except (rpc.ConnectionClosed, TimeoutError, rpc.RpcError) as exc:
        where = f"{leader.peer_host}:{leader.peer_port}"
        raise ClientError(f"no master answered as the leader: {where} ({exc})") from None
    finally:
        link.close()
    return reply


async def _probe(conn: rpc.Connection, address: tuple[str, int]) -> DriverStatusResponse | str:
    """Asking for no driver changes nothing anywhere: a standby answers that it does not
    lead, the leader that it knows no such driver, with its epoch."""
    reply = await conn.ask(RequestDriverStatus(driver_id=""), timeout=ASK_TIMEOUT_S)
    if not isinstance(reply, DriverStatusResponse) or reply.message.startswith(NOT_LEADER):
        return "a standby"
    return reply


def _no_orders(conn: rpc.Connection, message: object) -> None:
    """Masters only answer a client; they send it nothing of their own."""


def read_files(app: Path, py_files: list[str]) -> dict[str, bytes]:
    paths = [app, *(Path(p) for p in py_files)]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise ClientError(f"application file {', '.join(missing)} does not exist")
    files = {p.name: p.read_bytes() for p in paths}
    total = sum(len(data) for data in files.values())
    if total > MAX_FILES_BYTES:
        raise ClientError(
            f"the program and its --py-files are {total // 1024} KiB; cluster mode ships at most "
            f"{MAX_FILES_BYTES // 1024} KiB: install large dependencies on the workers instead"
        )
    return files


def submit(url: str, conf: Conf, desc: DriverDescription, wait: bool) -> int:
    reply = ask_leader(url, conf, RequestSubmitDriver(driver=desc))
    assert isinstance(reply, SubmitDriverResponse)
    if not reply.success:
        raise ClientError(reply.message)
    print(reply.message)
    if not wait:
        return 0
    state = ""
    while state not in FINAL_STATES:
        time.sleep(1.0)
        status = ask_leader(url, conf, RequestDriverStatus(driver_id=reply.driver_id))
        assert isinstance(status, DriverStatusResponse)
        state = status.state if status.found else "ERROR"
    print(f"Driver {reply.driver_id} ended in state {state}")
    return 0 if state == "FINISHED" else 1


def kill(url: str, conf: Conf, driver_id: str) -> int:
    reply = ask_leader(url, conf, RequestKillDriver(driver_id=driver_id))
    assert isinstance(reply, KillDriverResponse)
    if not reply.success:
        raise ClientError(reply.message)
    print(reply.message)
    return 0


def status(url: str, conf: Conf, driver_id: str) -> int:
    reply = ask_leader(url, conf, RequestDriverStatus(driver_id=driver_id))
    assert isinstance(reply, DriverStatusResponse)
    if not reply.found:
        raise ClientError(reply.message or f"no driver {driver_id}")
    where = f" on {reply.worker_id} ({reply.worker_host_port})" if reply.worker_id else ""
    print(f"Driver {driver_id} is {reply.state}{where}")
    return 0

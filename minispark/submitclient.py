"""`minispark submit --deploy-mode cluster`, `kill` and `status`: ask the leading master.

Every master in the URL is tried in turn; a standby answers that it is not the leader and
the next one is asked, so a client never needs to know which master leads.
"""

from __future__ import annotations

import time
from pathlib import Path

from . import rpc
from .conf import Conf
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


class ClientError(Exception):
    """One line for the operator: what went wrong and what to do."""


def ask_leader(url: str, conf: Conf, message: Message) -> Message:
    security = security_from_conf(conf)
    tried = []
    for host, port in parse_master_url(url):
        try:
            client = rpc.BlockingClient(
                host, port, security=security, role="client", inbound=ToSubmitClient, timeout=10.0
            )
        except (OSError, rpc.HandshakeError, rpc.MalformedFrame) as exc:
            tried.append(f"{host}:{port} ({exc})")
            continue
        try:
            reply = client.ask(message)
        except (OSError, rpc.RpcError, rpc.ConnectionClosed) as exc:
            tried.append(f"{host}:{port} ({exc})")
            continue
        finally:
            client.close()
        if not getattr(reply, "message", "").startswith(NOT_LEADER):
            return reply
        tried.append(f"{host}:{port} (a standby)")
    raise ClientError("no master answered as the leader: " + "; ".join(tried))


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

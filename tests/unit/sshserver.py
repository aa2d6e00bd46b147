"""A small SSH server on loopback (paramiko's server side) that runs commands with /bin/sh.

The machine that runs the unit tests has no sshd, yet the Fabric layer deserves a test over
real SSH: connection settings, exit codes, stderr, and the upload through ``cat``. Commands
run as the test's own user, with ``bin`` (fake systemctl, journalctl) first on the PATH.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import paramiko

USER = "root"


class _Server(paramiko.ServerInterface):  # type: ignore[misc]
    def __init__(self, key: paramiko.PKey, env: dict[str, str], log: list[str]) -> None:
        self.key = key
        self.env = env
        self.log = log

    def get_allowed_auths(self, username: str) -> str:
        return "publickey"

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        ok = username == USER and key.get_base64() == self.key.get_base64()
        return int(paramiko.AUTH_SUCCESSFUL if ok else paramiko.AUTH_FAILED)

    def check_channel_request(self, kind: str, chanid: int) -> int:
        if kind == "session":
            return int(paramiko.OPEN_SUCCEEDED)
        return int(paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED_OR_CONNECTION_REFUSED)

    def check_channel_exec_request(self, channel: paramiko.Channel, command: bytes) -> bool:
        text = command.decode()
        self.log.append(text)
        threading.Thread(target=_execute, args=(channel, text, self.env), daemon=True).start()
        return True


def _pump_out(source: IO[bytes], send: Any) -> None:
    while chunk := source.read1(65536):  # type: ignore[attr-defined]
        send(chunk)


def _pump_in(channel: paramiko.Channel, sink: IO[bytes]) -> None:
    with contextlib.suppress(OSError, EOFError):
        while chunk := channel.recv(65536):
            sink.write(chunk)
        sink.close()


def _execute(channel: paramiko.Channel, command: str, env: dict[str, str]) -> None:
    proc = subprocess.Popen(
        ["/bin/sh", "-c", command],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert proc.stdin and proc.stdout and proc.stderr
    threading.Thread(target=_pump_in, args=(channel, proc.stdin), daemon=True).start()
    err = threading.Thread(target=_pump_out, args=(proc.stderr, channel.sendall_stderr))
    err.start()
    _pump_out(proc.stdout, channel.sendall)
    err.join()
    channel.send_exit_status(proc.wait())
    channel.close()


@dataclass
class SshServer:
    port: int
    client_key: Path
    log: list[str]


@contextlib.contextmanager
def ssh_server(directory: Path) -> Iterator[SshServer]:
    """Serve until the block ends; the client's private key is written into ``directory``."""
    host_key = paramiko.RSAKey.generate(1024)
    client = paramiko.RSAKey.generate(1024)
    key_file = directory / "id_rsa"
    client.write_private_key_file(str(key_file))
    bin_dir = directory / "bin"
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}")
    log: list[str] = []
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)  # so that the accept loop sees `stop` soon
    stop = threading.Event()
    transports: list[paramiko.Transport] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                sock, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            sock.settimeout(None)
            transport = paramiko.Transport(sock)
            transport.add_server_key(host_key)
            transport.start_server(server=_Server(client, env, log))
            transports.append(transport)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield SshServer(listener.getsockname()[1], key_file, log)
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()
        for transport in transports:
            transport.close()

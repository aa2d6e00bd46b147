"""What the lab's security tests do from the controller: HTTPS calls with or without the
secret, raw TLS handshakes, ZooKeeper reads, and drivers given only the secret and ca.pem.

Everything goes to lab addresses only. Processes started here are ended by their own pid.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import socket
import ssl
import subprocess
import sys
from pathlib import Path
from typing import Any

from minispark.ops.tls import Tls
from tests.deploy.ansible import REPO
from tests.lab.lab import Lab

TIMEOUT = 10.0


def credentials(lab: Lab) -> Path:
    """The credentials dir the playbooks made next to the lab's inventory (the default)."""
    return Path(lab.inventory).parent / "credentials"


def auth(lab: Lab) -> dict[str, Any]:
    """The ``secret`` and ``tls`` keywords of the ops probes, read now (a rotation changes
    the secret)."""
    creds = credentials(lab)
    return {"secret": secret_of(creds / "minispark.secret"), "tls": Tls.load(str(creds / "ca.pem"))}


def secret_of(path: Path) -> str:
    """The secret a file presents: its first line."""
    return path.read_text().splitlines()[0].strip()


def context(ca_file: Path, client: tuple[Path, Path] | None = None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(ca_file))
    if client is not None:
        ctx.load_cert_chain(str(client[0]), str(client[1]))
    return ctx


def https(
    address: str,
    path: str,
    ctx: ssl.SSLContext,
    *,
    method: str = "GET",
    secret: str | None = None,
    body: dict[str, Any] | None = None,
) -> tuple[int, bytes]:
    """(status, body) of one HTTPS request to ``host:port``, verified against ``ctx``'s CA."""
    host, _, port = address.rpartition(":")
    conn = http.client.HTTPSConnection(host, int(port), context=ctx, timeout=TIMEOUT)
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["Authorization"] = f"Bearer {secret}"
    try:
        data = None if body is None else json.dumps(body).encode()
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def plain_http(address: str, path: str) -> str:
    """What a plain-HTTP request to a TLS port gets: the status line, or the error."""
    host, _, port = address.rpartition(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=TIMEOUT)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return f"HTTP {response.status} {response.read()[:200]!r}"
    except (OSError, http.client.HTTPException) as exc:
        return f"error: {type(exc).__name__}: {exc}"
    finally:
        conn.close()


def tls_exchange(address: str, ctx: ssl.SSLContext, payload: bytes) -> str:
    """Handshake (the server verified against ``ctx``), send ``payload``, read the answer.

    "answered: ..." when the server talked back, else "refused: <reason>". With TLS 1.3 a
    server that rejects the client's certificate says so only after the handshake, on read.
    """
    host, _, port = address.rpartition(":")
    try:
        with (
            socket.create_connection((host, int(port)), timeout=TIMEOUT) as raw,
            ctx.wrap_socket(raw, server_hostname=host) as tls,
        ):
            if payload:
                tls.sendall(payload)
            tls.settimeout(3.0)  # a server that waits for us is not a refusal
            try:
                answer = tls.recv(4096)
            except TimeoutError:
                return "answered: nothing yet (the server waits)"
    except (OSError, ssl.SSLError) as exc:
        return f"refused: {type(exc).__name__}: {exc}"
    return f"answered: {answer[:200]!r}" if answer else "refused: closed without an answer"


def served_sha256(address: str) -> str:
    """The fingerprint of the certificate ``host:port`` serves (not verified)."""
    host, _, port = address.rpartition(":")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection((host, int(port)), timeout=TIMEOUT) as raw,
        ctx.wrap_socket(raw, server_hostname=host) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return hashlib.sha256(der).hexdigest()


def submit_command(
    master_url: str, program: Path, *args: str, secret_file: Path | None, ca_file: Path | None
) -> list[str]:
    """``minispark submit`` of this checkout, given at most the two files of the issue."""
    command = [sys.executable, "-m", "minispark", "submit", "--master", master_url]
    if secret_file is not None:
        command += ["--conf", f"spark.authenticate.secret.file={secret_file}"]
    if ca_file is not None:
        command += ["--conf", f"minispark.ssl.caFile={ca_file}"]
    return [*command, "--conf", "spark.ui.showConsoleProgress=false", str(program), *args]


def driver_env(conf_dir: Path) -> dict[str, str]:
    """The controller has no minispark configuration: an empty conf dir, this checkout."""
    conf_dir.mkdir(parents=True, exist_ok=True)
    return dict(os.environ, PYTHONPATH=str(REPO), MINISPARK_CONF_DIR=str(conf_dir))


def submit(
    master_url: str,
    program: Path,
    *args: str,
    secret_file: Path | None,
    ca_file: Path | None,
    workdir: Path,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    command = submit_command(master_url, program, *args, secret_file=secret_file, ca_file=ca_file)
    return subprocess.run(
        command,
        cwd=workdir,
        env=driver_env(workdir / "conf"),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )

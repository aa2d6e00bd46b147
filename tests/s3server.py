"""A real S3 server for tests: moto's server, on 127.0.0.1 and a free port, as a subprocess.

Clients reach it the way a user reaches any S3 endpoint: the standard AWS environment
variables (``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``), which
botocore, and so s3fs, read. Processes a test starts (daemons, executors) inherit them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from s3fs import S3FileSystem  # type: ignore[import-untyped]

from minispark.driver.localcluster import free_port
from tests.integration.harness import http, wait_for


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    bucket: str

    @property
    def env(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }

    def url(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"


def _answers(endpoint: str) -> bool:
    try:
        return http(endpoint + "/")[0] == 200
    except OSError:
        return False


@contextlib.contextmanager
def s3_server(log_dir: Path) -> Iterator[S3Server]:
    port = free_port()
    with (log_dir / "moto.log").open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        endpoint = f"http://127.0.0.1:{port}"
        wait_for(lambda: _answers(endpoint), "moto's S3 server to answer")
        server = S3Server(endpoint, f"test-{uuid.uuid4().hex[:12]}")
        status, body = http(f"{endpoint}/{server.bucket}", method="PUT")
        assert status == 200, body
        yield server
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGTERM)
        proc.wait()


@pytest.fixture
def s3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Server]:
    """A fresh bucket on a running S3 server, its credentials in this process's environment."""
    with s3_server(tmp_path) as server:
        for key, value in server.env.items():
            monkeypatch.setenv(key, value)
        # fsspec keeps filesystem instances by their arguments, not the environment: one
        # made for an earlier test's server would talk to that server.
        S3FileSystem.clear_instance_cache()
        yield server
        S3FileSystem.clear_instance_cache()

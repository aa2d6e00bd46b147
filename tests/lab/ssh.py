"""SSH from the controller into lab hosts, without prompts and without leftover processes."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.lab import shell
from tests.lab.errors import LabError

# Lab hosts are recreated all the time with new keys; checking them would only get in the way.
# No ControlMaster: a persistent master would be a process left behind after teardown.
OPTIONS = (
    "-o",
    "StrictHostKeyChecking=no",
    "-o",
    "UserKnownHostsFile=/dev/null",
    "-o",
    "LogLevel=ERROR",
    "-o",
    "BatchMode=yes",
    "-o",
    "ControlMaster=no",
    "-o",
    "ConnectTimeout=3",
)
COMMON_ARGS = "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"
USER = "root"


def ensure_key(key: Path) -> Path:
    """The controller's key pair, generated on first use."""
    if not key.exists():
        key.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        shell.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "minispark-lab", "-f", str(key)]
        )
    return key


def argv(key: Path, address: str, command: str | None) -> list[str]:
    """ssh's arguments; without a command, for an interactive login."""
    tail = [command] if command is not None else []
    tty = ["-t"] if command is None else []
    return ["ssh", *tty, "-i", str(key), *OPTIONS, f"{USER}@{address}", *tail]


def run(
    key: Path, address: str, command: str, *, timeout: float = 60.0, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run a shell command on a host; LabError on failure (if `check`) or timeout."""
    try:
        return shell.run(argv(key, address, command), timeout=timeout, check=check)
    except LabError as exc:
        raise LabError(f"on {address}: {exc}") from exc

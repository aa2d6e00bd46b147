"""Processes the lab started, identified by pid *and* start time so a reused pid is never hit."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

# Field 22 of /proc/<pid>/stat, counted after the ")" that ends the command name.
STARTTIME_FIELD = 19
STATE_FIELD = 0


@dataclass(frozen=True)
class ProcRef:
    pid: int
    start: int


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name may contain spaces and ")", so split after its last ")".
    return text[text.rindex(")") + 2 :].split()


def ref(pid: int) -> ProcRef:
    """A reference to a live process; raises ProcessLookupError if it is already gone."""
    fields = _stat(pid)
    if fields is None:
        raise ProcessLookupError(pid)
    return ProcRef(pid, int(fields[STARTTIME_FIELD]))


def reap(pid: int) -> None:
    """Collect the exit status if the process is our child, so it does not stay a zombie."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def is_alive(proc: ProcRef) -> bool:
    reap(proc.pid)
    fields = _stat(proc.pid)
    if fields is None or int(fields[STARTTIME_FIELD]) != proc.start:
        return False
    return fields[STATE_FIELD] not in {"Z", "X"}


def send(proc: ProcRef, sig: signal.Signals) -> bool:
    """Signal the process if it is still the one we started; True if a signal was sent."""
    if not is_alive(proc):
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(proc.pid, sig)
        return True
    return False


def wait_gone(proc: ProcRef, timeout: float) -> bool:
    """Wait until the process has exited; False if it is still there after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while is_alive(proc):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True

"""Processes the lab started, identified by pid *and* start time so a reused pid is never hit."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.lab.errors import LabError

# Field 22 of /proc/<pid>/stat, counted after the ")" that ends the command name.
STARTTIME_FIELD = 19
STATE_FIELD = 0


# Popen handles of the processes this interpreter started, so that they are reaped through
# their handle (no zombie, no "still running" warning when the handle is collected).
_children: dict[int, subprocess.Popen[bytes]] = {}


@dataclass(frozen=True)
class ProcRef:
    pid: int
    start: int


def spawn(argv: Sequence[str], log_file: Path) -> ProcRef:
    """Start `argv` detached from our session and terminal, output appended to `log_file`.

    Its own session, so a Ctrl-C meant for the test run does not reach it directly: the lab
    decides when hosts go down.
    """
    with log_file.open("ab") as log:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _children[proc.pid] = proc
    return ref(proc.pid)


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
    if pid in _children:
        if _children[pid].poll() is not None:
            del _children[pid]
        return
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def is_alive(proc: ProcRef) -> bool:
    reap(proc.pid)
    fields = _stat(proc.pid)
    return (
        fields is not None
        and int(fields[STARTTIME_FIELD]) == proc.start
        and (fields[STATE_FIELD] not in {"Z", "X"})
    )


def exists(proc: ProcRef) -> bool:
    """Whether the process is still in the process table, zombies included."""
    reap(proc.pid)
    fields = _stat(proc.pid)
    return fields is not None and int(fields[STARTTIME_FIELD]) == proc.start


def send(proc: ProcRef, sig: signal.Signals) -> bool:
    """Signal the process if it is still the one we started; True if a signal was sent."""
    if not is_alive(proc):
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(proc.pid, sig)
        return True
    return False


def wait_gone(proc: ProcRef, timeout: float) -> bool:
    """Wait until the process has exited and been collected; False if not within `timeout`."""
    deadline = time.monotonic() + timeout
    while exists(proc):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def wait_dead(proc: ProcRef, timeout: float) -> None:
    """Wait until the process is gone; raise if it still runs after `timeout`.

    A zombie left at the end is no error: it has exited, and its parent (another process
    that started the lab, or init) collects it.
    """
    if not wait_gone(proc, timeout) and is_alive(proc):
        raise LabError(f"process {proc.pid} is still running after {timeout:.0f}s")

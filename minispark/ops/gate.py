"""Wait until a condition holds several checks in a row, or give up with the last reason.

One good answer is not enough to move a rolling deployment on: a master that has just won an
election may lose it again a second later, a ZooKeeper member may serve and then drop out
while it syncs. A streak of good answers is. Standard library only.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

Check = Callable[[], tuple[bool, str]]


@dataclass(frozen=True)
class GateResult:
    """How the wait ended: ``reason`` is what the last check said (why it failed, if it did)."""

    passed: bool
    attempts: int
    elapsed: float
    reason: str


def _run(check: Check) -> tuple[bool, str]:
    # A probe that raises is one bad answer, not the end of the wait: daemons that are being
    # (re)started refuse connections for a while.
    try:
        ok, reason = check()
    except Exception as exc:
        lines = str(exc).strip().splitlines()
        return False, lines[0] if lines else type(exc).__name__
    return bool(ok), reason


def wait_until(
    check: Check,
    *,
    consecutive: int = 3,
    interval: float = 1.0,
    timeout: float = 120.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> GateResult:
    """Call ``check`` every ``interval`` seconds until it returns True ``consecutive`` times in
    a row (a False or an exception starts the streak over), or until ``timeout`` seconds.

    The first check is made at once. A check that would start after the timeout is not made,
    so the wait fails at ``timeout`` at the latest (plus the duration of the last check).
    """
    if consecutive < 1:
        raise ValueError(f"consecutive must be at least 1, not {consecutive}")
    if interval < 0 or timeout < 0:
        raise ValueError(f"interval and timeout cannot be negative ({interval}, {timeout})")
    start = clock()
    attempts = streak = 0
    while True:
        ok, reason = _run(check)
        attempts += 1
        streak = streak + 1 if ok else 0
        elapsed = clock() - start
        if streak >= consecutive:
            return GateResult(True, attempts, elapsed, reason)
        if elapsed + interval > timeout:
            return GateResult(False, attempts, elapsed, reason)
        sleep(interval)

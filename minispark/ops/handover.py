"""How long the cluster had no leader while its leading master stopped. Stdlib only.

The caller starts the leader's restart (SIGTERM releases leadership at once) and then watches:
all masters are polled every ``interval`` seconds until one other than the old leader is
ALIVE. The cluster had a leader up to the last poll at which the old one still said ALIVE
(or up to the stop, if none did), so the gap between that poll and the first one that finds
the new leader is an upper bound of the leaderless time, within one poll.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from .probes import ProbeError

POLL_INTERVAL = 0.1


@dataclass(frozen=True)
class Handover:
    """``new`` is None when no master took over in time (``reason`` says what was seen)."""

    old: str
    new: str | None
    leaderless: float
    polls: int
    reason: str = ""

    @property
    def millis(self) -> int:
        return round(self.leaderless * 1000)


def watch(
    old: str,
    leader: Callable[[], str | None],
    *,
    since: float,
    timeout: float,
    interval: float = POLL_INTERVAL,
    aborted: Callable[[], str | None] = lambda: None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Handover:
    """Poll ``leader`` (the ALIVE master or None) until a master other than ``old`` leads, or
    ``old`` leads again after a poll without any leader (a cluster with a single master).

    ``since`` is when the stop was issued (``clock``'s time). ``aborted`` says why to give up
    early (the restart command failed, so the old leader may never let go).
    """
    led_until = since
    gap = False
    polls = 0
    while True:
        try:
            current = leader()
        except ProbeError:  # several ALIVE at once: no single leader either
            current = None
        now = clock()
        polls += 1
        if current == old and not gap:
            led_until = now
        elif current is not None:
            return Handover(old, current, now - led_until, polls)
        else:
            gap = True
        reason = aborted()
        if reason is not None or now - since + interval > timeout:
            said = reason or f"no master took over within {timeout:g}s"
            return Handover(old, None, now - led_until, polls, said)
        sleep(interval)

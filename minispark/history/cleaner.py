"""Which event logs the cleaner deletes (spark.history.fs.cleaner.*), as Spark decides:

every log not written to for longer than ``maxAge``, running or not (a driver that died
without renaming its ``.inprogress`` log never will), and then, while more than ``maxNum``
logs remain, the least recently written of the complete ones. A running application's log
is never deleted to meet ``maxNum``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .logfile import LogName
from .summary import LogFile


@dataclass(frozen=True)
class CleanerPolicy:
    max_age_s: float
    max_num: int | None  # None: no limit on the count


def expired(files: Iterable[LogFile], now: float, policy: CleanerPolicy) -> list[LogFile]:
    """The logs to delete, oldest first."""
    by_age = sorted(files, key=lambda f: (f.mtime, f.name))
    old = [f for f in by_age if now - f.mtime > policy.max_age_s]
    kept = [f for f in by_age if now - f.mtime <= policy.max_age_s]
    if policy.max_num is None or len(kept) <= policy.max_num:
        return old
    over = len(kept) - policy.max_num
    complete = [f for f in kept if not LogName.parse(f.name).in_progress]
    return old + complete[:over]

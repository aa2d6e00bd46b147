"""The cleaner's choice (spark.history.fs.cleaner.maxAge and maxNum), as Spark makes it."""

from __future__ import annotations

from minispark.history.cleaner import CleanerPolicy, expired
from minispark.history.summary import LogFile

DAY = 86400.0
NOW = 100 * DAY


def log(name: str, age_days: float) -> LogFile:
    return LogFile(f"/logs/{name}", name, 10, NOW - age_days * DAY)


def names(files: list[LogFile]) -> list[str]:
    return [f.name for f in files]


def test_logs_older_than_max_age_go_running_or_not() -> None:
    files = [log("app-new", 1), log("app-old", 8), log("app-dead.inprogress", 9)]
    assert names(expired(files, NOW, CleanerPolicy(7 * DAY, None))) == [
        "app-dead.inprogress",
        "app-old",
    ]


def test_nothing_goes_when_all_are_young_and_few() -> None:
    files = [log("app-a", 1), log("app-b", 2)]
    assert expired(files, NOW, CleanerPolicy(7 * DAY, 2)) == []


def test_beyond_max_num_the_oldest_complete_logs_go_first() -> None:
    files = [
        log("app-1", 5),
        log("app-2.inprogress", 6),
        log("app-3", 4),
        log("app-4.gz", 3),
        log("app-5", 1),
    ]
    # Two over the limit of 3: the oldest complete ones, passing over the running one.
    assert names(expired(files, NOW, CleanerPolicy(7 * DAY, 3))) == ["app-1", "app-3"]


def test_a_running_log_is_never_deleted_to_meet_max_num() -> None:
    files = [log("app-1.inprogress", 3), log("app-2.inprogress", 2), log("app-3", 1)]
    assert names(expired(files, NOW, CleanerPolicy(7 * DAY, 1))) == ["app-3"]


def test_age_and_count_together() -> None:
    files = [log("app-old", 30), log("app-1", 3), log("app-2", 2), log("app-3", 1)]
    assert names(expired(files, NOW, CleanerPolicy(7 * DAY, 2))) == ["app-old", "app-1"]

"""The time without a leader during a planned failover, measured against a fake clock."""

from __future__ import annotations

from collections.abc import Callable

from minispark.ops.handover import watch
from minispark.ops.probes import ProbeError
from tests.unit.opsfakes import FakeTime


def poller(
    *answers: str | Exception | None, time: FakeTime, cost: float = 0.0
) -> Callable[[], str | None]:
    """Answers in turn (the last one forever); each poll costs ``cost`` seconds."""
    sequence = list(answers)

    def leader() -> str | None:
        time.now += cost
        answer = sequence.pop(0) if len(sequence) > 1 else sequence[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    return leader


def test_leaderless_time_runs_from_the_last_poll_with_the_old_leader() -> None:
    t = FakeTime()
    since = t.clock()
    # t=100.0 m1, 100.1 m1 (SIGTERM not there yet), 100.2 none, 100.3 none, 100.4 m2.
    seen = watch(
        "m1", poller("m1", "m1", None, None, "m2", time=t), since=since, timeout=10,
        clock=t.clock, sleep=t.sleep,
    )  # fmt: skip
    assert (seen.old, seen.new, seen.polls) == ("m1", "m2", 5)
    assert seen.millis == 300
    assert seen.reason == ""


def test_a_handover_between_two_polls_is_bounded_by_one_poll() -> None:
    t = FakeTime()
    seen = watch(
        "m1", poller("m1", "m2", time=t, cost=0.004), since=t.clock(), timeout=10,
        clock=t.clock, sleep=t.sleep,
    )  # fmt: skip
    assert seen.new == "m2"
    assert seen.millis == 104  # one interval plus one poll's own time


def test_the_clock_starts_at_the_stop_when_the_old_leader_is_never_seen() -> None:
    t = FakeTime()
    since = t.clock()
    t.now += 0.05  # the SSH command took 50 ms to start
    seen = watch(
        "m1", poller(None, "m3", time=t), since=since, timeout=10, clock=t.clock, sleep=t.sleep
    )
    assert (seen.new, seen.millis) == ("m3", 150)


def test_a_single_master_that_comes_back_counts_as_the_new_leader() -> None:
    t = FakeTime()
    seen = watch(
        "m1", poller("m1", None, None, None, "m1", time=t), since=t.clock(), timeout=10,
        clock=t.clock, sleep=t.sleep,
    )  # fmt: skip
    assert (seen.new, seen.millis) == ("m1", 400)


def test_several_alive_masters_count_as_no_leader() -> None:
    t = FakeTime()
    several = ProbeError("2 masters are ALIVE at once")
    seen = watch(
        "m1", poller("m1", several, "m2", time=t), since=t.clock(), timeout=10,
        clock=t.clock, sleep=t.sleep,
    )  # fmt: skip
    assert (seen.new, seen.millis) == ("m2", 200)


def test_no_takeover_within_the_timeout() -> None:
    t = FakeTime()
    seen = watch(
        "m1", poller(None, time=t), since=t.clock(), timeout=2, clock=t.clock, sleep=t.sleep
    )
    assert seen.new is None
    assert seen.reason == "no master took over within 2s"
    assert 1.8 <= t.now - 100.0 <= 2.0


def test_a_failed_stop_ends_the_watch_at_once() -> None:
    t = FakeTime()
    reasons = iter([None, "m1: `systemctl restart minispark-master` failed (exit 1): masked"])
    seen = watch(
        "m1", poller("m1", time=t), since=t.clock(), timeout=60, aborted=lambda: next(reasons),
        clock=t.clock, sleep=t.sleep,
    )  # fmt: skip
    assert seen.new is None
    assert seen.polls == 2
    assert "masked" in seen.reason

"""The health gate, on a fake clock: instant and deterministic, no wall-clock anywhere."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from minispark.ops.gate import GateResult, wait_until
from minispark.ops.probes import ProbeError
from tests.unit.opsfakes import FakeTime

Answer = bool | Exception


def scripted(
    *answers: Answer, takes: float = 0.0, time: FakeTime | None = None
) -> Callable[[], tuple[bool, str]]:
    """A check that gives ``answers`` in turn, then repeats the last one forever."""
    calls = 0

    def check() -> tuple[bool, str]:
        nonlocal calls
        answer = answers[min(calls, len(answers) - 1)]
        calls += 1
        if time is not None:
            time.now += takes
        if isinstance(answer, Exception):
            raise answer
        return answer, f"answer {calls}: {answer}"

    return check


def gate(
    check: Callable[[], tuple[bool, str]],
    time: FakeTime,
    *,
    consecutive: int = 3,
    interval: float = 1.0,
    timeout: float = 120.0,
) -> GateResult:
    return wait_until(
        check,
        consecutive=consecutive,
        interval=interval,
        timeout=timeout,
        clock=time.clock,
        sleep=time.sleep,
    )


def test_passes_after_a_streak_of_good_answers_the_first_one_at_once() -> None:
    time = FakeTime()
    result = gate(scripted(True), time)
    assert result == GateResult(passed=True, attempts=3, elapsed=2.0, reason="answer 3: True")
    assert time.sleeps == [1.0, 1.0]  # none before the first check


def test_a_bad_answer_starts_the_streak_over() -> None:
    time = FakeTime()
    result = gate(scripted(True, True, False, True, True, True), time)
    assert (result.passed, result.attempts) == (True, 6)


def test_an_exception_is_a_bad_answer_and_its_message_the_reason() -> None:
    time = FakeTime()
    down = ProbeError("zookeeper z1:2181: cannot connect: Connection refused")
    result = gate(scripted(True, True, down, True, True, True), time)
    assert (result.passed, result.attempts) == (True, 6)

    result = gate(scripted(down), FakeTime(), timeout=3.0)
    assert not result.passed
    assert result.reason == "zookeeper z1:2181: cannot connect: Connection refused"


def test_an_exception_without_a_message_is_named_and_a_long_one_cut_to_a_line() -> None:
    assert gate(scripted(KeyError()), FakeTime(), timeout=0).reason == "KeyError"
    multi = RuntimeError("first line\n  second line")
    assert gate(scripted(multi), FakeTime(), timeout=0).reason == "first line"


def test_fails_at_the_timeout_with_the_last_reason() -> None:
    time = FakeTime()
    result = gate(scripted(False), time, interval=1.0, timeout=5.0)
    assert result == GateResult(passed=False, attempts=6, elapsed=5.0, reason="answer 6: False")


def test_a_streak_cut_by_the_timeout_fails() -> None:
    # Good answers from the fourth check on; three in a row would need checks until 5 s.
    result = gate(scripted(False, False, False, True), FakeTime(), interval=1.0, timeout=4.0)
    assert (result.passed, result.attempts, result.elapsed) == (False, 5, 4.0)


def test_no_check_starts_after_the_timeout() -> None:
    time = FakeTime()
    result = gate(scripted(False, takes=0.75, time=time), time, interval=1.0, timeout=5.0)
    # Checks start at 0, 1.75, 3.5; the next would start at 5.25, after the timeout.
    assert (result.passed, result.attempts, result.elapsed) == (False, 3, 4.25)


def test_one_good_answer_is_enough_when_asked_for_one() -> None:
    result = gate(scripted(True), FakeTime(), consecutive=1, timeout=0)
    assert (result.passed, result.attempts, result.elapsed) == (True, 1, 0.0)


def test_a_zero_timeout_checks_once() -> None:
    time = FakeTime()
    result = gate(scripted(True), time, timeout=0)
    assert (result.passed, result.attempts, time.sleeps) == (False, 1, [])


@pytest.mark.parametrize(
    ("consecutive", "interval", "timeout"), [(0, 1.0, 1.0), (3, -1.0, 1.0), (3, 1.0, -0.5)]
)
def test_nonsense_options_are_refused(consecutive: int, interval: float, timeout: float) -> None:
    with pytest.raises(ValueError, match=r"consecutive|negative"):
        gate(
            scripted(True), FakeTime(), consecutive=consecutive, interval=interval, timeout=timeout
        )

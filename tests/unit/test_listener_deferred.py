"""Deferred: the UI's store is fed after the scheduler's handler, and never read behind."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from minispark.driver.listener import Deferred


def _event(n: int) -> dict[str, Any]:
    return {"Event": "Test", "n": n}


def test_events_posted_on_the_loop_wait_for_the_handler_to_end() -> None:
    seen: list[int] = []
    sink = Deferred(lambda e: seen.append(e["n"]))

    async def handler() -> list[int]:
        for n in range(3):
            sink(_event(n))
        during = list(seen)  # the handler still runs: nothing applied yet
        await asyncio.sleep(0)  # one loop turn
        return during

    assert asyncio.run(handler()) == []
    assert seen == [0, 1, 2]


def test_a_read_drains_first_and_off_loop_posts_are_kept() -> None:
    seen: list[int] = []
    sink = Deferred(lambda e: seen.append(e["n"]))
    sink(_event(7))  # no running loop here: queued, not lost
    assert seen == []
    sink.drain()
    assert seen == [7]


def test_a_failing_sink_is_dropped_once(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[int] = []

    def broken(event: dict[str, Any]) -> None:
        calls.append(event["n"])
        raise KeyError("bug")

    sink = Deferred(broken)
    for n in range(3):
        sink(_event(n))
    with caplog.at_level(logging.ERROR, logger="minispark.listener"):
        sink.drain()
        sink(_event(3))
        sink.drain()
    assert calls == [0]
    assert caplog.text.count("gets no more events") == 1

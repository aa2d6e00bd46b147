"""Decoding untrusted bytes gives a typed message or a clear error, never anything else."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from minispark import protocol as p
from minispark.rpc import MalformedFrame, _decoder_for, _frame, decode

ENDPOINTS = [p.ToMaster, p.ToWorker, p.ToDriver, p.ToExecutor]
DESC = p.ApplicationDescription(
    name="n", user="u", driver_url="h:1", memory_per_executor_mb=512, conf={"k": "v"}
)
SAMPLES: list[p.Message] = [
    p.RegisterWorker(
        worker_id="w", host="h", port=1, cores=2, memory_mb=3, webui_url="u", master_address="m:1"
    ),
    p.Heartbeat(worker_id="w"),
    p.ExecutorStateChanged(app_id="a", exec_id=1, state=p.ExecutorState.FAILED, exit_status=-9),
    p.RegisterApplication(app=DESC),
    p.LaunchExecutor(epoch=3, app_id="a", exec_id=0, app=DESC, cores=1, memory_mb=512),
    p.RegisteredWorker(
        master_url="m", master_webui_url="w", duplicate=False, epoch=1, heartbeat_s=3.75
    ),
    p.ExecutorUpdated(epoch=1, exec_id=2, state=p.ExecutorState.LOST, worker_host="h"),
    p.StopExecutor(),
]


@pytest.mark.parametrize("message", SAMPLES, ids=lambda m: type(m).__name__)
def test_messages_round_trip_through_their_endpoint(message: p.Message) -> None:
    body = _frame(1, 7, message)[4:]
    accepted = [u for u in ENDPOINTS if _accepts(u, message)]
    assert accepted, f"no endpoint accepts {type(message).__name__}"
    for union in accepted:
        assert _decoder_for(union).decode(body) == (1, 7, message)


def _accepts(union: object, message: p.Message) -> bool:
    return type(message) in getattr(union, "__args__", (union,))


def test_a_message_for_another_endpoint_is_refused() -> None:
    body = _frame(0, 0, p.StopExecutor())[4:]
    with pytest.raises(MalformedFrame):
        decode(_decoder_for(p.ToMaster), body)


@given(st.binary(max_size=512))
def test_random_bytes_never_crash_a_decoder(data: bytes) -> None:
    for union in ENDPOINTS:
        with contextlib.suppress(MalformedFrame):
            decode(_decoder_for(union), data)


@given(st.sampled_from(SAMPLES), st.integers(min_value=0, max_value=200), st.binary(max_size=8))
def test_mutated_frames_decode_or_fail_cleanly(message: p.Message, cut: int, junk: bytes) -> None:
    body = _frame(0, 0, message)[4:]
    mutated = body[:cut] + junk + body[cut + len(junk) :]
    for union in ENDPOINTS:
        try:
            kind, _, decoded = decode(_decoder_for(union), mutated)
        except MalformedFrame:
            continue
        assert isinstance(decoded, p.Message) and isinstance(kind, int)


def test_states_know_when_they_are_final() -> None:
    assert not p.ExecutorState.RUNNING.finished
    assert {s for s in p.ExecutorState if s.finished} == {"KILLED", "FAILED", "LOST", "EXITED"}

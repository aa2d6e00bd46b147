"""Finding and following the leading master: the choice among answers, the retry schedule,
and the link itself against in-process masters that answer over real RPC."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable
from typing import Any

import pytest

from minispark import protocol as p
from minispark import rpc
from minispark.conf import Conf
from minispark.masterlink import (
    Endpoint,
    Leadership,
    MasterLink,
    NoLeader,
    Retries,
    Verdict,
)
from minispark.submitclient import ClientError, _ask_leader
from minispark.worker.settings import WorkerSettings
from minispark.worker.worker import registration_retries

log = logging.getLogger("test.masterlink")
OPEN = rpc.Security()

# ------------------------------------------------------------------ the retry schedule


def test_worker_schedule_is_quick_waits_then_long_ones_and_no_wait_after_the_last() -> None:
    waits = registration_retries(WorkerSettings.from_conf(Conf())).waits()
    assert waits == [1.0] * 5 + [30.0] * 10  # 16 attempts: 15 waits between them


def test_a_zero_quick_count_means_every_wait_is_long() -> None:
    retries = registration_retries(
        WorkerSettings.from_conf(Conf({"spark.worker.initialRegistrationRetries": "0"}))
    )
    assert retries.quick == 0 and set(retries.waits()) == {30.0}


def test_one_scale_stretches_every_wait_of_a_search() -> None:
    retries = Retries(attempts=4, quick=2, short_s=1.0, long_s=10.0)
    assert retries.waits(1.5) == [1.5, 15.0, 15.0]


def test_without_a_quick_count_all_waits_are_short() -> None:
    assert Retries(attempts=30, short_s=1.0).waits() == [1.0] * 29
    assert Retries(attempts=1).waits() == []


def test_jitter_bounds_the_scale() -> None:
    retries = Retries(attempts=3, jitter=0.5)
    assert all(0.5 <= retries.scale() <= 1.5 for _ in range(200))
    assert Retries(attempts=3).scale() == 1.0


# ------------------------------------------------------------- choosing the leader


def _followed(answers: list[tuple[str, int]], known: int = 0) -> str | None:
    """Feed answers in arrival order, as a search does; the claimant followed at the end."""
    state, followed = Leadership(epoch=known), None
    for name, epoch in answers:
        if state.judge(epoch) in (Verdict.FOLLOW, Verdict.SWITCH):
            state.follow(epoch)
            followed = name
    return followed


def test_the_highest_epoch_wins_whatever_order_the_answers_come_in() -> None:
    answers = [("a", 1), ("b", 3), ("c", 2)]
    for order in itertools.permutations(answers):
        assert _followed(list(order)) == "b"


def test_equal_epochs_keep_the_first_to_answer() -> None:
    assert _followed([("a", 1), ("b", 1)]) == "a"
    assert _followed([("b", 1), ("a", 1)]) == "b"


def test_verdicts_for_a_second_claimant() -> None:
    state = Leadership()
    assert state.judge(2) is Verdict.FOLLOW
    state.follow(2)
    assert state.judge(3) is Verdict.SWITCH
    assert state.judge(2) is Verdict.STAY
    assert state.judge(1) is Verdict.STAY


def test_a_claim_below_an_announced_epoch_is_a_deposed_leader() -> None:
    state = Leadership()
    state.follow(1)
    assert state.announced(2) and not state.following
    assert state.judge(1) is Verdict.STALE
    assert state.judge(2) is Verdict.FOLLOW
    assert _followed([("old", 1)], known=2) is None


def test_only_newer_announcements_count() -> None:
    state = Leadership()
    state.follow(3)
    assert not state.announced(3) and not state.announced(2)
    assert state.following and state.epoch == 3


def test_orders_below_the_highest_epoch_are_stale() -> None:
    state = Leadership(epoch=4)
    assert not state.current(p.KillExecutor(epoch=3, app_id="app-1", exec_id=0))
    assert state.current(p.KillExecutor(epoch=4, app_id="app-1", exec_id=0))
    assert state.current(p.Heartbeat(worker_id="w"))  # carries no epoch


# --------------------------------------------------- the link against real masters


class FakeMaster:
    """Answers worker registrations as a leader at ``epoch``, or as a standby (None)."""

    def __init__(self, epoch: int | None) -> None:
        self.epoch = epoch
        self.server = rpc.Server(name="m", inbound=p.ToMaster, handler=self.handle, security=OPEN)
        self.port = 0

    async def start(self) -> FakeMaster:
        self.port = await self.server.start("127.0.0.1", 0)
        return self

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    @property
    def linked(self) -> int:
        return sum(1 for c in self.server.connections if not c.is_closed)

    def handle(self, conn: rpc.Connection, message: Any) -> p.Message | None:
        if self.epoch is None:
            return p.MasterInStandby()
        return p.RegisteredWorker(
            master_url=f"minispark://127.0.0.1:{self.port}",
            master_webui_url="",
            duplicate=False,
            epoch=self.epoch,
            heartbeat_s=1.0,
        )


async def _register(conn: rpc.Connection, master: tuple[str, int]) -> p.RegisteredWorker | str:
    reply = await conn.ask(
        p.RegisterWorker(
            worker_id="w", host="h", port=1, cores=1, memory_mb=1, webui_url="", master_address=""
        )
    )
    return reply if isinstance(reply, p.RegisteredWorker) else "a standby"


def _link(masters: list[FakeMaster], **kwargs: Any) -> MasterLink[p.RegisteredWorker]:
    settings: dict[str, Any] = dict(
        subject="worker", register=_register, retries=Retries(attempts=2, short_s=0.01), log=log
    )
    settings.update(kwargs)
    return MasterLink(
        [m.address for m in masters],
        Endpoint(p.ToWorker, lambda c, m: None, OPEN, role="worker"),
        **settings,
    )


async def _eventually(check: Callable[[], bool]) -> None:
    for _ in range(200):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")


def test_the_leader_is_found_among_standbys() -> None:
    async def main() -> None:
        standby, leader = await FakeMaster(None).start(), await FakeMaster(4).start()
        followed: list[int] = []
        link = _link([standby, leader], on_leader=lambda c, r: followed.append(r.epoch))
        conn = await link.find()
        assert conn is link.leader and followed == [4] and link.epoch == 4
        await _eventually(lambda: standby.linked == 0 and leader.linked == 1)
        link.close()

    asyncio.run(main())


def test_two_claimants_leave_the_link_with_the_higher_epoch(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def main() -> None:
        low, high = await FakeMaster(1).start(), await FakeMaster(2).start()
        link = _link([low, high])
        await link.find()
        assert link.epoch == 2
        await _eventually(lambda: low.linked == 0 and high.linked == 1)
        link.close()

    with caplog.at_level(logging.ERROR, logger=log.name):
        asyncio.run(main())
    assert "two masters accept this worker as leaders" in caplog.text


def test_a_search_gives_up_with_what_each_master_answered() -> None:
    async def main() -> None:
        standby = await FakeMaster(None).start()
        gone = await FakeMaster(None).start()
        gone.server.close()
        await asyncio.sleep(0.05)
        with pytest.raises(NoLeader) as caught:
            await _link([standby, gone]).find()
        assert caught.value.attempts == 2
        assert caught.value.outcomes[standby.address] == "a standby"
        assert gone.address in caught.value.outcomes
        assert "a standby" in caught.value.tried

    asyncio.run(main())


def test_fatal_errors_end_the_search_at_once() -> None:
    async def main() -> None:
        master = await FakeMaster(1).start()  # open: the link brings a secret it does not expect
        link = MasterLink(
            [master.address],
            Endpoint(p.ToWorker, lambda c, m: None, rpc.Security(secret=b"s"), role="worker"),
            subject="application",
            register=_register,
            retries=Retries(attempts=5, short_s=5.0),
            log=log,
            fatal=(rpc.HandshakeError,),
        )
        with pytest.raises(rpc.HandshakeError, match="off on the server"):
            await asyncio.wait_for(link.find(), 3.0)

    asyncio.run(main())


def test_a_lost_link_is_reported_and_the_new_leader_followed() -> None:
    async def main() -> None:
        first, second = await FakeMaster(1).start(), await FakeMaster(None).start()
        lost: list[bool] = []
        link = _link([first, second], on_lost=lambda: lost.append(True))
        await link.find()
        first.epoch, second.epoch = None, 2  # leadership moves, then the old link drops
        first.server.close()
        await _eventually(lambda: link.epoch == 2 and link.leader is not None)
        assert lost == [True] and second.linked == 1
        link.close()

    asyncio.run(main())


def test_an_announced_leader_is_followed_and_a_stale_announcement_ignored() -> None:
    async def main() -> None:
        first, second = await FakeMaster(1).start(), await FakeMaster(None).start()
        link = _link([first, second])
        old = await link.find()
        link.announce(p.MasterChanged(master_url="x", master_webui_url="", epoch=1))
        assert link.leader is old  # not newer: nothing changes
        first.epoch, second.epoch = None, 2
        link.announce(p.MasterChanged(master_url="y", master_webui_url="", epoch=2))
        assert old.is_closed
        await _eventually(lambda: link.leader is not None and second.linked == 1)
        link.close()

    asyncio.run(main())


def test_a_settled_link_no_longer_searches() -> None:
    async def main() -> None:
        master = await FakeMaster(1).start()
        lost: list[bool] = []
        link = _link([master], on_lost=lambda: lost.append(True))
        await link.find()
        link.close("stopping")
        await asyncio.sleep(0.05)
        assert link.leader is None and lost == [] and master.linked == 0

    asyncio.run(main())


def test_giving_up_in_the_background_tells_the_caller() -> None:
    async def main() -> None:
        standby = await FakeMaster(None).start()
        gave_up: list[Exception] = []
        link = _link([standby], on_give_up=gave_up.append)
        link.follow()
        await _eventually(lambda: bool(gave_up))
        assert isinstance(gave_up[0], NoLeader)

    asyncio.run(main())


# ----------------------------------------------------- the submit client's leader


class FakeDriverMaster:
    """Answers the submit client as a leader at ``epoch`` or as a standby (None), and
    counts the submissions it accepted."""

    def __init__(self, epoch: int | None) -> None:
        self.epoch = epoch
        self.submitted = 0
        self.server = rpc.Server(name="m", inbound=p.ToMaster, handler=self.handle, security=OPEN)
        self.port = 0

    async def start(self) -> FakeDriverMaster:
        self.port = await self.server.start("127.0.0.1", 0)
        return self

    def handle(self, conn: rpc.Connection, message: Any) -> p.Message:
        if self.epoch is None:
            return p.DriverStatusResponse(found=False, message=f"{p.NOT_LEADER}standby")
        if isinstance(message, p.RequestSubmitDriver):
            self.submitted += 1
            return p.SubmitDriverResponse(success=True, driver_id=f"d{self.epoch}", message="")
        return p.DriverStatusResponse(found=False, message="no driver", epoch=self.epoch)


def test_a_submission_reaches_only_the_higher_of_two_claimants() -> None:
    async def main() -> None:
        masters = [await FakeDriverMaster(e).start() for e in (3, None, 7)]
        desc = p.DriverDescription(
            name="n", main="m.py", args=[], files={}, conf={}, cores=1, memory_mb=1
        )
        reply = await _ask_leader(
            [("127.0.0.1", m.port) for m in masters], OPEN, p.RequestSubmitDriver(driver=desc)
        )
        assert isinstance(reply, p.SubmitDriverResponse) and reply.driver_id == "d7"
        assert [m.submitted for m in masters] == [0, 0, 1]

    asyncio.run(main())


def test_only_standbys_give_the_client_one_line_naming_them() -> None:
    async def main() -> None:
        standby = await FakeDriverMaster(None).start()
        with pytest.raises(ClientError, match=r"no master answered as the leader: .*a standby"):
            await _ask_leader(
                [("127.0.0.1", standby.port)], OPEN, p.RequestDriverStatus(driver_id="x")
            )

    asyncio.run(main())

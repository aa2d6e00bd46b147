"""Unit tests for minispark.master.scheduling (Spark's Master.schedule() placement logic)."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from minispark.master.scheduling import (
    AppDemand,
    DriverDemand,
    ExecutorGrant,
    WorkerSlot,
    assign_cores,
    fits_anywhere_driver,
    fits_anywhere_executor,
    place_drivers,
    place_executors,
)

UNLIMITED = 2**31 - 1  # Spark's Int.MaxValue for defaultCores / executor limit
GB = 1024


def app(
    app_id: str = "app-1",
    *,
    cores_left: int = UNLIMITED,
    cores_per_executor: int | None = None,
    memory_mb: int = GB,
    executor_limit: int = UNLIMITED,
    executors: int = 0,
    executors_on: dict[str, int] | None = None,
) -> AppDemand:
    return AppDemand(
        id=app_id,
        cores_left=cores_left,
        cores_per_executor=cores_per_executor,
        memory_per_executor_mb=memory_mb,
        executor_limit=executor_limit,
        executors=executors,
        executors_on=executors_on or {},
    )


def per_worker_cores(grants: list[ExecutorGrant], app_id: str | None = None) -> dict[str, int]:
    totals: Counter[str] = Counter()
    for g in grants:
        if app_id is None or g.app_id == app_id:
            totals[g.worker_id] += g.cores
    return dict(totals)


# --- spread out vs consolidate --------------------------------------------------------------

THREE = [WorkerSlot("w1", 8, 16 * GB), WorkerSlot("w2", 6, 16 * GB), WorkerSlot("w3", 4, 16 * GB)]


def test_spread_out_round_robins_one_core_at_a_time_without_executor_cores() -> None:
    assert assign_cores(app(cores_left=9), THREE, spread_out=True) == [3, 3, 3]
    grants = place_executors([app(cores_left=9)], THREE, spread_out=True)
    assert grants == [ExecutorGrant("app-1", w, 3, GB) for w in ("w1", "w2", "w3")]


def test_consolidate_fills_a_worker_before_moving_on() -> None:
    assert assign_cores(app(cores_left=9), THREE, spread_out=False) == [8, 1, 0]
    grants = place_executors([app(cores_left=9)], THREE, spread_out=False)
    assert grants == [ExecutorGrant("app-1", "w1", 8, GB), ExecutorGrant("app-1", "w2", 1, GB)]


def test_spread_out_with_executor_cores_hands_out_blocks() -> None:
    a = app(cores_left=12, cores_per_executor=2)
    assert assign_cores(a, THREE, spread_out=True) == [4, 4, 4]
    assert assign_cores(a, THREE, spread_out=False) == [8, 4, 0]
    grants = place_executors([a], THREE, spread_out=False)
    assert Counter(g.worker_id for g in grants) == {"w1": 4, "w2": 2}
    assert all(g.cores == 2 for g in grants)


def test_place_executors_sorts_workers_by_free_cores_descending() -> None:
    # The input order is irrelevant. The worker with the most free cores is filled first.
    workers = [WorkerSlot("w3", 4, 16 * GB), WorkerSlot("w1", 8, 16 * GB)]
    grants = place_executors([app(cores_left=5)], workers, spread_out=False)
    assert per_worker_cores(grants) == {"w1": 5}


def test_ties_on_free_cores_break_on_worker_id_like_spark() -> None:
    # Spark 4 CORES_FREE_DESC: sortBy((coresFree, id)).reverse, so the larger id wins a tie.
    workers = [WorkerSlot(f"w{i}", 4, 16 * GB) for i in (1, 2, 3)]
    grants = place_executors([app(cores_left=4)], workers, spread_out=False)
    assert grants == [ExecutorGrant("app-1", "w3", 4, GB)]


# --- SPARK-8881 ------------------------------------------------------------------------------


@pytest.mark.parametrize("spread_out", [True, False])
def test_spark_8881_cores_go_out_in_executor_sized_blocks(spread_out: bool) -> None:
    workers = [WorkerSlot(f"w{i}", 16, 64 * GB) for i in range(4)]
    a = app(cores_left=48, cores_per_executor=16)
    assert sorted(assign_cores(a, workers, spread_out)) == [0, 16, 16, 16]
    grants = place_executors([a], workers, spread_out)
    # Handing out 1 core at a time would give 12 cores on each worker and no executor at all.
    assert len(grants) == 3
    assert all(g.cores == 16 for g in grants)
    assert len({g.worker_id for g in grants}) == 3


# --- executor.cores unset: one executor per worker -------------------------------------------


def test_no_executor_cores_gives_one_executor_per_worker_with_all_assigned_cores() -> None:
    workers = [WorkerSlot("w1", 8, 16 * GB), WorkerSlot("w2", 4, 16 * GB)]
    grants = place_executors([app()], workers, spread_out=True)
    assert grants == [ExecutorGrant("app-1", "w1", 8, GB), ExecutorGrant("app-1", "w2", 4, GB)]


def test_no_executor_cores_needs_memory_for_only_one_executor_per_worker() -> None:
    # The worker has memory for just one executor. All 8 cores still go to that one executor.
    grants = place_executors([app(memory_mb=GB)], [WorkerSlot("w1", 8, GB)], spread_out=False)
    assert grants == [ExecutorGrant("app-1", "w1", 8, GB)]


def test_existing_executor_on_worker_does_not_block_a_new_one_if_memory_fits() -> None:
    # Spark counts only this round's executors per worker (assignedExecutors). A worker that
    # already runs one of the app's executors can get another if memory is left.
    a = app(cores_left=4, executors=1, executors_on={"w1": 1})
    grants = place_executors([a], [WorkerSlot("w1", 4, GB)], spread_out=True)
    assert grants == [ExecutorGrant("app-1", "w1", 4, GB)]
    # The same worker with no memory left cannot take it.
    assert place_executors([a], [WorkerSlot("w1", 4, GB - 1)], spread_out=True) == []


# --- memory, cores_left, executor_limit --------------------------------------------------------


def test_worker_with_too_little_memory_is_skipped() -> None:
    workers = [WorkerSlot("big", 4, 4 * GB), WorkerSlot("small", 8, 512)]
    grants = place_executors([app(memory_mb=GB)], workers, spread_out=True)
    assert per_worker_cores(grants) == {"big": 4}


def test_memory_limits_executors_per_worker_with_executor_cores() -> None:
    # 8 cores in blocks of 2 would allow 4 executors, but memory allows only 3.
    grants = place_executors(
        [app(cores_per_executor=2, memory_mb=GB)], [WorkerSlot("w1", 8, 3 * GB)], spread_out=False
    )
    assert len(grants) == 3


def test_cores_left_smaller_than_executor_cores_gets_nothing() -> None:
    a = app(cores_left=3, cores_per_executor=4)
    assert place_executors([a], [WorkerSlot("w1", 16, 16 * GB)], spread_out=True) == []


def test_leftover_cores_smaller_than_a_block_are_never_allocated() -> None:
    a = app(cores_left=10, cores_per_executor=4)
    grants = place_executors([a], [WorkerSlot("w1", 16, 16 * GB)], spread_out=True)
    assert [g.cores for g in grants] == [4, 4]


def test_zero_cores_left_gets_nothing() -> None:
    assert place_executors([app(cores_left=0)], THREE, spread_out=True) == []


@pytest.mark.parametrize("spread_out", [True, False])
def test_executor_limit_is_honoured(spread_out: bool) -> None:
    workers = [WorkerSlot(f"w{i}", 8, 16 * GB) for i in range(3)]
    a = app(cores_per_executor=2, executor_limit=5, executors=2)
    grants = place_executors([a], workers, spread_out)
    assert len(grants) == 3


def test_executor_limit_without_executor_cores_limits_workers_not_cores() -> None:
    # Growing the executor already assigned on a worker does not count against the limit.
    workers = [WorkerSlot(f"w{i}", 8, 16 * GB) for i in range(3)]
    grants = place_executors([app(executor_limit=1)], workers, spread_out=True)
    assert len(grants) == 1
    assert grants[0].cores == 8


def test_executor_limit_already_reached_gets_nothing() -> None:
    assert place_executors([app(executor_limit=2, executors=2)], THREE, spread_out=True) == []


def test_invalid_executor_cores_rejected() -> None:
    with pytest.raises(ValueError, match="cores_per_executor"):
        app(cores_per_executor=0)


def test_app_demand_is_hashable() -> None:
    assert hash(app(executors_on={"w1": 1})) == hash(app())


# --- FIFO across apps ------------------------------------------------------------------------


def test_fifo_first_app_takes_everything_by_default() -> None:
    grants = place_executors([app("a"), app("b")], THREE, spread_out=True)
    assert {g.app_id for g in grants} == {"a"}
    assert sum(g.cores for g in grants) == 18


def test_fifo_second_app_gets_what_is_left() -> None:
    first = app("a", cores_left=10)
    second = app("b")
    grants = place_executors([first, second], THREE, spread_out=True)
    # Spread: a gets 4 (w1), 3 (w2), 3 (w3). That leaves 4, 3, 1 for b.
    assert per_worker_cores(grants, "a") == {"w1": 4, "w2": 3, "w3": 3}
    assert per_worker_cores(grants, "b") == {"w1": 4, "w2": 3, "w3": 1}
    assert [g.app_id for g in grants] == ["a"] * 3 + ["b"] * 3


def test_memory_consumed_by_first_app_counts_for_second() -> None:
    workers = [WorkerSlot("w1", 8, 2 * GB)]
    grants = place_executors(
        [app("a", cores_left=2, memory_mb=GB), app("b", memory_mb=2 * GB)], workers, True
    )
    assert [g.app_id for g in grants] == ["a"]


def test_blocked_app_does_not_block_later_apps() -> None:
    big = app("big", cores_per_executor=32)
    small = app("small", cores_left=2)
    grants = place_executors([big, small], THREE, spread_out=True)
    assert {g.app_id for g in grants} == {"small"}


# --- drivers ---------------------------------------------------------------------------------


def test_drivers_round_robin_across_workers() -> None:
    workers = [WorkerSlot(f"w{i}", 4, 4 * GB) for i in range(3)]
    drivers = [DriverDemand(f"d{i}", 1, GB) for i in range(4)]
    placed, nxt = place_drivers(drivers, workers)
    assert placed == [("d0", "w0"), ("d1", "w1"), ("d2", "w2"), ("d3", "w0")]
    assert nxt == 1


def test_drivers_start_at_the_given_cursor() -> None:
    workers = [WorkerSlot(f"w{i}", 4, 4 * GB) for i in range(3)]
    placed, nxt = place_drivers([DriverDemand("d0", 1, GB)], workers, start=2)
    assert placed == [("d0", "w2")]
    assert nxt == 0
    # The cursor wraps modulo the number of workers.
    assert place_drivers([DriverDemand("d0", 1, GB)], workers, start=4) == ([("d0", "w1")], 2)


def test_drivers_skip_workers_that_do_not_fit() -> None:
    workers = [
        WorkerSlot("w0", 1, 8 * GB),  # too few cores
        WorkerSlot("w1", 8, 512),  # too little memory
        WorkerSlot("w2", 8, 8 * GB),
    ]
    placed, nxt = place_drivers([DriverDemand("d0", 2, GB)], workers)
    assert placed == [("d0", "w2")]
    assert nxt == 0


def test_drivers_account_for_resources_consumed_by_earlier_drivers() -> None:
    workers = [WorkerSlot("w0", 2, 2 * GB), WorkerSlot("w1", 1, 8 * GB)]
    drivers = [DriverDemand("d0", 2, GB), DriverDemand("d1", 1, GB), DriverDemand("d2", 1, GB)]
    placed, _ = place_drivers(drivers, workers)
    # d0 uses all of w0's cores, d1 takes w1, and d2 finds nothing left.
    assert placed == [("d0", "w0"), ("d1", "w1")]


def test_driver_that_fits_nowhere_is_left_waiting_and_cursor_unchanged() -> None:
    workers = [WorkerSlot(f"w{i}", 2, 2 * GB) for i in range(3)]
    placed, nxt = place_drivers([DriverDemand("huge", 4, GB)], workers, start=1)
    assert placed == []
    assert nxt == 1


def test_drivers_with_no_workers() -> None:
    assert place_drivers([DriverDemand("d0", 1, GB)], [], start=3) == ([], 3)


# --- fits_anywhere_* -------------------------------------------------------------------------


def test_fits_anywhere_executor() -> None:
    workers = [WorkerSlot("w1", 2, 4 * GB), WorkerSlot("w2", 8, GB)]
    assert fits_anywhere_executor(app(memory_mb=4 * GB), workers)
    assert fits_anywhere_executor(app(cores_per_executor=8, memory_mb=GB), workers)
    assert not fits_anywhere_executor(app(cores_per_executor=8, memory_mb=2 * GB), workers)
    assert not fits_anywhere_executor(app(memory_mb=8 * GB), workers)
    assert not fits_anywhere_executor(app(), [])


def test_fits_anywhere_driver() -> None:
    workers = [WorkerSlot("w1", 2, 4 * GB), WorkerSlot("w2", 8, GB)]
    assert fits_anywhere_driver(DriverDemand("d", 2, 4 * GB), workers)
    assert fits_anywhere_driver(DriverDemand("d", 8, GB), workers)
    assert not fits_anywhere_driver(DriverDemand("d", 4, 2 * GB), workers)
    assert not fits_anywhere_driver(DriverDemand("d", 1, GB), [])


# --- properties ------------------------------------------------------------------------------

worker_lists = st.lists(
    st.builds(
        WorkerSlot,
        id=st.text(alphabet="abcdef", min_size=1, max_size=3),
        cores_free=st.integers(0, 32),
        memory_free_mb=st.integers(0, 16 * GB),
    ),
    max_size=6,
    unique_by=lambda w: w.id,
)

app_demands = st.builds(
    AppDemand,
    id=st.sampled_from(["a", "b", "c"]),
    cores_left=st.integers(0, 100),
    cores_per_executor=st.none() | st.integers(1, 8),
    memory_per_executor_mb=st.integers(0, 4 * GB),
    executor_limit=st.integers(0, 20) | st.just(UNLIMITED),
    executors=st.integers(0, 5),
)


@given(apps=st.lists(app_demands, max_size=3, unique_by=lambda a: a.id), workers=worker_lists)
def test_grants_never_exceed_worker_capacity(
    apps: list[AppDemand], workers: list[WorkerSlot]
) -> None:
    for spread_out in (True, False):
        grants = place_executors(apps, workers, spread_out)
        for w in workers:
            mine = [g for g in grants if g.worker_id == w.id]
            assert sum(g.cores for g in mine) <= w.cores_free
            assert sum(g.memory_mb for g in mine) <= w.memory_free_mb


@given(apps=st.lists(app_demands, max_size=3, unique_by=lambda a: a.id), workers=worker_lists)
def test_grants_respect_each_app_demand(apps: list[AppDemand], workers: list[WorkerSlot]) -> None:
    for spread_out in (True, False):
        grants = place_executors(apps, workers, spread_out)
        for a in apps:
            mine = [g for g in grants if g.app_id == a.id]
            assert sum(g.cores for g in mine) <= a.cores_left
            assert len(mine) <= max(0, a.executor_limit - a.executors)
            assert all(g.memory_mb == a.memory_per_executor_mb and g.cores > 0 for g in mine)
            if a.cores_per_executor is not None:
                assert all(g.cores == a.cores_per_executor for g in mine)
            else:
                assert len({g.worker_id for g in mine}) == len(mine)


@given(a=app_demands, workers=worker_lists)
def test_spread_out_and_consolidate_grant_same_total_with_plentiful_memory(
    a: AppDemand, workers: list[WorkerSlot]
) -> None:
    roomy = [WorkerSlot(w.id, w.cores_free, 10**9) for w in workers]

    def total(spread_out: bool) -> int:
        return sum(g.cores for g in place_executors([a], roomy, spread_out))

    assert total(True) == total(False)
    assert sum(assign_cores(a, roomy, True)) == sum(assign_cores(a, roomy, False))


@given(
    drivers=st.lists(
        st.builds(
            DriverDemand,
            id=st.uuids().map(str),
            cores=st.integers(0, 8),
            memory_mb=st.integers(0, 4 * GB),
        ),
        max_size=8,
    ),
    workers=worker_lists,
    start=st.integers(0, 10),
)
def test_drivers_never_exceed_worker_capacity(
    drivers: list[DriverDemand], workers: list[WorkerSlot], start: int
) -> None:
    placed, nxt = place_drivers(drivers, workers, start)
    by_id = {d.id: d for d in drivers}
    left: list[WorkerSlot] = []
    for w in workers:
        mine = [by_id[d] for d, wid in placed if wid == w.id]
        cores = w.cores_free - sum(d.cores for d in mine)
        memory = w.memory_free_mb - sum(d.memory_mb for d in mine)
        assert cores >= 0
        assert memory >= 0
        left.append(WorkerSlot(w.id, cores, memory))
    assert len({d for d, _ in placed}) == len(placed)
    if workers:
        assert 0 <= nxt < len(workers)
    # Free capacity only shrinks. So a driver left waiting cannot fit in what is left at the end.
    placed_ids = {d for d, _ in placed}
    for d in drivers:
        if d.id not in placed_ids:
            assert not fits_anywhere_driver(d, left)

"""The executor's task pool with real forked task processes (no network involved)."""

from __future__ import annotations

import asyncio
import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cloudpickle

from minispark import rpc
from minispark.executor.taskpool import TaskPool
from minispark.executor.taskprocess import STAGE_CACHE, Environment
from minispark.protocol import LaunchTasks, Message, TaskFinished, TaskSpec


class Numbers:
    """The smallest thing a stage can compute: partition ``i`` yields ``[i]``."""

    def iterator(self, split: int, context: Any) -> Iterator[int]:
        return iter([split])


def _launch(stage: int, task_id: int, binary: bool) -> LaunchTasks:
    code = cloudpickle.dumps((Numbers(), lambda context, it: [x * 10 + stage for x in it]))
    return LaunchTasks(
        stage_id=stage,
        stage_attempt=1,
        kind="result",
        binary=code if binary else None,
        locations={},
        tasks=[TaskSpec(task_id=task_id, partition=1, attempt=0)],
    )


async def _run(tmp_path: Path) -> list[Message]:
    done: list[Message] = []
    arrived = asyncio.Event()

    def collect(message: Message) -> None:
        done.append(message)
        arrived.set()

    env = Environment(
        app_id="app-test",
        worker_url="127.0.0.1:1",
        dirs=[tmp_path],
        security=rpc.Security(),
        task_memory_bytes=None,
    )
    pool = TaskPool(env, 1, collect)
    try:
        launches = [_launch(stage, stage, True) for stage in range(STAGE_CACHE + 2)]
        # a later task of the first stage: the driver sent its code long ago
        launches.append(_launch(0, 100, False))
        for launch in launches:
            arrived.clear()
            pool.submit(launch)
            await asyncio.wait_for(arrived.wait(), 30)
    finally:
        pool.stop()
    return done


def test_a_stage_evicted_by_the_task_process_gets_its_code_again(tmp_path: Path) -> None:
    results = asyncio.run(_run(tmp_path))
    assert all(isinstance(r, TaskFinished) for r in results), results
    last = results[-1]
    assert isinstance(last, TaskFinished) and last.task_id == 100
    assert pickle.loads(last.result) == [10]

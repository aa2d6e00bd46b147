"""The job scheduler when an executor's link breaks between the offer and the send."""

from __future__ import annotations

import asyncio

from minispark.driver.progress import Progress
from minispark.driver.scheduler import JobScheduler
from minispark.protocol import LaunchTasks, Message
from minispark.rdd.perpartition import sum_partition
from minispark.rpc import ConnectionClosed

from .localrunner import LocalContext


class Executor:
    def __init__(self, exec_id: int, *, dead: bool = False) -> None:
        self.exec_id = exec_id
        self.cores = 1
        self.host = "127.0.0.1"
        self.dead = dead
        self.launched: list[int] = []

    def send(self, message: Message) -> None:
        if self.dead:
            raise ConnectionClosed(f"executor {self.exec_id} is closed")
        assert isinstance(message, LaunchTasks)
        self.launched += [spec.partition for spec in message.tasks]


def test_tasks_sent_to_a_closing_link_run_elsewhere_once_its_loss_arrives() -> None:
    dead, live = Executor(0, dead=True), Executor(1)
    executors = [dead, live]
    scheduler = JobScheduler(
        lambda: list(executors), max_failures=4, in_flight_per_core=8, progress=Progress()
    )
    rdd = LocalContext().parallelize(range(8), 8)

    async def run() -> None:
        job = asyncio.ensure_future(scheduler.run_job(rdd, sum_partition, range(8)))
        await asyncio.sleep(0)  # the first offer deals the eight tasks out in turn
        assert not job.done(), "a broken link must not fail the job"
        assert len(live.launched) == 4
        executors.remove(dead)  # what the app client does when the close callback runs
        scheduler.executor_lost(dead.exec_id, "its connection closed")
        assert sorted(live.launched) == list(range(8))
        job.cancel()

    asyncio.run(run())

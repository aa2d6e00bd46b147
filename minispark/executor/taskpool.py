"""The executor's pool of task processes, seen from its event loop.

Tasks queue here; each idle task process takes the next one. A stage's binary is sent to a
process only the first time it runs a task of that stage. One thread per process waits on
its pipe (a blocking read) and hands the reply back to the loop, so the loop never blocks.
A task process that dies is reported as a failed task and replaced.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import multiprocessing
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from ..protocol import LaunchTasks, Message, TaskFailed
from .taskprocess import STAGE_CACHE, Assignment, Environment, main

log = logging.getLogger("minispark.taskpool")
_fork = multiprocessing.get_context("fork")


class _Slot:
    """One task process and what it has been sent."""

    def __init__(self, env: Environment) -> None:
        parent, child = _fork.Pipe()
        self.process: BaseProcess = _fork.Process(target=main, args=(env, child), daemon=True)
        self.process.start()
        child.close()
        self.conn: Connection = parent
        # The stages whose code this process holds, oldest first: the same bound and the same
        # eviction order as the process's own cache, so a stage it dropped gets its code again.
        self.seen: dict[tuple[int, int], None] = {}
        self.task_id: int | None = None


class TaskPool:
    def __init__(self, env: Environment, size: int, on_done: Callable[[Message], None]) -> None:
        self.env = env
        self.on_done = on_done
        self.loop = asyncio.get_running_loop()
        self.queue: collections.deque[tuple[Assignment, bytes]] = collections.deque()
        self.binaries: dict[tuple[int, int], bytes] = {}
        self.locations: dict[tuple[int, int], dict[int, list[str]]] = {}
        # Fork every process before starting any reader thread: a fork while another thread
        # holds a lock (logging's, say) can leave the child stuck on it forever.
        self.slots = [_Slot(env) for _ in range(size)]
        for slot in self.slots:
            self._watch(slot)

    def _watch(self, slot: _Slot) -> None:
        threading.Thread(target=self._reader, args=(slot,), daemon=True).start()

    def _start_slot(self) -> _Slot:
        slot = _Slot(self.env)
        self._watch(slot)
        return slot

    def pids(self) -> list[int]:
        return [s.process.pid for s in self.slots if s.process.pid is not None]

    def submit(self, launch: LaunchTasks) -> None:
        key = (launch.stage_id, launch.stage_attempt)
        if launch.binary is not None:  # the first batch of a stage carries what all share
            self.binaries[key] = launch.binary
            self.locations[key] = launch.locations
        for spec in launch.tasks:
            assignment = Assignment(
                task_id=spec.task_id,
                stage_key=key,
                binary=None,
                kind=launch.kind,
                partition=spec.partition,
                attempt=spec.attempt,
                locations=self.locations[key],
                inputs=spec.inputs,
            )
            self.queue.append((assignment, self.binaries[key]))
        self._dispatch()

    def _dispatch(self) -> None:
        for slot in self.slots:
            if not self.queue:
                return
            if slot.task_id is None and slot.process.is_alive():
                assignment, binary = self.queue.popleft()
                self._send(slot, assignment, binary)

    def _send(self, slot: _Slot, assignment: Assignment, binary: bytes) -> None:
        if assignment.stage_key not in slot.seen:
            if len(slot.seen) >= STAGE_CACHE:
                del slot.seen[next(iter(slot.seen))]
            slot.seen[assignment.stage_key] = None
            assignment = Assignment(**{**vars(assignment), "binary": binary})
        slot.task_id = assignment.task_id
        try:
            slot.conn.send(assignment)
        except OSError:
            self._slot_died(slot)

    def _reader(self, slot: _Slot) -> None:
        while True:
            try:
                message = slot.conn.recv()
            except (EOFError, OSError):
                with contextlib.suppress(RuntimeError):  # the loop is closed at exit
                    self.loop.call_soon_threadsafe(self._slot_died, slot)
                return
            with contextlib.suppress(RuntimeError):
                self.loop.call_soon_threadsafe(self._finished, slot, message)

    def _finished(self, slot: _Slot, message: Message) -> None:
        slot.task_id = None
        self.on_done(message)
        self._dispatch()

    def _slot_died(self, slot: _Slot) -> None:
        if slot not in self.slots:
            return
        slot.process.join(timeout=1)
        code = slot.process.exitcode
        log.error("task process %s died (exit code %s)", slot.process.pid, code)
        if slot.task_id is not None:
            error = f"task process died unexpectedly (exit code {code})"
            self.on_done(TaskFailed(task_id=slot.task_id, error=error, traceback=""))
        self.slots[self.slots.index(slot)] = self._start_slot()
        self._dispatch()

    def forget_stage(self, key: tuple[int, int]) -> None:
        """The driver finished this stage attempt: its code and locations can go."""
        self.binaries.pop(key, None)
        self.locations.pop(key, None)

    def stop(self) -> None:
        for slot in self.slots:
            slot.conn.close()
            if slot.process.is_alive():
                slot.process.kill()
        self.slots = []

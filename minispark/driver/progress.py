"""Stage progress for the person running the driver.

On a terminal: Spark's console bar, ``[Stage 2:=====>      (12 + 4) / 40]``, redrawn in
place on stderr and shown only for stages that last over half a second (a flickering bar
for every short stage helps nobody). Elsewhere: one log line per finished stage.
"""

from __future__ import annotations

import logging
import shutil
import sys
import time
from dataclasses import dataclass
from typing import TextIO

log = logging.getLogger("minispark.progress")

SHOW_AFTER_S = 0.5
REDRAW_EVERY_S = 0.1


@dataclass
class _Stage:
    total: int
    started: float
    done: int = 0
    running: int = 0


class Progress:
    """Events from the scheduler; the base class is silent."""

    def stage_started(self, stage_id: int, total: int) -> None: ...
    def running(self, stage_id: int, running: int) -> None: ...
    def task_done(self, stage_id: int, done: int, running: int) -> None: ...


class LogProgress(Progress):
    def __init__(self) -> None:
        self.stages: dict[int, _Stage] = {}

    def stage_started(self, stage_id: int, total: int) -> None:
        self.stages[stage_id] = _Stage(total, time.monotonic())

    def task_done(self, stage_id: int, done: int, running: int) -> None:
        stage = self.stages.get(stage_id)
        if stage is not None and done >= stage.total:
            del self.stages[stage_id]
            log.info(
                "stage %d finished: %d tasks in %.2f s",
                stage_id,
                stage.total,
                time.monotonic() - stage.started,
            )


class ConsoleProgress(LogProgress):
    def __init__(self, out: TextIO = sys.stderr) -> None:
        super().__init__()
        self.out = out
        self.drawn = 0.0
        self.visible = False

    def running(self, stage_id: int, running: int) -> None:
        stage = self.stages.get(stage_id)
        if stage is not None:
            stage.running = running
            self._draw()

    def task_done(self, stage_id: int, done: int, running: int) -> None:
        stage = self.stages.get(stage_id)
        if stage is not None:
            stage.done, stage.running = done, running
        super().task_done(stage_id, done, running)
        self._draw(force=not self.stages)

    def _draw(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.drawn < REDRAW_EVERY_S:
            return
        self.drawn = now
        shown = [(i, s) for i, s in sorted(self.stages.items()) if now - s.started > SHOW_AFTER_S]
        if not shown:
            if self.visible:
                self.out.write("\r" + " " * shutil.get_terminal_size().columns + "\r")
                self.out.flush()
                self.visible = False
            return
        width = shutil.get_terminal_size().columns
        bars = [self._bar(i, s, width // len(shown)) for i, s in shown]
        self.out.write("\r" + "".join(bars))
        self.out.flush()
        self.visible = True

    @staticmethod
    def _bar(stage_id: int, s: _Stage, width: int) -> str:
        header = f"[Stage {stage_id}:"
        tail = f"({s.done} + {s.running}) / {s.total}]"
        inner = max(0, width - len(header) - len(tail) - 2)
        filled = inner * s.done // max(1, s.total)
        body = "=" * filled + (">" if filled < inner else "") + " " * max(0, inner - filled - 1)
        return f"{header}{body[:inner]}{tail}"


def for_console(enabled: bool) -> Progress:
    if enabled and sys.stderr.isatty():
        return ConsoleProgress()
    return LogProgress()

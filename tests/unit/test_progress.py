"""The console progress bar, drawn into a buffer instead of a terminal."""

from __future__ import annotations

import io
import time

import pytest

from minispark.driver import progress


def test_bar_shows_done_running_and_total(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    bar = progress.ConsoleProgress(out)
    monkeypatch.setattr(progress, "SHOW_AFTER_S", 0.0)
    monkeypatch.setattr(progress, "REDRAW_EVERY_S", 0.0)
    bar.stage_started(2, 40)
    time.sleep(0.001)
    bar.task_done(2, 12, 4)
    line = out.getvalue().split("\r")[-1]
    assert line.startswith("[Stage 2:") and line.endswith("(12 + 4) / 40]")
    assert "=" in line and ">" in line
    bar.task_done(2, 40, 0)  # finished: the bar is cleared
    assert out.getvalue().endswith("\r")


def test_short_stages_draw_nothing() -> None:
    out = io.StringIO()
    bar = progress.ConsoleProgress(out)
    bar.stage_started(1, 3)
    bar.task_done(1, 3, 0)
    assert out.getvalue() == ""


def test_plain_mode_logs_a_line_per_stage(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="minispark.progress")
    log = progress.LogProgress()
    log.stage_started(5, 2)
    log.task_done(5, 1, 1)
    log.task_done(5, 2, 0)
    assert [r.getMessage().split(":")[0] for r in caplog.records] == ["stage 5 finished"]

"""Where the user's program started a job: Spark's "collect at wordcount.py:12".

The job's name in the UI and the event log. It is the last minispark function the user's
code called (the action) and the user's file and line that called it, found by walking
out of the package's own frames: a few microseconds, once per job.
"""

from __future__ import annotations

import os
import sys

import minispark

PACKAGE_DIR = os.path.dirname(os.path.abspath(minispark.__file__)) + os.sep


def call_site(default: str = "runJob") -> str:
    frame = sys._getframe(1)
    action = default
    while frame is not None and frame.f_code.co_filename.startswith(PACKAGE_DIR):
        action = frame.f_code.co_name
        frame = frame.f_back  # type: ignore[assignment]
    if frame is None:  # started from inside the package only (no user frame)
        return action
    return f"{action} at {os.path.basename(frame.f_code.co_filename)}:{frame.f_lineno}"

"""A task's end reason in words: what Spark's task table shows in its Errors column."""

from __future__ import annotations

from typing import Any

from . import fields as f


def error_message(reason: dict[str, Any], where: str) -> str | None:
    """What Spark's task table shows for a task's end reason (None for success)."""
    kind = f.text(reason, "Reason", where)
    if kind == "Success":
        return None
    if kind == "ExceptionFailure":
        trace = reason.get("Full Stack Trace")
        if isinstance(trace, str) and trace:
            return trace
        name = f.text(reason, "Class Name", where, "")
        return f"{name}: {f.text(reason, 'Description', where, '')}"
    if kind == "FetchFailed":
        return (
            f"FetchFailed(shuffleId={reason.get('Shuffle ID')}, mapId={reason.get('Map ID')}, "
            f"message={f.text(reason, 'Message', where, '')})"
        )
    if kind == "ExecutorLostFailure":
        return (
            f"ExecutorLostFailure (executor {f.text(reason, 'Executor ID', where, '?')} exited) "
            f"Reason: {f.text(reason, 'Loss Reason', where, '')}"
        )
    return kind

"""Reading an event's fields: typed, and a bad one named in the error.

Events come from our own driver, but the history server replays files anyone may have
edited or truncated, so every field is checked as it is read rather than trusted.
"""

from __future__ import annotations

from typing import Any


class EventError(ValueError):
    """An event whose field is missing or of the wrong type."""


def _fail(where: str, key: str, want: str, got: object) -> EventError:
    shown = "missing" if got is _MISSING else f"got {got!r:.60}"
    return EventError(
        f"{where}: field {key!r} must be {want} ({shown}); the event is corrupt or "
        "from an incompatible writer"
    )


_MISSING = object()


def integer(event: dict[str, Any], key: str, where: str, default: int | None = None) -> int:
    value = event.get(key, _MISSING)
    if value is _MISSING and default is not None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(where, key, "an integer", value)
    return value


def optional_int(event: dict[str, Any], key: str, where: str) -> int | None:
    if event.get(key) is None:
        return None
    return integer(event, key, where)


def text(event: dict[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = event.get(key, _MISSING)
    if value is _MISSING and default is not None:
        return default
    if not isinstance(value, str):
        raise _fail(where, key, "a string", value)
    return value


def flag(event: dict[str, Any], key: str, where: str) -> bool:
    value = event.get(key, False)
    if not isinstance(value, bool):
        raise _fail(where, key, "true or false", value)
    return value


def mapping(event: dict[str, Any], key: str, where: str, optional: bool = False) -> dict[str, Any]:
    value = event.get(key, _MISSING)
    if value is _MISSING and optional:
        return {}
    if not isinstance(value, dict):
        raise _fail(where, key, "an object", value)
    return value


def items(event: dict[str, Any], key: str, where: str, optional: bool = False) -> list[Any]:
    value = event.get(key, _MISSING)
    if value is _MISSING and optional:
        return []
    if not isinstance(value, list):
        raise _fail(where, key, "a list", value)
    return value


def pairs(event: dict[str, Any], key: str, where: str) -> list[list[str]]:
    """``[[k, v], ...]`` as Spark writes properties."""
    found = []
    for pair in items(event, key, where, optional=True):
        ok = isinstance(pair, list) and len(pair) == 2
        if not (ok and all(isinstance(p, str) for p in pair)):
            raise _fail(where, key, "a list of [key, value] string pairs", pair)
        found.append([pair[0], pair[1]])
    return found


def integers(event: dict[str, Any], key: str, where: str) -> list[int]:
    """A list of integers (stage ids); absent is empty."""
    found = items(event, key, where, optional=True)
    for value in found:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _fail(where, key, "a list of integers", value)
    return found

"""Parsing setting values: sizes, durations, booleans and integers.

Spark's forms (JavaUtils.byteStringAs / timeStringAs), with friendlier errors: each failure is
a :class:`ConfError` with one line naming the key, the value and the expected form.
"""

from __future__ import annotations

import re
from fractions import Fraction

PORT_MAX = 65535

_KIB = 1024
_MIB = 1024 * 1024
_SIZE_UNITS: dict[str, int] = {
    "b": 1,
    "k": _KIB,
    "kb": _KIB,
    "m": _MIB,
    "mb": _MIB,
    "g": _KIB * _MIB,
    "gb": _KIB * _MIB,
    "t": _MIB * _MIB,
    "tb": _MIB * _MIB,
    "p": _KIB * _MIB * _MIB,
    "pb": _KIB * _MIB * _MIB,
}
# Fractions make exact sub-second units: 3 * 0.001 is not 0.003 in floats, Fraction(3, 1000) is.
_DURATION_UNITS: dict[str, Fraction] = {
    "us": Fraction(1, 1_000_000),
    "ms": Fraction(1, 1000),
    "s": Fraction(1),
    "m": Fraction(60),
    "min": Fraction(60),
    "h": Fraction(3600),
    "d": Fraction(86400),
}
# No inner whitespace, like Spark: '15 s' or '15 seconds' would not load in Spark either.
# ASCII only: Python's \d also matches e.g. Arabic-Indic digits, which no other tool would read.
_NUMBER_UNIT_RE = re.compile(r"([+-]?\d+(?:\.\d+)?)([a-zA-Z]*)", re.ASCII)
INT_RE = re.compile(r"[+-]?\d+", re.ASCII)
_TRUE = frozenset({"true", "yes", "1"})
_FALSE = frozenset({"false", "no", "0"})


class ConfError(ValueError):
    """One-line, user-facing; names the key/file and the fix."""


def show(value: str) -> str:
    """Quote a value for an error message; repr keeps a stray newline from breaking the line."""
    return repr(value)


def _split_number_unit(text: str) -> tuple[str, str] | None:
    match = _NUMBER_UNIT_RE.fullmatch(text.strip())
    if match is None:
        return None
    return match.group(1), match.group(2).lower()


def _parse_size(text: str, key: str, plain_unit: int, hint: str) -> int:
    """Parse a size to bytes; a bare number counts in ``plain_unit``."""
    parts = _split_number_unit(text)
    if parts is None or (parts[1] and parts[1] not in _SIZE_UNITS):
        raise ConfError(f"{key}: {show(text)} is not a size (use e.g. {hint})")
    number, unit = parts
    if "." in number:
        # Spark refuses fractions too; say so instead of a bare "not a size".
        raise ConfError(
            f"{key}: {show(text)} is not a size: fractions are not supported "
            f"(write 1536m, not 1.5g)"
        )
    value = int(number) * (_SIZE_UNITS[unit] if unit else plain_unit)
    if value <= 0:
        raise ConfError(f"{key}: {show(text)} must be a positive size (use e.g. {hint})")
    return value


def parse_size_mb(text: str, *, key: str = "size") -> int:
    """A memory size in MiB: '512m', '2g', '1t', '1024' (a bare number is MiB).

    'k' and 'b' sizes round up to whole MiB, so a tiny but positive size never becomes 0.
    """
    size = _parse_size(text, key, _MIB, "512m, 2g, or a number of MiB")
    return -(-size // _MIB)


def parse_size_bytes(text: str, *, key: str = "size") -> int:
    """A size in bytes: '64k', '1m', '1g'; a bare number is bytes."""
    return _parse_size(text, key, 1, "64k, 128m, 1g, or a number of bytes")


def parse_duration_s(text: str, *, key: str = "duration") -> float:
    """A duration in seconds: '15s', '500ms', '2min', '2m', '1h', '7d'; a bare number is seconds.

    Decimals ('1.5s') are accepted although Spark refuses them: the result is a float anyway.
    """
    parts = _split_number_unit(text)
    if parts is None or (parts[1] and parts[1] not in _DURATION_UNITS):
        raise ConfError(f"{key}: {show(text)} is not a duration (use e.g. 15s, 500ms, 2min)")
    number, unit = parts
    value = Fraction(number) * (_DURATION_UNITS[unit] if unit else 1)
    if value < 0:
        raise ConfError(f"{key}: {show(text)} must not be negative (use e.g. 15s, 500ms, 2min)")
    return float(value)


def parse_bool(text: str, *, key: str = "flag") -> bool:
    """true/false, yes/no, 1/0, any case."""
    word = text.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ConfError(f"{key}: {show(text)} is not a boolean (use true or false)")


def parse_int(text: str, *, key: str) -> int:
    """A whole number, optionally signed."""
    # A regex rather than int(): int() also takes '1_000' and other forms Spark would refuse.
    if INT_RE.fullmatch(text.strip()) is None:
        raise ConfError(f"{key}: {show(text)} is not an integer")
    return int(text)

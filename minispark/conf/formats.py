"""The text formats of the configuration sources: minispark-env, properties files, java opts
(``-Dk=v``) and ``--conf k=v`` pairs. Each reader returns plain key -> text; which source wins
is ``sources.py``'s business.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Sequence
from pathlib import Path

from .values import ConfError, show

_ENV_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Characters that mean something to a shell; an unquoted value holding one would read
# differently under `source` and under systemd.
_SHELL_SPECIAL = frozenset(" \t\"'`$\\;&|<>()")
# Inside double quotes, both the shell and systemd turn these backslash escapes into the bare
# character; any other backslash stays literal in both.
_DQ_ESCAPABLE = frozenset('"\\`$')


def _read_text(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise ConfError(f"{path}: {what} is not UTF-8 text") from err
    except OSError as err:
        raise ConfError(f"{path}: cannot read {what} ({err.strerror or err})") from err


def _double_quoted(body: str) -> str | None:
    """Decode the inside of "..." or return None if it holds an unescaped $, ` or "."""
    out: list[str] = []
    chars = iter(body)
    for char in chars:
        if char == "\\":
            nxt = next(chars, "")
            if not nxt:  # the closing quote was escaped: the value never ends
                return None
            out.append(nxt if nxt in _DQ_ESCAPABLE else "\\" + nxt)
        elif char in '"$`':
            return None
        else:
            out.append(char)
    return "".join(out)


def _env_value(raw: str) -> str | None:
    """The value of KEY=<raw>, or None when it would need a shell to mean what it says."""
    if len(raw) >= 2 and raw[0] == raw[-1] == "'":
        body = raw[1:-1]
        return None if "'" in body else body
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        return _double_quoted(raw[1:-1])
    if any(char in _SHELL_SPECIAL for char in raw):
        return None
    return raw


def read_env_file(path: Path) -> dict[str, str]:
    """Read a minispark-env file: KEY="value", KEY='value' or KEY=value lines, # comments.

    No shell syntax (no `export`, no $VAR, no $(...)): systemd's EnvironmentFile= would read
    such a line differently from a shell. A missing file reads as empty.
    """
    if not path.exists():
        return {}
    values: dict[str, str] = {}
    for lineno, line in enumerate(_read_text(path, "environment file").splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        name, sep, raw = stripped.partition("=")
        value = _env_value(raw.strip()) if sep else None
        if not _ENV_NAME_RE.fullmatch(name) or value is None:
            raise ConfError(
                f"{path}:{lineno}: {show(stripped)} is not KEY=VALUE "
                '(write KEY="value"; no export, $VAR, $(...) or other shell syntax)'
            )
        values[name] = value
    return values


def parse_java_opts(text: str, *, source: str) -> dict[str, str]:
    """'-Dk=v -Dk2="a b"' -> {k: v, k2: 'a b'}, quoted the way a shell would."""
    try:
        tokens = shlex.split(text)
    except ValueError as err:
        # Deliberately not echoing the text: it may hold a secret.
        raise ConfError(f"{source}: cannot split into -Dkey=value options ({err})") from err
    values: dict[str, str] = {}
    for token in tokens:
        name, sep, value = token[2:].partition("=")
        if not token.startswith("-D") or not sep or not name:
            raise ConfError(
                f"{source}: {show(token)} is not a -Dkey=value property "
                "(only -D properties are supported; quote values with spaces)"
            )
        values[name] = value
    return values


# The key ends at the first whitespace or '='; one '=' (with blanks around it) may follow.
_PROPERTY_RE = re.compile(r"([^\s=]+)\s*(?:=\s*)?(.*)")


def _logical_lines(text: str) -> Iterable[tuple[int, str]]:
    """Lines with Java-properties continuations joined: a trailing odd backslash run continues."""
    pending = ""
    start = 0
    for lineno, line in enumerate(text.splitlines(), 1):
        piece = line.lstrip() if pending else line
        if not pending:
            start = lineno
        trailing = len(piece) - len(piece.rstrip("\\"))
        if trailing % 2 == 1:
            pending += piece[:-1]
            continue
        yield start, pending + piece
        pending = ""
    if pending:
        yield start, pending


def read_properties_file(path: Path) -> dict[str, str]:
    """Read a spark-defaults.conf style file: 'key value' or 'key=value', # and ! comments.

    As in java.util.Properties the key ends at the first whitespace or '=', so
    'spark.executor.extraJavaOptions -Da=b' keeps '-Da=b' whole. Backslash escapes other than
    line continuation are kept verbatim (a Windows path survives). A missing file is an error:
    callers only pass files the user named or that exist.
    """
    values: dict[str, str] = {}
    for lineno, line in _logical_lines(_read_text(path, "properties file")):
        stripped = line.strip()
        if not stripped or stripped[0] in "#!":
            continue
        match = _PROPERTY_RE.fullmatch(stripped)
        if match is None:
            raise ConfError(f"{path}:{lineno}: {show(stripped)} has no key (write: key value)")
        values[match.group(1)] = match.group(2).rstrip()
    return values


def parse_conf_pairs(pairs: Sequence[str]) -> dict[str, str]:
    """--conf k=v arguments; the value is kept verbatim (it may itself contain '=')."""
    values: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ConfError(f"--conf expects key=value, got {show(pair)}")
        values[name.strip()] = value
    return values

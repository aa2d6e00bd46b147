"""Configuration for minispark daemons and drivers (SPEC §3).

Settings are text, keyed by Spark's property names (``spark.*``; minispark-only ones are
``minispark.*``), merged from these sources, highest first:

1. CLI flags and ``--conf k=v``;
2. ``MINISPARK_MASTER_OPTS`` / ``MINISPARK_WORKER_OPTS`` (role-specific ``-Dk=v`` pairs);
3. ``MINISPARK_DAEMON_OPTS`` (master and worker only);
4. the properties file (``--properties-file``, else
   ``$MINISPARK_CONF_DIR/minispark-defaults.conf``);
5. the built-in defaults of :data:`KNOWN`.

The ``MINISPARK_*`` variables come from the real environment overlaid on
``$MINISPARK_CONF_DIR/minispark-env``, a ``KEY="value"`` file that systemd's ``EnvironmentFile=``
reads the same way we do, which is why it may not contain shell syntax.

Unknown keys are kept and passed on; a malformed value for a known key raises :class:`ConfError`
with a one-line message naming the key, the value and the expected form, so that a daemon stops
at start rather than misbehaving later.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import MappingProxyType
from typing import Literal

__all__ = [
    "KNOWN",
    "Conf",
    "ConfError",
    "Key",
    "conf_dir",
    "daemon_environment",
    "env_defaults",
    "load",
    "parse_bool",
    "parse_conf_pairs",
    "parse_duration_s",
    "parse_java_opts",
    "parse_size_bytes",
    "parse_size_mb",
    "read_env_file",
    "read_properties_file",
]

Role = Literal["master", "worker", "driver"]
Kind = Literal["str", "int", "bool", "size_mb", "bytes", "duration", "choice"]

DEFAULT_CONF_DIR = "/etc/minispark"
ENV_FILE_NAME = "minispark-env"
PROPERTIES_FILE_NAME = "minispark-defaults.conf"
REDACTED = "*********(redacted)"

# Spark's default spark.redaction.regex; wider than "secret|password" on purpose, since a
# token in a log is as bad as a password.
_REDACT_RE = re.compile(r"secret|password|token|access[.]?key", re.IGNORECASE)

_EMPTY: Mapping[str, str] = MappingProxyType({})


class ConfError(ValueError):
    """One-line, user-facing; names the key/file and the fix."""


# --------------------------------------------------------------------------------------------
# Value parsers. Spark's forms (JavaUtils.byteStringAs / timeStringAs), with friendlier errors.
# --------------------------------------------------------------------------------------------

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
_INT_RE = re.compile(r"[+-]?\d+", re.ASCII)
_TRUE = frozenset({"true", "yes", "1"})
_FALSE = frozenset({"false", "no", "0"})


def _show(value: str) -> str:
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
        raise ConfError(f"{key}: {_show(text)} is not a size (use e.g. {hint})")
    number, unit = parts
    if "." in number:
        # Spark refuses fractions too; say so instead of a bare "not a size".
        raise ConfError(
            f"{key}: {_show(text)} is not a size: fractions are not supported "
            f"(write 1536m, not 1.5g)"
        )
    value = int(number) * (_SIZE_UNITS[unit] if unit else plain_unit)
    if value <= 0:
        raise ConfError(f"{key}: {_show(text)} must be a positive size (use e.g. {hint})")
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
        raise ConfError(f"{key}: {_show(text)} is not a duration (use e.g. 15s, 500ms, 2min)")
    number, unit = parts
    value = Fraction(number) * (_DURATION_UNITS[unit] if unit else 1)
    if value < 0:
        raise ConfError(f"{key}: {_show(text)} must not be negative (use e.g. 15s, 500ms, 2min)")
    return float(value)


def parse_bool(text: str, *, key: str = "flag") -> bool:
    """true/false, yes/no, 1/0, any case."""
    word = text.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ConfError(f"{key}: {_show(text)} is not a boolean (use true or false)")


def _parse_int(text: str, *, key: str) -> int:
    # A regex rather than int(): int() also takes '1_000' and other forms Spark would refuse.
    if _INT_RE.fullmatch(text.strip()) is None:
        raise ConfError(f"{key}: {_show(text)} is not an integer")
    return int(text)


# --------------------------------------------------------------------------------------------
# The table of known keys.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Key:
    """A known setting. ``default`` is text, as in Spark's docs; None means no default."""

    name: str
    default: str | None
    kind: Kind
    doc: str
    choices: tuple[str, ...] = ()
    minimum: float | None = None  # inclusive; for int, duration (seconds) and sizes
    maximum: float | None = None  # inclusive; ports need an upper bound
    aliases: tuple[str, ...] = ()  # older Spark names that mean the same thing
    fallback: str | None = None  # key whose value applies when this one is unset


_PORT_MAX = 65535
_SHORTEST_TIMEOUT = 0.001  # 1ms: a zero timeout would make a timer spin


def _table(*keys: Key) -> dict[str, Key]:
    return {key.name: key for key in keys}


KNOWN: dict[str, Key] = _table(
    # Applications and drivers.
    Key(
        "spark.master",
        None,
        "str",
        "Master URL: minispark://h1:7077,h2:7077 or local-cluster[N,C,M]",
    ),
    Key("spark.app.name", None, "str", "Application name shown in the UIs"),
    Key("spark.executor.memory", "1g", "size_mb", "Memory per executor"),
    Key(
        "spark.executor.cores",
        None,
        "int",
        "Cores per executor; unset = all free cores of the worker",
        minimum=1,
    ),
    Key("spark.driver.memory", "1g", "size_mb", "Memory for the driver in cluster mode"),
    Key("spark.driver.cores", "1", "int", "Cores for the driver in cluster mode", minimum=1),
    Key(
        "spark.driver.supervise",
        "false",
        "bool",
        "Restart a cluster-mode driver that exits non-zero",
    ),
    Key(
        "minispark.driver.maxAttempts",
        None,
        "int",
        "Cap on supervised driver restarts; unset = unlimited, as in Spark",
        minimum=1,
    ),
    Key("spark.cores.max", None, "int", "Cap on an application's total cores", minimum=1),
    Key("spark.task.maxFailures", "4", "int", "Attempts per task before the job fails", minimum=1),
    Key(
        "minispark.task.inFlightPerCore",
        "2",
        "int",
        "Tasks sent ahead to each executor core, so none idles between a result and the next",
        minimum=1,
    ),
    Key(
        "minispark.shuffle.spillThreshold",
        None,
        "bytes",
        "Resident size above which a task spills; unset = 70% of executor memory per core",
        minimum=1,
    ),
    Key("spark.ui.showConsoleProgress", "true", "bool", "Progress bar for stages on a terminal"),
    Key(
        "spark.default.parallelism",
        None,
        "int",
        "Default partition count; unset = total executor cores",
        minimum=1,
    ),
    Key("spark.local.dir", None, "str", "Scratch dirs for shuffle and spill (comma-separated)"),
    Key(
        "spark.standalone.submit.waitAppCompletion",
        "false",
        "bool",
        "In cluster mode, make submit wait until the driver finishes",
    ),
    # Master.
    Key("spark.master.ui.port", "8080", "int", "Master web UI port", minimum=0, maximum=_PORT_MAX),
    Key(
        "spark.deploy.spreadOut",
        "true",
        "bool",
        "Spread executors over workers (true) or consolidate them (false)",
        aliases=("spark.deploy.spreadOutApps",),
    ),
    Key(
        "spark.deploy.defaultCores",
        None,
        "int",
        "Cores for an app that does not set spark.cores.max; unset = unlimited",
        minimum=1,
    ),
    Key(
        "spark.deploy.maxExecutorRetries",
        "10",
        "int",
        "Consecutive executor failures before an app is FAILED; -1 disables",
        minimum=-1,
    ),
    Key(
        "spark.deploy.retainedApplications",
        "200",
        "int",
        "Completed applications kept for the UI",
        minimum=0,
    ),
    Key(
        "spark.deploy.retainedDrivers", "200", "int", "Completed drivers kept for the UI", minimum=0
    ),
    Key(
        "spark.dead.worker.persistence",
        "15",
        "int",
        "Reaper rounds a DEAD worker stays visible in the UI",
        minimum=0,
    ),
    Key(
        "spark.decommission.enabled",
        "true",
        "bool",
        "Decommission workers gracefully (on by default in minispark, off in Spark)",
    ),
    # Worker.
    Key(
        "spark.worker.timeout",
        "15s",
        "duration",
        "A worker silent this long is DEAD; heartbeats every timeout/4 (Spark: 60s)",
        minimum=_SHORTEST_TIMEOUT,
    ),
    Key("spark.worker.ui.port", "8081", "int", "Worker web UI port", minimum=0, maximum=_PORT_MAX),
    Key(
        "spark.worker.initialRegistrationRetries",
        "6",
        "int",
        "Registration attempts at 5-15s intervals",
        minimum=0,
    ),
    Key(
        "spark.worker.maxRegistrationRetries",
        "16",
        "int",
        "Total registration attempts before the worker gives up",
        minimum=1,
    ),
    Key("spark.worker.cleanup.enabled", "true", "bool", "Periodically delete stopped apps' dirs"),
    Key(
        "spark.worker.cleanup.interval",
        "1800s",
        "duration",
        "How often the work-dir cleanup runs",
        minimum=_SHORTEST_TIMEOUT,
    ),
    Key(
        "spark.worker.cleanup.appDataTtl",
        "7d",
        "duration",
        "Age after which a stopped app's work dir is deleted",
        minimum=0,
    ),
    # Recovery and HA.
    Key(
        "spark.deploy.recoveryMode",
        "NONE",
        "choice",
        "How a master persists state and elects a leader",
        choices=("NONE", "ZOOKEEPER", "FILESYSTEM"),
    ),
    Key("spark.deploy.zookeeper.url", None, "str", "ZooKeeper connect string (ZOOKEEPER mode)"),
    Key(
        "spark.deploy.zookeeper.dir",
        "/spark",
        "str",
        "znode root for leader election and persisted state",
    ),
    Key(
        "spark.deploy.recoveryDirectory",
        None,
        "str",
        "Directory for persisted state (FILESYSTEM mode)",
    ),
    Key(
        "spark.deploy.recoveryTimeout",
        None,
        "duration",
        "Longest wait for workers and apps to answer a new leader; unset = spark.worker.timeout",
        minimum=_SHORTEST_TIMEOUT,
        fallback="spark.worker.timeout",
    ),
    Key(
        "minispark.zookeeper.sessionTimeout",
        "6s",
        "duration",
        "ZooKeeper session timeout: bounds how fast a standby notices a dead leader (Spark: 60s)",
        minimum=_SHORTEST_TIMEOUT,
    ),
    # Security.
    Key("spark.authenticate", "false", "bool", "Shared-secret auth on RPC and mutating HTTP"),
    Key("spark.authenticate.secret", None, "str", "The shared secret"),
    Key(
        "spark.authenticate.secret.file",
        None,
        "str",
        "File holding the shared secret (used when spark.authenticate.secret is unset)",
    ),
    Key("minispark.ssl.enabled", "false", "bool", "TLS for RPC and web"),
    Key("minispark.ssl.certFile", None, "str", "PEM certificate chain"),
    Key("minispark.ssl.keyFile", None, "str", "PEM private key"),
    Key("minispark.ssl.caFile", None, "str", "PEM CA bundle that peers are verified against"),
    # RPC.
    Key(
        "minispark.rpc.maxFrameSize",
        "128m",
        "bytes",
        "Largest RPC frame accepted; bigger messages are refused",
        minimum=1024,
    ),
)

# alias -> canonical name
ALIASES: dict[str, str] = {alias: key.name for key in KNOWN.values() for alias in key.aliases}


def _canonical(name: str) -> str:
    return ALIASES.get(name, name)


def _format_bound(kind: Kind, bound: float) -> str:
    if kind == "duration":
        return f"{bound * 1000:g}ms" if bound < 1 else f"{bound:g}s"
    return f"{bound:g}"


def _check_range(key: Key, text: str, value: float) -> None:
    low, high = key.minimum, key.maximum
    if (low is None or value >= low) and (high is None or value <= high):
        return
    if low is not None and high is not None:
        expected = f"{_format_bound(key.kind, low)}-{_format_bound(key.kind, high)}"
    elif low is not None:
        expected = f"at least {_format_bound(key.kind, low)}"
    else:
        assert high is not None
        expected = f"at most {_format_bound(key.kind, high)}"
    raise ConfError(f"{key.name}: {_show(text)} is out of range (expected {expected})")


def _parse_choice(key: Key, text: str) -> str:
    # Case-insensitive on purpose: Spark silently treats 'zookeeper' as NONE, a classic trap.
    word = text.strip().upper()
    if word not in key.choices:
        raise ConfError(
            f"{key.name}: {_show(text)} is not supported (expected one of {', '.join(key.choices)})"
        )
    return word


def _parse_known(key: Key, text: str) -> object:
    """Parse ``text`` as ``key`` would be read, with its range checks; raise ConfError if bad."""
    value: float
    if key.kind == "str":
        return text
    if key.kind == "bool":
        return parse_bool(text, key=key.name)
    if key.kind == "choice":
        return _parse_choice(key, text)
    if key.kind == "int":
        value = _parse_int(text, key=key.name)
    elif key.kind == "size_mb":
        value = parse_size_mb(text, key=key.name)
    elif key.kind == "bytes":
        value = parse_size_bytes(text, key=key.name)
    else:
        value = parse_duration_s(text, key=key.name)
    _check_range(key, text, value)
    return value


# --------------------------------------------------------------------------------------------
# Conf
# --------------------------------------------------------------------------------------------


def _overlay(layers: Iterable[Mapping[str, str]]) -> dict[str, str]:
    """Merge layers, lowest precedence first, folding aliases into their canonical key.

    Folding per layer keeps precedence right when one source uses the old name and another
    the new one; within a single layer the canonical name wins.
    """
    merged: dict[str, str] = {}
    for layer in layers:
        folded: dict[str, str] = {}
        for name, value in layer.items():
            canonical = _canonical(name)
            if canonical == name or canonical not in layer:
                folded[canonical] = value
        merged.update(folded)
    return merged


class Conf:
    """Immutable-ish view of merged settings: str -> str, with typed getters that parse with the
    table. Alias keys are stored under their canonical name."""

    def __init__(self, values: Mapping[str, str] | None = None) -> None:
        self._values: Mapping[str, str] = MappingProxyType(_overlay([values or {}]))

    def __repr__(self) -> str:
        # Redacted, so that logging a Conf by accident cannot leak the secret.
        return f"Conf({self.redacted()!r})"

    def _lookup(self, key: str) -> tuple[str, str] | None:
        """(name of the key that supplied it, text): explicit, else fallback key, else default."""
        name = _canonical(key)
        if name in self._values:
            return name, self._values[name]
        known = KNOWN.get(name)
        if known is None:
            return None
        if known.fallback is not None:
            found = self._lookup(known.fallback)
            if found is not None:
                return found
        if known.default is not None:
            return name, known.default
        return None

    def _typed(self, key: str, parse: Callable[[str, str], float]) -> float | None:
        found = self._lookup(key)
        if found is None:
            return None
        name, text = found
        value = parse(text, name)
        known = KNOWN.get(name)
        if known is not None and known.kind not in ("str", "bool", "choice"):
            _check_range(known, text, value)
        return value

    def get(self, key: str, default: str | None = None) -> str | None:
        """Explicit value, else the table's default (or fallback key), else ``default``."""
        found = self._lookup(key)
        return default if found is None else found[1]

    def get_int(self, key: str) -> int | None:
        value = self._typed(key, lambda text, name: _parse_int(text, key=name))
        return None if value is None else int(value)

    def get_bool(self, key: str) -> bool:
        """Unset and without a default reads as False."""
        found = self._lookup(key)
        return found is not None and parse_bool(found[1], key=found[0])

    def get_size_mb(self, key: str) -> int | None:
        value = self._typed(key, lambda text, name: parse_size_mb(text, key=name))
        return None if value is None else int(value)

    def get_bytes(self, key: str) -> int | None:
        value = self._typed(key, lambda text, name: parse_size_bytes(text, key=name))
        return None if value is None else int(value)

    def get_duration_s(self, key: str) -> float | None:
        return self._typed(key, lambda text, name: parse_duration_s(text, key=name))

    def get_choice(self, key: str) -> str | None:
        """A choice key's value in its canonical spelling (e.g. 'zookeeper' -> 'ZOOKEEPER')."""
        found = self._lookup(key)
        if found is None:
            return None
        name, text = found
        known = KNOWN.get(name)
        return _parse_choice(known, text) if known is not None and known.choices else text

    def contains(self, key: str) -> bool:
        """Explicitly set (defaults do not count), under its name or an alias."""
        return _canonical(key) in self._values

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.contains(key)

    def items(self) -> list[tuple[str, str]]:
        """Explicit values only, sorted by key."""
        return sorted(self._values.items())

    def with_values(self, more: Mapping[str, str]) -> Conf:
        """A new Conf with ``more`` layered on top."""
        return Conf(_overlay([self._values, more]))

    def validate(self) -> None:
        """Parse every explicitly set known key, then check the rules that span keys."""
        for name, text in self.items():
            known = KNOWN.get(name)
            if known is not None:
                _parse_known(known, text)
        self._validate_recovery()
        self._validate_registration()
        self._validate_security()

    def _is_set(self, key: str) -> bool:
        # An empty value (e.g. 'spark.deploy.zookeeper.url=' from a template) counts as unset.
        return bool((self.get(key) or "").strip())

    def _validate_recovery(self) -> None:
        mode = self.get_choice("spark.deploy.recoveryMode")
        if mode == "ZOOKEEPER" and not self._is_set("spark.deploy.zookeeper.url"):
            raise ConfError(
                "spark.deploy.recoveryMode=ZOOKEEPER needs spark.deploy.zookeeper.url "
                "(e.g. zk1:2181,zk2:2181,zk3:2181)"
            )
        if mode == "FILESYSTEM" and not self._is_set("spark.deploy.recoveryDirectory"):
            raise ConfError(
                "spark.deploy.recoveryMode=FILESYSTEM needs spark.deploy.recoveryDirectory "
                "(a directory the master can write)"
            )
        # ZooKeeper refuses relative paths and trailing slashes only when the first znode is
        # created; catch it at start instead.
        root = self.get("spark.deploy.zookeeper.dir") or ""
        if not root.startswith("/") or (root != "/" and root.endswith("/")):
            raise ConfError(
                f"spark.deploy.zookeeper.dir: {_show(root)} is not a znode path "
                "(expected an absolute path like /spark)"
            )

    def _validate_registration(self) -> None:
        initial = self.get_int("spark.worker.initialRegistrationRetries") or 0
        total = self.get_int("spark.worker.maxRegistrationRetries") or 0
        if total < initial:
            raise ConfError(
                f"spark.worker.maxRegistrationRetries: '{total}' is below "
                f"spark.worker.initialRegistrationRetries ({initial}); it counts all attempts"
            )

    def _validate_security(self) -> None:
        if self.get_bool("spark.authenticate") and self.secret() is None:
            raise ConfError(
                "spark.authenticate=true needs spark.authenticate.secret or "
                "spark.authenticate.secret.file"
            )
        cert = self._is_set("minispark.ssl.certFile")
        key = self._is_set("minispark.ssl.keyFile")
        if cert != key:
            missing = "minispark.ssl.keyFile" if cert else "minispark.ssl.certFile"
            raise ConfError(
                f"{missing} is unset: minispark.ssl.certFile and minispark.ssl.keyFile go together"
            )

    def secret(self) -> bytes | None:
        """spark.authenticate.secret, else the stripped contents of spark.authenticate.secret.file;
        None if neither is set."""
        text = self.get("spark.authenticate.secret")
        if text:
            return text.encode("utf-8")
        path = (self.get("spark.authenticate.secret.file") or "").strip()
        if not path:
            return None
        try:
            data = Path(path).read_bytes().strip()
        except OSError as err:
            reason = err.strerror or type(err).__name__
            raise ConfError(
                f"spark.authenticate.secret.file: cannot read {path!r} ({reason})"
            ) from err
        if not data:
            raise ConfError(f"spark.authenticate.secret.file: {path!r} is empty")
        return data

    def redacted(self) -> dict[str, str]:
        """Explicit values for logs and the UI, secrets replaced by a marker."""
        return {
            name: REDACTED if _REDACT_RE.search(name) else value for name, value in self.items()
        }


# --------------------------------------------------------------------------------------------
# Sources
# --------------------------------------------------------------------------------------------

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
                f"{path}:{lineno}: {_show(stripped)} is not KEY=VALUE "
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
                f"{source}: {_show(token)} is not a -Dkey=value property "
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
            raise ConfError(f"{path}:{lineno}: {_show(stripped)} has no key (write: key value)")
        values[match.group(1)] = match.group(2).rstrip()
    return values


def parse_conf_pairs(pairs: Sequence[str]) -> dict[str, str]:
    """--conf k=v arguments; the value is kept verbatim (it may itself contain '=')."""
    values: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ConfError(f"--conf expects key=value, got {_show(pair)}")
        values[name.strip()] = value
    return values


def conf_dir(env: Mapping[str, str]) -> Path:
    """$MINISPARK_CONF_DIR, default /etc/minispark."""
    return Path(env.get("MINISPARK_CONF_DIR") or DEFAULT_CONF_DIR)


def daemon_environment(env: Mapping[str, str]) -> dict[str, str]:
    """minispark-env values overlaid by the real environment.

    The real environment wins for every key the file sets, and adds its MINISPARK_* variables;
    the rest of it is not our business. MINISPARK_CONF_DIR itself comes from ``env`` only.
    """
    values = read_env_file(conf_dir(env) / ENV_FILE_NAME)
    for name, value in env.items():
        if name in values or name.startswith("MINISPARK_"):
            values[name] = value
    return values


_ROLE_ENV: dict[str, dict[str, tuple[str, str]]] = {
    # short name -> (variable, kind)
    "master": {
        "host": ("MINISPARK_MASTER_HOST", "host"),
        "port": ("MINISPARK_MASTER_PORT", "port"),
        "webui_port": ("MINISPARK_MASTER_WEBUI_PORT", "port"),
    },
    "worker": {
        "host": ("MINISPARK_WORKER_HOST", "host"),
        "cores": ("MINISPARK_WORKER_CORES", "cores"),
        "memory": ("MINISPARK_WORKER_MEMORY", "memory"),
        "port": ("MINISPARK_WORKER_PORT", "port"),
        "webui_port": ("MINISPARK_WORKER_WEBUI_PORT", "port"),
        "work_dir": ("MINISPARK_WORKER_DIR", "path"),
        "local_dirs": ("MINISPARK_LOCAL_DIRS", "path"),
    },
    "driver": {},
}


def _check_env_value(variable: str, kind: str, text: str) -> None:
    if kind == "port":
        if _INT_RE.fullmatch(text) is None or not 0 <= int(text) <= _PORT_MAX:
            raise ConfError(f"{variable}: {_show(text)} is not a port (expected 0-{_PORT_MAX})")
    elif kind == "cores":
        if _INT_RE.fullmatch(text) is None or int(text) < 1:
            raise ConfError(f"{variable}: {_show(text)} is not a core count (expected 1 or more)")
    elif kind == "memory":
        parse_size_mb(text, key=variable)
    elif kind == "host" and any(char.isspace() for char in text):
        raise ConfError(f"{variable}: {_show(text)} is not a host name or address")


def env_defaults(role: Role, env: Mapping[str, str]) -> dict[str, str]:
    """The role's MINISPARK_* settings from minispark-env and ``env``, by short name, validated.

    Empty variables count as unset, so a templated ``MINISPARK_WORKER_CORES=""`` means "detect".
    The driver has none (minispark-env configures daemons).
    """
    values = daemon_environment(env)
    found: dict[str, str] = {}
    for short, (variable, kind) in _ROLE_ENV[role].items():
        text = values.get(variable, "").strip()
        if text:
            _check_env_value(variable, kind, text)
            found[short] = text
    return found


def _properties_layer(properties_file: str | None, env: Mapping[str, str]) -> dict[str, str]:
    if properties_file is not None:
        path = Path(properties_file)
        if not path.is_file():
            raise ConfError(f"--properties-file: {properties_file!r} is not a readable file")
        return read_properties_file(path)
    default = conf_dir(env) / PROPERTIES_FILE_NAME
    return read_properties_file(default) if default.is_file() else {}


def load(
    role: Role,
    *,
    cli: Mapping[str, str] = _EMPTY,
    conf_pairs: Sequence[str] = (),
    properties_file: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Conf:
    """Merge all sources in SPEC order, then validate().

    Daemon opts apply to master and worker only; role opts only to their role; the driver reads
    the properties file and --conf. ``cli`` holds values the CLI flags already mapped to keys and
    wins over --conf, as a dedicated spark-submit flag wins over --conf in Spark.
    """
    if role not in _ROLE_ENV:
        raise ValueError(f"unknown role {role!r}")
    env = os.environ if env is None else env
    layers: list[Mapping[str, str]] = [_properties_layer(properties_file, env)]
    if role != "driver":
        daemon_env = daemon_environment(env)
        role_opts = f"MINISPARK_{role.upper()}_OPTS"
        for variable in ("MINISPARK_DAEMON_OPTS", role_opts):
            layers.append(parse_java_opts(daemon_env.get(variable, ""), source=variable))
    layers += [parse_conf_pairs(conf_pairs), cli]
    conf = Conf(_overlay(layers))
    conf.validate()
    return conf


def _check_table() -> None:
    """The built-in defaults must parse; a typo there would break every daemon at start."""
    for key in KNOWN.values():
        if key.default is not None:
            _parse_known(key, key.default)
        if key.kind == "choice" and not key.choices:
            raise AssertionError(f"{key.name}: choice key without choices")


_check_table()

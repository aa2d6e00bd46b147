"""The merged settings of one process, read through typed getters that parse with the table.

Getters for keys that always have a value (a default, or a fallback key with one) return the
plain type; keys that may be unset have ``_or_none`` getters. The key parameter's type (see
``keys.py``) makes mypy hold every call site to the right one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import MappingProxyType

from ..keyring import Keyring, KeyringError
from .keys import (
    BoolKey,
    BytesKey,
    ChoiceKey,
    DurationKey,
    IntKey,
    OptionalBytesKey,
    OptionalIntKey,
    OptionalSizeMbKey,
    SizeMbKey,
    StrKey,
)
from .table import KNOWN, canonical, check_range, parse_choice, parse_known
from .values import (
    ConfError,
    parse_bool,
    parse_duration_s,
    parse_int,
    parse_size_bytes,
    parse_size_mb,
    show,
)

REDACTED = "*********(redacted)"

# Spark's default spark.redaction.regex; wider than "secret|password" on purpose, since a
# token in a log is as bad as a password.
_REDACT_RE = re.compile(r"secret|password|token|access[.]?key", re.IGNORECASE)

_Parse = Callable[[str, str], float]  # (text, key that supplied it) -> value


def _int(text: str, name: str) -> float:
    return parse_int(text, key=name)


def _mb(text: str, name: str) -> float:
    return parse_size_mb(text, key=name)


def _bytes(text: str, name: str) -> float:
    return parse_size_bytes(text, key=name)


def _seconds(text: str, name: str) -> float:
    return parse_duration_s(text, key=name)


def overlay(layers: Iterable[Mapping[str, str]]) -> dict[str, str]:
    """Merge layers, lowest precedence first, folding aliases into their canonical key.

    Folding per layer keeps precedence right when one source uses the old name and another
    the new one; within a single layer the canonical name wins.
    """
    merged: dict[str, str] = {}
    for layer in layers:
        folded: dict[str, str] = {}
        for name, value in layer.items():
            main = canonical(name)
            if main == name or main not in layer:
                folded[main] = value
        merged.update(folded)
    return merged


class Conf:
    """Immutable-ish view of merged settings: str -> str, with typed getters that parse with the
    table. Alias keys are stored under their canonical name."""

    def __init__(self, values: Mapping[str, str] | None = None) -> None:
        self._values: Mapping[str, str] = MappingProxyType(overlay([values or {}]))

    def __repr__(self) -> str:
        # Redacted, so that logging a Conf by accident cannot leak the secret.
        return f"Conf({self.redacted()!r})"

    def _lookup(self, key: str) -> tuple[str, str] | None:
        """(name of the key that supplied it, text): explicit, else fallback key, else default."""
        name = canonical(key)
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

    def _found(self, key: str) -> tuple[str, str]:
        """Like _lookup for a key that always has a value; mypy keeps other keys away, this
        keeps an unchecked caller from getting None where the type promises a value."""
        found = self._lookup(key)
        if found is None:
            raise LookupError(f"{key} has no default: read it with a get_*_or_none getter")
        return found

    def _parsed(self, found: tuple[str, str], parse: _Parse) -> float:
        name, text = found
        value = parse(text, name)
        known = KNOWN.get(name)
        if known is not None:
            check_range(known, text, value)
        return value

    def _parsed_or_none(self, key: str, parse: _Parse) -> float | None:
        found = self._lookup(key)
        return None if found is None else self._parsed(found, parse)

    def get(self, key: str, default: str | None = None) -> str | None:
        """The text of any key, known or not: explicit value, else the table's default (or
        fallback key), else ``default``."""
        found = self._lookup(key)
        return default if found is None else found[1]

    def get_str(self, key: StrKey) -> str:
        return self._found(key)[1]

    def require(self, key: str) -> str:
        """The text of a key that validate() guarantees in this configuration (e.g. the
        recovery directory in FILESYSTEM mode); a ConfError if it is unset all the same."""
        text = self.get(key)
        if text is None:
            raise ConfError(f"{key} is unset")
        return text

    def get_int(self, key: IntKey) -> int:
        return int(self._parsed(self._found(key), _int))

    def get_int_or_none(self, key: OptionalIntKey) -> int | None:
        value = self._parsed_or_none(key, _int)
        return None if value is None else int(value)

    def get_bool(self, key: BoolKey) -> bool:
        """Every bool key has a default; a name the table does not know reads as False."""
        found = self._lookup(key)
        return found is not None and parse_bool(found[1], key=found[0])

    def get_size_mb(self, key: SizeMbKey) -> int:
        return int(self._parsed(self._found(key), _mb))

    def get_size_mb_or_none(self, key: OptionalSizeMbKey) -> int | None:
        value = self._parsed_or_none(key, _mb)
        return None if value is None else int(value)

    def get_bytes(self, key: BytesKey) -> int:
        return int(self._parsed(self._found(key), _bytes))

    def get_bytes_or_none(self, key: OptionalBytesKey) -> int | None:
        value = self._parsed_or_none(key, _bytes)
        return None if value is None else int(value)

    def get_duration_s(self, key: DurationKey) -> float:
        return self._parsed(self._found(key), _seconds)

    def get_choice(self, key: ChoiceKey) -> str:
        """A choice key's value in its canonical spelling (e.g. 'zookeeper' -> 'ZOOKEEPER')."""
        name, text = self._found(key)
        return parse_choice(KNOWN[name], text)

    def contains(self, key: str) -> bool:
        """Explicitly set (defaults do not count), under its name or an alias."""
        return canonical(key) in self._values

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.contains(key)

    def items(self) -> list[tuple[str, str]]:
        """Explicit values only, sorted by key."""
        return sorted(self._values.items())

    def with_values(self, more: Mapping[str, str]) -> Conf:
        """A new Conf with ``more`` layered on top."""
        return Conf(overlay([self._values, more]))

    def validate(self) -> None:
        """Parse every explicitly set known key, then check the rules that span keys."""
        for name, text in self.items():
            known = KNOWN.get(name)
            if known is not None:
                parse_known(known, text)
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
        root = self.get_str("spark.deploy.zookeeper.dir")
        if not root.startswith("/") or (root != "/" and root.endswith("/")):
            raise ConfError(
                f"spark.deploy.zookeeper.dir: {show(root)} is not a znode path "
                "(expected an absolute path like /spark)"
            )

    def _validate_registration(self) -> None:
        initial = self.get_int("spark.worker.initialRegistrationRetries")
        total = self.get_int("spark.worker.maxRegistrationRetries")
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

    def keyring(self) -> Keyring | None:
        """The accepted secrets (see :mod:`minispark.keyring`); None if no secret is set.

        A secret file is re-read when it changes, so a rotation reaches running processes."""
        text = self.get("spark.authenticate.secret")
        if text:
            return Keyring.of(text.encode("utf-8"))
        path = (self.get("spark.authenticate.secret.file") or "").strip()
        if not path:
            return None
        keyring = Keyring(path=path)
        try:
            keyring.secrets()
        except KeyringError as err:
            raise ConfError(str(err)) from err
        return keyring

    def redacted(self) -> dict[str, str]:
        """Explicit values for logs and the UI, secrets replaced by a marker."""
        return {
            name: REDACTED if _REDACT_RE.search(name) else value for name, value in self.items()
        }

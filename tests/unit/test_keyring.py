"""The keyring: what a process presents and accepts, and how it follows a rotated file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from minispark.conf import Conf, ConfError
from minispark.keyring import Keyring, KeyringError, key_id, parse


def _write(path: Path, text: str, bump: int = 0) -> None:
    path.write_text(text)
    # Same-second writes can share an mtime on coarse filesystems: move it on explicitly.
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + bump * 1_000_000_000))


def test_the_first_line_is_presented_and_every_line_accepted(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    _write(path, "new\n\n  old  \n")
    keyring = Keyring(path=str(path))
    assert keyring.current() == b"new"
    assert keyring.secrets() == (b"new", b"old")
    assert keyring.find([key_id(b"old")]) == b"old"
    assert keyring.find([key_id(b"other")]) is None


def test_a_rewritten_file_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    _write(path, "old\n")
    keyring = Keyring(path=str(path))
    assert keyring.secrets() == (b"old",)
    _write(path, "new\nold\n", bump=1)
    assert keyring.secrets() == (b"new", b"old")
    _write(path, "new\n", bump=2)
    assert keyring.secrets() == (b"new",)


def test_a_vanished_or_emptied_file_keeps_the_last_secrets(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    _write(path, "old\n")
    keyring = Keyring(path=str(path))
    keyring.secrets()
    _write(path, "\n", bump=1)
    assert keyring.secrets() == (b"old",)
    path.unlink()
    assert keyring.secrets() == (b"old",)


def test_an_unreadable_file_at_start_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(KeyringError, match="cannot read"):
        Keyring(path=str(tmp_path / "missing")).secrets()
    empty = tmp_path / "empty"
    empty.write_text("\n")
    with pytest.raises(ConfError, match="is empty"):
        Conf({"spark.authenticate.secret.file": str(empty)}).keyring()


def test_key_ids_name_secrets_without_revealing_them() -> None:
    assert key_id(b"a") != key_id(b"b")
    assert key_id(b"a") == key_id(b"a")
    assert parse(b"x\r\ny\n") == (b"x", b"y")


def test_conf_gives_a_fixed_secret_precedence_over_the_file(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    _write(path, "from-file\n")
    conf = Conf(
        {"spark.authenticate.secret": "inline", "spark.authenticate.secret.file": str(path)}
    )
    keyring = conf.keyring()
    assert keyring is not None and keyring.secrets() == (b"inline",)
    assert Conf({}).keyring() is None

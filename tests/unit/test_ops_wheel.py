"""Finding the wheelhouse an upgrade rolls out, and the install it runs on each host."""

from __future__ import annotations

import re
import shlex
import subprocess
import tarfile
from pathlib import Path

import pytest

from minispark.ops import wheel
from minispark.ops.errors import UsageError

DIGEST = "ab" * 32
WHEEL = "minispark-0.1.0-py3-none-any.whl"


def make_wheelhouse(directory: Path, digest: str | None = DIGEST) -> Path:
    """A wheelhouse as minispark.deploy.wheelhouse lays it out (with empty wheels)."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in (WHEEL, "msgspec-0.18.6-cp311-cp311-linux_x86_64.whl"):
        (directory / name).write_bytes(b"PK")
    archive = directory / wheel.ARCHIVE
    with tarfile.open(archive, "w") as tar:
        for name in (WHEEL, "msgspec-0.18.6-cp311-cp311-linux_x86_64.whl"):
            tar.add(directory / name, arcname=name)
    if digest is not None:
        (directory / wheel.DIGEST_FILE).write_text(digest + "\n")
    return archive


def test_a_directory_or_its_tar_names_the_wheelhouse(tmp_path: Path) -> None:
    archive = make_wheelhouse(tmp_path / "wh")
    for given in (tmp_path / "wh", archive):
        found = wheel.locate(str(given))
        assert (found.archive, found.digest, found.minispark_wheel) == (archive, DIGEST, WHEEL)
        assert found.short == DIGEST[:12]


def test_what_is_not_a_wheelhouse_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"no minispark-wheelhouse\.tar there"):
        wheel.locate(str(tmp_path))
    make_wheelhouse(tmp_path / "bare", digest=None)
    with pytest.raises(UsageError, match=r"no source-digest beside minispark-wheelhouse\.tar"):
        wheel.locate(str(tmp_path / "bare"))
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / wheel.ARCHIVE).write_text("not a tar")
    (tmp_path / "junk" / wheel.DIGEST_FILE).write_text(DIGEST)
    with pytest.raises(UsageError, match="not a readable tar"):
        wheel.locate(str(tmp_path / "junk"))


def test_the_install_runs_the_common_roles_own_script(tmp_path: Path) -> None:
    found = wheel.locate(str(make_wheelhouse(tmp_path / "wh")))
    commands = wheel.install_script("/opt/minispark", found)
    lines = commands.splitlines()
    assert lines[0] == "set -e"
    # The tar goes where the role's copy task puts it, root-owned and 0644.
    assert (
        "install -o root -g root -m 0644 /tmp/minispark-wheelhouse-abababababab.tar "
        "/opt/minispark/minispark-wheelhouse.tar"
    ) in lines
    script = wheel.INSTALL_SCRIPT.read_text()
    assert commands.endswith(
        f"\nsh -c {shlex.quote(script)} install-wheelhouse.sh /opt/minispark {DIGEST}"
    )
    # ... and the role runs that very file, with the same two arguments.
    assert wheel.INSTALL_SCRIPT.parent == wheel.REPO / "roles" / "common" / "files"
    tasks = (wheel.REPO / "roles" / "common" / "tasks" / "install.yml").read_text()
    assert re.search(
        r"ansible\.builtin\.script:\n\s+cmd: >-\n\s+install-wheelhouse\.sh "
        r"\{\{ minispark_home \| quote \}\} \{\{ common_wheelhouse_digest \| quote \}\}\n",
        tasks,
    )


def _fake_home(tmp_path: Path) -> Path:
    """A home whose virtualenv exists, with a pip that only records its arguments."""
    home = tmp_path / "home"
    (home / "venv" / "bin").mkdir(parents=True)
    (home / "venv" / "bin" / "python").write_text("")
    (home / "venv" / "bin" / "python").chmod(0o755)
    pip = home / "venv" / "bin" / "pip"
    pip.write_text(f'#!/bin/sh\necho "$@" > {tmp_path}/pip-args\n')
    pip.chmod(0o755)
    return home


def _run_install(home: Path, found: wheel.Wheelhouse) -> subprocess.CompletedProcess[str]:
    script = wheel.install_script(str(home), found)
    # Not root here: drop the ownership options, keep everything else.
    script = script.replace("-o root -g root ", "")
    return subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=False)


def test_the_install_script_runs_against_a_fake_home(tmp_path: Path) -> None:
    """The commands as a shell runs them, with pip replaced by a stand-in."""
    found = wheel.locate(str(make_wheelhouse(tmp_path / "wh")))
    home = _fake_home(tmp_path)
    upload = Path(wheel.upload_path(found))
    upload.write_bytes(found.archive.read_bytes())
    done = _run_install(home, found)
    assert done.returncode == 0, done.stderr
    assert (home / "venv" / "wheelhouse-digest").read_text() == DIGEST + "\n"
    assert (home / "venv" / "wheelhouse-digest").stat().st_mode & 0o777 == 0o644
    pip_args = (tmp_path / "pip-args").read_text().split()
    assert pip_args[-2:] == ["--force-reinstall", f"{home}/wheelhouse/{WHEEL}"]
    assert ["--no-index", "--find-links", f"{home}/wheelhouse"] == [
        pip_args[1],
        *pip_args[3:5],
    ]
    assert not (home / "wheelhouse").exists() and not upload.exists()
    assert (home / wheel.ARCHIVE).read_bytes() == found.archive.read_bytes()


def test_a_tar_without_a_minispark_wheel_installs_nothing(tmp_path: Path) -> None:
    found = wheel.locate(str(make_wheelhouse(tmp_path / "wh")))
    other = tmp_path / "other"
    other.mkdir()
    (other / "msgspec-0.18.6-cp311-cp311-linux_x86_64.whl").write_bytes(b"PK")
    upload = Path(wheel.upload_path(found))
    with tarfile.open(upload, "w") as tar:
        tar.add(other / "msgspec-0.18.6-cp311-cp311-linux_x86_64.whl", arcname="msgspec.whl")
    home = _fake_home(tmp_path)
    done = _run_install(home, found)
    assert done.returncode == 1
    assert "holds no single minispark wheel" in done.stderr
    assert not (tmp_path / "pip-args").exists()
    assert not (home / "venv" / "wheelhouse-digest").exists()

"""Finding the wheelhouse an upgrade rolls out, and the install it runs on each host."""

from __future__ import annotations

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


def test_the_install_does_what_the_common_role_does(tmp_path: Path) -> None:
    found = wheel.locate(str(make_wheelhouse(tmp_path / "wh")))
    script = wheel.install_script("/opt/minispark", found)
    lines = script.splitlines()
    assert lines[0] == "set -e"
    assert (
        "install -o root -g root -m 0644 /tmp/minispark-wheelhouse-abababababab.tar "
        "/opt/minispark/minispark-wheelhouse.tar"
    ) in lines
    assert "tar -xf /opt/minispark/minispark-wheelhouse.tar -C /opt/minispark/wheelhouse" in lines
    assert (
        "/opt/minispark/venv/bin/pip install --no-index --disable-pip-version-check "
        "--find-links /opt/minispark/wheelhouse --force-reinstall "
        f"/opt/minispark/wheelhouse/{WHEEL} >/dev/null"
    ) in lines
    # The role's "Record which wheelhouse is installed": the digest and a newline, 0644 root.
    assert f"printf '%s\\n' {DIGEST} > /opt/minispark/venv/wheelhouse-digest" in lines
    assert lines[-1] == "rm -rf /opt/minispark/wheelhouse"


def test_the_install_script_runs_against_a_fake_home(tmp_path: Path) -> None:
    """The script as a shell runs it, with pip, install and chown replaced by stand-ins."""
    found = wheel.locate(str(make_wheelhouse(tmp_path / "wh")))
    home = tmp_path / "home"
    (home / "venv" / "bin").mkdir(parents=True)
    (home / "venv" / "bin" / "python").write_text("")
    (home / "venv" / "bin" / "python").chmod(0o755)
    pip = home / "venv" / "bin" / "pip"
    pip.write_text(f'#!/bin/sh\necho "$@" > {tmp_path}/pip-args\n')
    pip.chmod(0o755)
    upload = Path(wheel.upload_path(found))
    upload.write_bytes(found.archive.read_bytes())
    script = wheel.install_script(str(home), found)
    # Not root here: drop the ownership options, keep everything else.
    script = script.replace("-o root -g root ", "").replace("chown root:root", "true")
    done = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert (home / "venv" / "wheelhouse-digest").read_text() == DIGEST + "\n"
    assert (tmp_path / "pip-args").read_text().split()[-1] == f"{home}/wheelhouse/{WHEEL}"
    assert not (home / "wheelhouse").exists() and not upload.exists()
    assert (home / wheel.ARCHIVE).read_bytes() == found.archive.read_bytes()

"""The wheelhouse an upgrade installs, and the commands that install it on a host. Stdlib only.

The install is the one roles/common/tasks/install.yml does, step for step: the tar beside the
virtualenv, unpacked into an empty wheelhouse dir, ``pip install --no-index --force-reinstall``
of minispark's wheel, and the wheelhouse's source digest written to ``venv/wheelhouse-digest``
(with a newline, root-owned, 0644) so that a later site.yml run sees it as installed.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

from ..deploy.wheelhouse import ARCHIVE, DIGEST_FILE
from .errors import UsageError
from .probes import one_line

REPO = Path(__file__).resolve().parents[2]
BUILD_DIR = REPO / "build" / "wheelhouse"  # where the playbooks build it by default
BUILD_COMMAND = f"python3 -m minispark.deploy.wheelhouse --out {BUILD_DIR.relative_to(REPO)}"


@dataclass(frozen=True)
class Wheelhouse:
    archive: Path
    digest: str
    minispark_wheel: str

    @property
    def short(self) -> str:
        return self.digest[:12]


def locate(path: str) -> Wheelhouse:
    """The wheelhouse at ``path``: the tar, or the directory that holds it; its source-digest
    must be beside it (the wheelhouse builder writes both)."""
    given = Path(path).expanduser()
    archive = given / ARCHIVE if given.is_dir() else given
    if not archive.is_file():
        raise UsageError(f"--wheel {path}: no {archive.name} there (build it: {BUILD_COMMAND})")
    stamp = archive.parent / DIGEST_FILE
    try:
        digest = stamp.read_text().strip()
    except OSError:
        raise UsageError(
            f"--wheel {path}: no {DIGEST_FILE} beside {archive.name}; the roles record it as the "
            f"installed version (build with: {BUILD_COMMAND})"
        ) from None
    try:
        with tarfile.open(archive) as tar:
            names = sorted(tar.getnames())
    except (OSError, tarfile.TarError) as exc:
        raise UsageError(f"--wheel {path}: not a readable tar: {one_line(str(exc))}") from None
    own = [n for n in names if n.startswith("minispark-") and n.endswith(".whl")]
    if not own or not digest:
        raise UsageError(f"--wheel {path}: no minispark wheel in {archive.name}")
    return Wheelhouse(archive.resolve(), digest, own[0])


def build(out: Path = BUILD_DIR) -> Wheelhouse:
    """Build (or reuse, when the sources did not change) the wheelhouse from this checkout."""
    command = [sys.executable, "-m", "minispark.deploy.wheelhouse", "--out", str(out)]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        said = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise UsageError(f"cannot build the wheelhouse: {one_line(said[0])}")
    try:
        archive = Path(json.loads(done.stdout)["archive"])
    except (ValueError, KeyError, TypeError):
        raise UsageError(
            f"wheelhouse builder printed no archive: {one_line(done.stdout)}"
        ) from None
    return locate(str(archive))


def upload_path(wheelhouse: Wheelhouse) -> str:
    """Where the tar is put first: writable by any SSH user; the install moves it as root."""
    return f"/tmp/minispark-wheelhouse-{wheelhouse.short}.tar"


def install_script(home: str, wheelhouse: Wheelhouse) -> str:
    """The shell commands (run as root) that install the uploaded tar into ``home``/venv."""
    q = shlex.quote
    tar, wheels, venv = f"{home}/{ARCHIVE}", f"{home}/wheelhouse", f"{home}/venv"
    pip = [f"{venv}/bin/pip", "install", "--no-index", "--disable-pip-version-check"]
    pip += ["--find-links", wheels, "--force-reinstall", f"{wheels}/{wheelhouse.minispark_wheel}"]
    lines = [
        "set -e",
        f"install -o root -g root -m 0644 {q(upload_path(wheelhouse))} {q(tar)}",
        f"rm -f {q(upload_path(wheelhouse))}",
        # An empty directory, as the role makes: no wheel of an older build may be picked.
        f"rm -rf {q(wheels)}",
        f"install -d -o root -g root -m 0755 {q(wheels)}",
        f"tar -xf {q(tar)} -C {q(wheels)}",
        f"test -x {q(venv)}/bin/python || python3 -m venv {q(venv)}",
        " ".join(q(word) for word in pip) + " >/dev/null",
        f"printf '%s\\n' {q(wheelhouse.digest)} > {q(venv)}/wheelhouse-digest",
        f"chown root:root {q(venv)}/wheelhouse-digest",
        f"chmod 0644 {q(venv)}/wheelhouse-digest",
        f"rm -rf {q(wheels)}",
    ]
    return "\n".join(lines)


def digest_command(home: str) -> str:
    """Prints the digest of the wheelhouse the host's virtualenv was installed from, if any."""
    return f"cat {shlex.quote(home + '/venv/wheelhouse-digest')} 2>/dev/null || true"

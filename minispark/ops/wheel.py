"""The wheelhouse an upgrade installs, and the commands that install it on a host. Stdlib only.

The install itself is the common role's script (roles/common/files/install-wheelhouse.sh),
sent as it is: the playbooks and ``fab upgrade`` run the same steps, so an upgrade leaves the
host as site.yml would, and a later site.yml run sees the wheelhouse as installed. Only the
transport is Fabric's own: the tar is uploaded to /tmp and moved beside the virtualenv, where
the role's copy task puts it.
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
INSTALL_SCRIPT = REPO / "roles" / "common" / "files" / "install-wheelhouse.sh"


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
    """The shell commands (run as root) that install the uploaded tar into ``home``/venv:
    the tar moved to where the role copies it, then the role's own install script."""
    q = shlex.quote
    try:
        script = INSTALL_SCRIPT.read_text()
    except OSError:
        raise UsageError(
            f"no {INSTALL_SCRIPT.relative_to(REPO)} in {REPO}: run fab from the checkout"
        ) from None
    tar = f"{home}/{ARCHIVE}"
    lines = [
        "set -e",
        f"install -o root -g root -m 0644 {q(upload_path(wheelhouse))} {q(tar)}",
        f"rm -f {q(upload_path(wheelhouse))}",
        f"sh -c {q(script)} {q(INSTALL_SCRIPT.name)} {q(home)} {q(wheelhouse.digest)}",
    ]
    return "\n".join(lines)


def digest_command(home: str) -> str:
    """Prints the digest of the wheelhouse the host's virtualenv was installed from, if any."""
    return f"cat {shlex.quote(home + '/venv/wheelhouse-digest')} 2>/dev/null || true"

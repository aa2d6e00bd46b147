"""The wheelhouse the playbooks install on hosts: this checkout's wheel and all its dependencies.

Hosts need no package index: the controller builds the wheels once (``pip wheel``) and the
roles copy one tar file and install from it with ``--no-index``. The tar is rebuilt only when
the source changes (a digest over pyproject.toml and the package), so a second playbook run
copies nothing and restarts nothing. Standard library only: it runs under the controller's
Ansible Python, which need not have minispark's dependencies.

    python3 -m minispark.deploy.wheelhouse --out build/wheelhouse    # prints one JSON line
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ARCHIVE = "minispark-wheelhouse.tar"
DIGEST_FILE = "source-digest"


def source_digest(repo: Path = REPO) -> str:
    """sha256 over the files that make the wheel: pyproject.toml and the package's sources."""
    digest = hashlib.sha256()
    files = [repo / "pyproject.toml", *sorted((repo / "minispark").rglob("*.py"))]
    for path in files:
        digest.update(str(path.relative_to(repo)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _build_wheels(repo: Path, into: Path) -> None:
    command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check"]
    command += ["--wheel-dir", str(into), str(repo)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise SystemExit(f"wheelhouse: `pip wheel` failed: {tail[0]}")


def _write_archive(wheels: Path, archive: Path) -> None:
    # Fixed member order, owner and times: the same wheels give the same bytes, so the
    # copy task on the hosts sees no change.
    def normalise(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        info.mtime = 0
        return info

    with tarfile.open(archive, "w") as tar:
        for wheel in sorted(wheels.glob("*.whl")):
            tar.add(wheel, arcname=wheel.name, filter=normalise)


def build(out: Path, repo: Path = REPO, force: bool = False) -> dict[str, object]:
    """Make ``out/minispark-wheelhouse.tar`` current; say whether anything changed."""
    digest = source_digest(repo)
    archive, stamp = out / ARCHIVE, out / DIGEST_FILE
    current = stamp.is_file() and stamp.read_text().strip() == digest and archive.is_file()
    if not current or force:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=out) as scratch:
            wheels = Path(scratch) / "wheels"
            _build_wheels(repo, wheels)
            _write_archive(wheels, Path(scratch) / ARCHIVE)
            os.replace(Path(scratch) / ARCHIVE, archive)
        stamp.write_text(digest + "\n")
    with tarfile.open(archive) as tar:
        names = sorted(tar.getnames())
    own = [name for name in names if name.startswith("minispark-")]
    return {
        "changed": not current or force,
        "archive": str(archive),
        "digest": digest,
        "wheels": names,
        "minispark_wheel": own[0] if own else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python3 -m minispark.deploy.wheelhouse",
        description="Build the wheelhouse tar the Ansible roles install on hosts (no index needed "
        "there). Rebuilt only when the source changed; prints one JSON line.",
    )
    parser.add_argument("--out", type=Path, required=True, help="directory for the tar")
    parser.add_argument("--force", action="store_true", help="rebuild even if up to date")
    args = parser.parse_args(argv)
    print(json.dumps(build(args.out.resolve(), force=args.force)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

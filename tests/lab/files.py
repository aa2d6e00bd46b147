"""File helpers: atomic writes and removal that never descends into a mounted filesystem."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from tests.lab import shell
from tests.lab.errors import LabError


def write(path: Path, text: str, mode: int = 0o644) -> None:
    """Write via a temporary file and rename, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    tmp.chmod(mode)
    os.replace(tmp, path)


def mounts_below(path: Path) -> list[Path]:
    """Mount points at or under `path`, deepest first."""
    root = path.resolve()
    found: list[Path] = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = Path(line.split()[4].encode().decode("unicode_escape"))
        if point == root or root in point.parents:
            found.append(point)
    return sorted(found, key=lambda p: len(p.parts), reverse=True)


def remove_tree(path: Path) -> None:
    """Remove a directory tree; unmount anything under it first.

    A failed debootstrap can leave /proc and /sys mounted inside the half-built image, and
    deleting through those mounts would hit the machine's own files.
    """
    if not path.exists():
        return
    for point in mounts_below(path):
        shell.run(["umount", "--lazy", str(point)], check=False)
    if mounts_below(path):
        raise LabError(f"cannot unmount everything under {path}; not removing it")
    shutil.rmtree(path)

"""An Apache-style ZooKeeper binary archive built from Debian's jars, for the archive tests.

The lab reaches no download site, so the zookeeper role's air-gapped path (an archive the
operator provides) is tested with a tarball of the same layout as Apache's
(`apache-zookeeper-X-bin/lib/*.jar`), made from the jars of this machine's `zookeeper`
package: zookeeper.jar, everything its manifest's Class-Path names (recursively), and the
log4j binding.

    python3 -m tests.deploy.zkarchive OUT_DIR      # prints the archive's path
"""

from __future__ import annotations

import sys
import tarfile
import zipfile
from pathlib import Path

JARS = Path("/usr/share/java")
ROOTS = ("zookeeper.jar", "slf4j-log4j12.jar", "log4j-1.2.jar")
TOP = "apache-zookeeper-3.8.0-bin"


def _class_path(jar: Path) -> list[Path]:
    with zipfile.ZipFile(jar) as archive:
        try:
            manifest = archive.read("META-INF/MANIFEST.MF").decode()
        except KeyError:
            return []
    # Manifest lines are wrapped at 72 bytes; a continuation line starts with a space.
    unwrapped = manifest.replace("\r\n", "\n").replace("\n ", "")
    for line in unwrapped.splitlines():
        if line.startswith("Class-Path:"):
            return [Path(entry) for entry in line.split(":", 1)[1].split()]
    return []


def jars() -> list[Path]:
    """The closure of the roots over manifest Class-Paths, as far as the files exist."""
    found: dict[str, Path] = {}
    pending = [JARS / name for name in ROOTS]
    while pending:
        jar = pending.pop()
        if jar.name in found or not jar.is_file():
            continue
        found[jar.name] = jar
        pending += [p if p.is_absolute() else jar.parent / p for p in _class_path(jar)]
    return sorted(found.values())


def build(out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    archive = out / f"{TOP}.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for jar in jars():
            # Resolve Debian's version symlinks: the archive holds plain files.
            tar.add(jar.resolve(), arcname=f"{TOP}/lib/{jar.name}")
    return archive


if __name__ == "__main__":
    print(build(Path(sys.argv[1])))

"""The Debian root filesystem all hosts boot from, built once with debootstrap and cached.

The cache key is a hash of what goes into the image, so changing the package list (or the
recipe below) builds a new image on the next run; the old one is removed then.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from tests.lab import aptsource, files, shell
from tests.lab.errors import LabError
from tests.lab.settings import Settings

log = logging.getLogger("minispark.lab")

# What a fresh server has, plus what the lab itself needs to reach and inspect a host
# (sshd, python3 for Ansible, iproute2). Nothing the roles must install themselves:
# no Java, no ZooKeeper, no python3-venv.
PACKAGES: tuple[str, ...] = (
    "systemd",
    "systemd-sysv",
    "dbus",
    "openssh-server",
    "python3",
    "iproute2",
    "procps",
    "ca-certificates",
)
# Bump when _finish changes, so cached images built by the old recipe are replaced.
RECIPE_VERSION = 2
BUILD_TIMEOUT = 1200.0
PROGRESS_EVERY = 5.0
PER_PACKAGE = {"Retrieving", "Validating", "Extracting", "Unpacking", "Configuring"}


@dataclass(frozen=True)
class Recipe:
    suite: str
    arch: str
    packages: tuple[str, ...] = PACKAGES

    @property
    def key(self) -> str:
        text = json.dumps(
            {
                "suite": self.suite,
                "arch": self.arch,
                "packages": sorted(self.packages),
                "recipe": RECIPE_VERSION,
            },
            sort_keys=True,
        )
        return f"{self.suite}-{hashlib.sha256(text.encode()).hexdigest()[:12]}"


def machine_recipe() -> Recipe:
    arch = shell.run(["dpkg", "--print-architecture"]).stdout.strip()
    return Recipe(suite=aptsource.machine_suite(), arch=arch)


def cached_image(settings: Settings, recipe: Recipe) -> Path | None:
    """The finished image for `recipe`, if one is in the cache."""
    root = settings.images_dir / recipe.key
    return root if (root.with_suffix(".json")).is_file() and root.is_dir() else None


def ensure_image(settings: Settings, recipe: Recipe | None = None, rebuild: bool = False) -> Path:
    """The image for `recipe` (default: this machine's release), building it if needed."""
    recipe = recipe or machine_recipe()
    settings.images_dir.mkdir(parents=True, exist_ok=True)
    # Two processes starting labs at once must not both run debootstrap into the same dir.
    with (settings.images_dir / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        found = None if rebuild else cached_image(settings, recipe)
        if found:
            log.info("image %s is cached", found)
            return found
        root = _build(settings, recipe)
        _prune(settings, keep=root)
        return root


def _build(settings: Settings, recipe: Recipe) -> Path:
    mirror = aptsource.debian_mirror(recipe.suite)
    root = settings.images_dir / recipe.key
    partial = root.with_name(root.name + ".partial")
    # Leftovers of a build that was interrupted (a finished image has its .json next to it).
    root.with_suffix(".json").unlink(missing_ok=True)
    files.remove_tree(partial)
    files.remove_tree(root)
    log.info("building image %s (debootstrap %s, about a minute) ...", recipe.key, recipe.suite)
    started = time.monotonic()
    _debootstrap(recipe, mirror, partial)
    _finish(partial)
    partial.rename(root)
    seconds = time.monotonic() - started
    meta = {
        "suite": recipe.suite,
        "arch": recipe.arch,
        "packages": list(recipe.packages),
        "recipe": RECIPE_VERSION,
        "build_seconds": round(seconds, 1),
    }
    files.write(root.with_suffix(".json"), json.dumps(meta, indent=2) + "\n")
    log.info("image %s built in %.0fs", recipe.key, seconds)
    return root


def _debootstrap(recipe: Recipe, mirror: str, target: Path) -> None:
    argv = [
        "debootstrap",
        "--variant=minbase",
        f"--arch={recipe.arch}",
        f"--include={','.join(recipe.packages)}",
        recipe.suite,
        str(target),
        mirror,
    ]
    _stream(argv, BUILD_TIMEOUT)


def _stream(argv: list[str], timeout: float) -> None:
    """Run `argv`, logging its progress lines as they come, killing it after `timeout`."""
    started = last_report = time.monotonic()
    tail: list[str] = []
    with subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    ) as proc:
        # The timer ends only this child, by its Popen handle.
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                tail = [*tail[-30:], line.rstrip()]
                now = time.monotonic()
                # Stage lines always; the per-package lines only every few seconds.
                if _is_stage(line) or now - last_report > PROGRESS_EVERY:
                    log.info("image [%3.0fs] %s", now - started, line.rstrip())
                    last_report = now
            code = proc.wait()
        finally:
            timer.cancel()
    if code != 0:
        raise LabError(f"debootstrap failed ({code}):\n" + "\n".join(tail))


def _is_stage(line: str) -> bool:
    words = line.split()
    return len(words) > 1 and words[0] in {"I:", "W:", "E:"} and words[1] not in PER_PACKAGE


def _finish(root: Path) -> None:
    """Make the bare system bootable as a lab host."""
    # networkd reads the host's address file that each host's overlay adds.
    shell.run(["chroot", str(root), "systemctl", "enable", "systemd-networkd", "ssh"])
    # Every host gets its own machine id in its overlay; an empty file means "generate one".
    (root / "etc" / "machine-id").write_text("")
    # Hosts get this machine's apt sources in their overlay; debootstrap's own list would
    # name the same archive a second time (and write the mirror into the image).
    (root / "etc" / "apt" / "sources.list").unlink(missing_ok=True)
    shell.run(["chroot", str(root), "apt-get", "clean"])


def _prune(settings: Settings, keep: Path) -> None:
    """Remove images of older recipes; a lab that is up may still use one, so keep those."""
    in_use = settings.state_file.read_text() if settings.state_file.exists() else ""
    for path in settings.images_dir.iterdir():
        stem = path.name.removesuffix(".json").removesuffix(".partial")
        if stem == keep.name or stem.startswith(".") or str(settings.images_dir / stem) in in_use:
            continue
        log.info("removing old image %s", path)
        if path.is_dir():
            files.remove_tree(path)
        else:
            path.unlink()

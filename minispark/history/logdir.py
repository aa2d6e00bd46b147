"""The event log directory, a local path or any fsspec URL (``s3://bucket/logs``).

Only files at its top level are logs; dot files (editors', uploaders' temporary files) and
directories are not looked at.
"""

from __future__ import annotations

import datetime
from typing import Any

import fsspec  # type: ignore[import-untyped]
from fsspec import AbstractFileSystem

from .summary import LogFile


class LogDirError(Exception):
    """The directory cannot be listed; the message says what to fix."""


class LogDir:
    def __init__(self, url: str) -> None:
        self.url = url
        try:
            fs, root = fsspec.core.url_to_fs(url)
        except (ImportError, ValueError) as exc:  # e.g. s3:// without s3fs installed
            raise LogDirError(f"cannot open {url!r}: {exc}") from exc
        self.fs: AbstractFileSystem = fs
        self.root: str = root

    def check(self) -> None:
        """Fails, saying so, unless the directory exists (checked once at start)."""
        try:
            found = self.fs.isdir(self.root)
        except Exception as exc:  # any backend's own errors: credentials, DNS, ...
            raise LogDirError(f"cannot list {self.url!r}: {exc}") from exc
        if not found:
            raise LogDirError(f"{self.url!r} is not a directory: create it")

    def files(self) -> list[LogFile]:
        try:
            self.fs.invalidate_cache(self.root)  # object stores cache listings
            entries = self.fs.ls(self.root, detail=True)
        except Exception as exc:
            raise LogDirError(f"cannot list {self.url!r}: {exc}") from exc
        found = []
        for info in entries:
            name = str(info["name"]).rstrip("/").rsplit("/", 1)[-1]
            if info.get("type") != "file" or name.startswith("."):
                continue
            found.append(LogFile(str(info["name"]), name, int(info["size"]), _mtime(info)))
        return found

    def delete(self, file: LogFile) -> None:
        self.fs.rm_file(file.path)


def _mtime(info: dict[str, Any]) -> float:
    """Backends name the modification time differently (local: mtime, S3: LastModified)."""
    for key in ("mtime", "LastModified", "last_modified", "created"):
        value = info.get(key)
        if isinstance(value, datetime.datetime):
            return value.timestamp()
        if isinstance(value, int | float):
            return float(value)
    return 0.0

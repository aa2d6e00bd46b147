"""``RDD.pipe``: each partition through an external command, one element per line.

A thread feeds the command's stdin while the task reads its stdout, so a command that writes
before it has read everything (most filters) cannot deadlock on a full pipe.
"""

from __future__ import annotations

import contextlib
import shlex
import subprocess
import threading
from collections.abc import Iterator
from typing import IO, Any


class PipeThrough:
    def __init__(self, command: str, env: dict[str, str], check_code: bool) -> None:
        self.command = command
        self.env = env
        self.check_code = check_code

    def __call__(self, it: Iterator[Any]) -> Iterator[str]:
        process = subprocess.Popen(
            shlex.split(self.command), env=self.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        assert process.stdin is not None and process.stdout is not None
        failures: list[BaseException] = []
        feeder = threading.Thread(target=_feed, args=(it, process.stdin, failures), daemon=True)
        feeder.start()
        with process.stdout:
            for line in process.stdout:
                yield line.rstrip(b"\n").decode("utf-8")
        feeder.join()
        code = process.wait()
        if failures:  # the parent partition failed while we fed it: that is the task's error
            raise failures[0]
        if self.check_code and code:
            raise RuntimeError(f"Pipe function `{self.command}' exited with error code {code}")


def _feed(it: Iterator[Any], stdin: IO[bytes], failures: list[BaseException]) -> None:
    try:
        for x in it:
            stdin.write(str(x).rstrip("\n").encode("utf-8") + b"\n")
    except BrokenPipeError:  # the command stopped reading; its exit code tells the story
        pass
    except BaseException as exc:
        failures.append(exc)
    finally:
        with contextlib.suppress(BrokenPipeError):
            stdin.close()

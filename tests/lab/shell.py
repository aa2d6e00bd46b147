"""Running host commands with a bounded wait and errors that name the command."""

from __future__ import annotations

import logging
import shlex
import subprocess
from collections.abc import Sequence

from tests.lab.errors import LabError

log = logging.getLogger("minispark.lab")


def run(
    argv: Sequence[str],
    *,
    timeout: float = 60.0,
    check: bool = True,
    input_text: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `argv`, capture its output, and raise LabError on failure (if `check`) or timeout."""
    log.debug("$ %s", shlex.join(argv))
    try:
        result = subprocess.run(
            list(argv),
            capture_output=True,
            text=True,
            timeout=timeout,
            input=input_text,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise LabError(f"timed out after {timeout:.0f}s: {shlex.join(argv)}") from exc
    except FileNotFoundError as exc:
        raise LabError(f"command not found: {argv[0]}") from exc
    if check and result.returncode != 0:
        detail = (result.stderr.strip() or result.stdout.strip())[-2000:]
        raise LabError(f"`{shlex.join(argv)}` failed with {result.returncode}: {detail}")
    return result

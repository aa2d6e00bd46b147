"""The peak resident size of this process over one task.

A task process is forked once and runs many tasks, so its lifetime peak (``ru_maxrss``) would
report the largest task ever run there. Linux resets the peak ("VmHWM") when ``5`` is written
to ``/proc/self/clear_refs`` (since 4.0); reading VmHWM from ``/proc/self/status`` after the
task then gives that task's own peak. Both files stay open, so a task pays two system calls
(about 4 µs). Where the reset is refused, the lifetime peak is the honest fallback.
"""

from __future__ import annotations

import contextlib
import os
import resource


class PeakRss:
    """Open in the process it measures (after the fork: /proc/self is resolved at open)."""

    def __init__(self) -> None:
        self._clear: int | None = None
        self._status: int | None = None
        with contextlib.suppress(OSError):
            self._status = os.open("/proc/self/status", os.O_RDONLY)
            self._clear = os.open("/proc/self/clear_refs", os.O_WRONLY)

    def reset(self) -> None:
        """Start a new measurement: the peak becomes the resident size now."""
        if self._clear is not None:
            try:
                os.write(self._clear, b"5")
            except OSError:
                self._clear = None

    def peak_bytes(self) -> int:
        """The highest resident size since ``reset`` (since the start, without a reset)."""
        if self._clear is not None and self._status is not None:
            with contextlib.suppress(OSError, ValueError):
                return _vm_hwm(os.pread(self._status, 8192, 0))
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def _vm_hwm(status: bytes) -> int:
    """Bytes from the ``VmHWM:   1234 kB`` line of /proc/<pid>/status."""
    start = status.index(b"VmHWM:") + len(b"VmHWM:")
    return int(status[start : status.index(b"kB", start)]) * 1024

"""sd_notify: tell systemd we are ready (Type=notify), what we are doing, and that we live.

The protocol is one datagram to the socket named in ``$NOTIFY_SOCKET``; outside systemd the
variable is unset and every call does nothing, so daemons call these unconditionally.
"""

from __future__ import annotations

import os
import socket


def notify(**fields: str) -> bool:
    """Send ``KEY=value`` lines, e.g. ``notify(READY="1", STATUS="ALIVE")``."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):  # abstract namespace socket
        address = "\0" + address[1:]
    payload = "\n".join(f"{key}={value}" for key, value in fields.items()).encode()
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(payload)
    except OSError:
        return False
    return True


def ready(status: str) -> bool:
    return notify(READY="1", STATUS=status)


def status(text: str) -> bool:
    return notify(STATUS=text)


def stopping() -> bool:
    return notify(STOPPING="1")


def watchdog_interval_s() -> float | None:
    """Half the watchdog period systemd expects pings within, or None without a watchdog."""
    usec = os.environ.get("WATCHDOG_USEC", "")
    pid = os.environ.get("WATCHDOG_PID", "")
    if not usec.isdigit() or (pid and pid != str(os.getpid())):
        return None
    return int(usec) / 2_000_000

"""The history server's unit file: started as the other daemons are (Type=notify, the
watchdog, the environment file) and hardened exactly like them."""

from __future__ import annotations

from pathlib import Path

import pytest

UNITS = Path(__file__).parents[2] / "systemd"
HARDENING = (
    "NoNewPrivileges",
    "ProtectSystem",
    "ProtectHome",
    "PrivateTmp",
    "PrivateDevices",
    "ProtectKernelTunables",
    "ProtectKernelModules",
    "ProtectControlGroups",
    "RestrictSUIDSGID",
    "LockPersonality",
    "RestrictAddressFamilies",
    "ReadWritePaths",
)


def service(name: str) -> dict[str, str]:
    """The [Service] section's settings (each is set once in our units)."""
    section, found = "", {}
    for line in (UNITS / name).read_text().splitlines():
        if line.startswith("["):
            section = line.strip("[]")
        elif section == "Service" and "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            assert key not in found, f"{name}: {key} set twice"
            found[key] = value
    return found


@pytest.mark.parametrize("other", ["minispark-master.service", "minispark-worker.service"])
def test_history_is_hardened_like_the_other_daemons(other: str) -> None:
    history, daemon = service("minispark-history.service"), service(other)
    assert {k: history.get(k) for k in HARDENING} == {k: daemon.get(k) for k in HARDENING}


def test_history_runs_as_a_notify_daemon() -> None:
    history = service("minispark-history.service")
    assert history["Type"] == "notify"
    assert history["NotifyAccess"] == "main"
    assert history["WatchdogSec"] == service("minispark-master.service")["WatchdogSec"]
    assert history["ExecStart"] == "/opt/minispark/venv/bin/minispark history-server"
    assert history["EnvironmentFile"] == "/etc/minispark/minispark-env"
    assert history["User"] == "minispark"

"""The Fabric layer over real SSH (a paramiko server on loopback): restart, journal, install,
host-key policy, and one-line errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from minispark.driver.localcluster import free_port
from minispark.ops.errors import RemoteError
from minispark.ops.inventory import Inventory, parse
from minispark.ops.remote import FabricActions
from minispark.ops.wheel import locate
from tests.unit.test_ops_wheel import DIGEST, WHEEL, make_wheelhouse

pytest.importorskip("fabric")
from tests.unit.sshserver import SshServer, ssh_server

SYSTEMCTL = """#!/bin/sh
echo "systemctl $*" >> "{log}"
if [ "$3" = bad ]; then
  echo "Failed to restart bad.service: Unit bad.service is masked." >&2
  exit 1
fi
"""
JOURNALCTL = """#!/bin/sh
echo "journalctl $*"
"""
PIP = """#!/bin/sh
echo "$*" > "{log}"
"""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[SshServer]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in (("systemctl", SYSTEMCTL), ("journalctl", JOURNALCTL)):
        (bin_dir / name).write_text(text.format(log=tmp_path / "systemctl.log"))
        (bin_dir / name).chmod(0o755)
    with ssh_server(tmp_path) as running:
        yield running


def inventory(server: SshServer, tmp_path: Path, **extra: object) -> Inventory:
    hostvars = {
        "ansible_host": "127.0.0.1",
        "ansible_port": server.port,
        "ansible_user": "root",
        "ansible_ssh_private_key_file": str(server.client_key),
        "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null",
        "minispark_home": str(tmp_path / "home"),
        **extra,
    }
    listing = {
        "_meta": {"hostvars": {"w1": hostvars}},
        "all": {"children": ["minispark_worker"]},
        "minispark_worker": {"hosts": ["w1"]},
    }
    return parse(listing, "test")


def test_restart_and_journal_run_over_ssh(server: SshServer, tmp_path: Path) -> None:
    actions = FabricActions(inventory(server, tmp_path))
    try:
        actions.restart("w1", "minispark-worker")
        text = actions.journal("w1", ["zookeeper", "minispark-master"], lines=7, since="10 min ago")
    finally:
        actions.close()
    assert (tmp_path / "systemctl.log").read_text() == (
        "systemctl --no-ask-password restart minispark-worker\n"
    )
    assert text == (
        "journalctl --no-pager -n 7 -u zookeeper -u minispark-master --since 10 min ago\n"
    )


def test_a_failed_command_is_one_line_with_what_it_said(server: SshServer, tmp_path: Path) -> None:
    actions = FabricActions(inventory(server, tmp_path))
    with pytest.raises(RemoteError) as exc:
        actions.restart("w1", "bad")
    actions.close()
    assert str(exc.value) == (
        "w1: `systemctl --no-ask-password restart bad` failed (exit 1): "
        "Failed to restart bad.service: Unit bad.service is masked."
    )


def test_install_puts_the_tar_and_records_the_digest(server: SshServer, tmp_path: Path) -> None:
    venv = tmp_path / "home" / "venv" / "bin"
    venv.mkdir(parents=True)
    (venv / "python").write_text("")
    (venv / "python").chmod(0o755)
    (venv / "pip").write_text(PIP.format(log=tmp_path / "pip.log"))
    (venv / "pip").chmod(0o755)
    wheelhouse = locate(str(make_wheelhouse(tmp_path / "wh")))
    actions = FabricActions(inventory(server, tmp_path))
    try:
        assert actions.installed_digest("w1") == ""
        note = actions.install("w1", wheelhouse)
        assert note == f"installed wheelhouse {DIGEST[:12]} ({WHEEL})"
        home = tmp_path / "home"
        assert (home / "venv" / "wheelhouse-digest").read_text() == DIGEST + "\n"
        assert (home / "minispark-wheelhouse.tar").read_bytes() == wheelhouse.archive.read_bytes()
        assert (tmp_path / "pip.log").read_text().split()[-1] == f"{home}/wheelhouse/{WHEEL}"
        assert actions.install("w1", wheelhouse).startswith("already runs wheelhouse")
    finally:
        actions.close()
    assert not Path(f"/tmp/minispark-wheelhouse-{DIGEST[:12]}.tar").exists()


def test_host_keys_are_checked_unless_the_inventory_says_no(
    server: SshServer, tmp_path: Path
) -> None:
    known = tmp_path / "known_hosts"
    strict = f"-o StrictHostKeyChecking=yes -o UserKnownHostsFile={known}"
    actions = FabricActions(inventory(server, tmp_path, ansible_ssh_common_args=strict))
    with pytest.raises(
        RemoteError, match=r"^w1 \(root@127\.0\.0\.1:\d+\): .*not found in known_hosts"
    ):
        actions.restart("w1", "minispark-worker")
    actions.close()
    accept = f"-o StrictHostKeyChecking=accept-new -o UserKnownHostsFile={known}"
    actions = FabricActions(inventory(server, tmp_path, ansible_ssh_common_args=accept))
    actions.restart("w1", "minispark-worker")
    actions.close()


def test_an_unreachable_host_is_a_one_line_error(tmp_path: Path) -> None:
    listing = {
        "_meta": {"hostvars": {"w1": {"ansible_host": "127.0.0.1", "ansible_port": free_port()}}},
        "minispark_worker": {"hosts": ["w1"]},
    }
    actions = FabricActions(parse(listing, "test"))
    with pytest.raises(RemoteError) as exc:
        actions.restart("w1", "minispark-worker")
    message = str(exc.value)
    assert message.startswith("w1 (") and "\n" not in message
    assert "NoValidConnectionsError" in message or "Connection refused" in message

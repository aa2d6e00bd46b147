"""The real ``fab`` program on fabfile.py: task list, help for every option, one-line errors,
and the read-only tasks against an inventory whose daemons are all down (no SSH needed)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from minispark.driver.localcluster import free_port
from minispark.ops import commands
from minispark.ops.commands import RollRequest
from tests.unit.opscerts import Authority

pytest.importorskip("fabric")

REPO = Path(__file__).resolve().parents[2]
TASKS = [
    "decommission", "failover", "logs", "recommission", "rolling-restart", "rotate-credentials",
    "status", "upgrade",
]  # fmt: skip
needs_ansible = pytest.mark.skipif(
    shutil.which("ansible-inventory") is None, reason="needs ansible-core"
)


def fab(*args: str, inventory: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "MINISPARK_INVENTORY"}
    if inventory is not None:
        env["MINISPARK_INVENTORY"] = str(inventory)
    return subprocess.run(
        [sys.executable, "-m", "fabric", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def assert_one_line(done: subprocess.CompletedProcess[str], code: int, fragment: str) -> None:
    assert done.returncode == code, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert fragment in done.stderr


@pytest.fixture
def dead_inventory(tmp_path: Path) -> Path:
    """A one-host-per-tier inventory on loopback where no daemon listens."""
    path = tmp_path / "hosts.yml"
    path.write_text(
        "all:\n"
        "  children:\n"
        "    zookeeper:\n"
        f"      hosts: {{z1: {{ansible_host: 127.0.0.1, zookeeper_client_port: {free_port()},"
        " zookeeper_myid: 1}}\n"
        "    minispark_master:\n"
        f"      hosts: {{z1: {{minispark_master_webui_port: {free_port()}}}}}\n"
        "    minispark_worker:\n"
        "      hosts: {w1: {ansible_host: 127.0.0.2, "
        f"minispark_worker_webui_port: {free_port()}}}}}\n"
    )
    # The credentials site.yml leaves beside the inventory (secure by default).
    Authority.make(tmp_path / "credentials")
    (tmp_path / "credentials" / "minispark.secret").write_text("s3cret\n")
    return path


def test_every_task_is_listed_with_a_one_line_help() -> None:
    done = fab("--list")
    assert done.returncode == 0, done.stderr
    listed = re.findall(r"^  (\S+)\s+\S", done.stdout, re.M)
    assert listed == TASKS


@pytest.mark.parametrize("name", TASKS)
def test_every_option_of_every_task_has_help(name: str) -> None:
    done = fab("--help", name)
    assert done.returncode == 0, done.stderr
    options = done.stdout.split("Options:", 1)[1]
    flags = [line for line in options.splitlines() if line.startswith("  -")]
    assert flags, done.stdout
    for line in flags:
        assert re.match(r"^  -\S.*?\s{2,}\S", line), f"{name}: no help on {line!r}"
    assert "-i STRING, --inventory=STRING" in options
    if name in ("rolling-restart", "upgrade", "failover", "decommission", "recommission"):
        assert "--dry-run" in options


def test_the_roll_tasks_pass_every_option_on(monkeypatch: pytest.MonkeyPatch) -> None:
    from invoke.context import Context

    import fabfile

    got: list[object] = []
    monkeypatch.setattr(fabfile, "_run", lambda c, name, inventory, body: body(None))
    monkeypatch.setattr(commands, "rolling_restart", lambda s, request: got.append(request))
    monkeypatch.setattr(commands, "upgrade", lambda s, request, *wheel: got.append(request))
    options = {
        "group": "workers", "batch": 2, "consecutive": 5, "drain_timeout": 7, "gate_timeout": 9,
        "skip": 1, "from_": "w2", "yes": True, "dry_run": True, "force": True,
    }  # fmt: skip
    fabfile.rolling_restart.body(Context(), **options)
    fabfile.upgrade.body(Context(), wheel="wh", **options)
    expected = RollRequest(
        group="workers", batch=2, consecutive=5, drain_timeout=7, gate_timeout=9, skip=1,
        start="w2", yes=True, dry_run=True, force=True,
    )  # fmt: skip
    assert got == [expected, expected]


def test_a_missing_inventory_is_a_one_line_error() -> None:
    assert_one_line(fab("status"), 2, "fab status: error: no inventory: pass -i PATH or set")
    missing = fab("rolling-restart", "-i", "/nonexistent/inventory", "-g", "all")
    assert_one_line(missing, 2, "inventory /nonexistent/inventory: no such file or directory")


def test_bad_option_values_are_one_line_errors() -> None:
    assert_one_line(fab("rolling-restart", "--batch", "many"), 1, "--batch: 'many' is not a")
    assert_one_line(fab("rolling-restart", "-i", "x"), 2, "give --group workers|masters")


@needs_ansible
def test_unknown_hosts_and_groups_are_one_line_errors(dead_inventory: Path) -> None:
    done = fab("logs", "w9", "-i", str(dead_inventory))
    assert_one_line(done, 2, "fab logs: error: unknown host 'w9': inventory ")
    done = fab("rolling-restart", "-g", "brokers", inventory=dead_inventory)
    assert_one_line(done, 2, "unknown group 'brokers': use one of zookeeper, masters, workers")
    done = fab("decommission", "z1", inventory=dead_inventory)
    assert_one_line(done, 2, "z1 is not a worker (the minispark_worker group has w1)")
    (dead_inventory.parent / "broken.yml").write_text("all: [\n")
    done = fab("status", "-i", str(dead_inventory.parent / "broken.yml"))
    assert_one_line(done, 2, "cannot read inventory")


@needs_ansible
def test_status_reads_fabs_own_dash_i_as_the_inventory(dead_inventory: Path) -> None:
    done = fab("-i", str(dead_inventory), "status")
    assert done.returncode == 0, done.stderr
    assert re.search(
        r"^z1 127\.0\.0\.1:\d+ +ERROR +zookeeper 127\.0\.0\.1:\d+: cannot connect",
        done.stdout,
        re.M,
    )
    assert re.search(r"^z1 127\.0\.0\.1:\d+ +UNREACHABLE", done.stdout, re.M)
    assert "No single ALIVE master" in done.stdout
    assert "Problems:" in done.stdout
    # Web ports speak HTTPS by default: their certificates' expiry has a line each.
    assert re.search(r"^master z1 +127\.0\.0\.1:\d+ +\? +\? +cannot connect", done.stdout, re.M)
    assert re.search(r"^worker w1 +127\.0\.0\.2:\d+ +\? +\? +cannot connect", done.stdout, re.M)


@needs_ansible
def test_a_missing_secret_is_a_one_line_error_naming_the_file(dead_inventory: Path) -> None:
    secret = dead_inventory.parent / "credentials" / "minispark.secret"
    secret.unlink()
    done = fab("status", inventory=dead_inventory)
    assert_one_line(done, 2, f"fab status: error: no cluster secret: {secret} does not exist")
    # Tasks that never talk to the daemons do not need it.
    assert_one_line(fab("logs", "w9", inventory=dead_inventory), 2, "unknown host 'w9'")


@needs_ansible
def test_rotate_credentials_dry_run_prints_the_playbook_command(dead_inventory: Path) -> None:
    done = fab("rotate-credentials", "--dry-run", inventory=dead_inventory)
    assert done.returncode == 0, done.stderr
    playbook = REPO / "playbooks" / "rotate_credentials.yml"
    assert f"would run ansible-playbook {playbook} -i {dead_inventory} and then" in done.stdout


@needs_ansible
def test_a_dry_run_on_a_dead_cluster_shows_the_plan_and_the_refusal(dead_inventory: Path) -> None:
    done = fab("rolling-restart", "-g", "all", "--dry-run", inventory=dead_inventory)
    assert done.returncode == 1, done.stderr
    assert done.stdout.splitlines()[:4] == [
        "Plan: rolling restart of all, 3 steps:",
        "  1. z1           zookeeper         ERROR",
        "  2. z1           minispark-master  UNREACHABLE",
        "  3. w1           minispark-worker  UNREGISTERED",
    ]
    assert "Refusing to roll: the cluster is not healthy" in done.stdout
    assert done.stdout.rstrip().endswith("Dry run: nothing was changed.")

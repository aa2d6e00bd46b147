"""The distribution end to end on six fresh lab hosts, as an operator runs it.

site.yml deploys; a second run and a --check run change nothing; every unit runs and is
enabled; ZooKeeper has one leader, the masters one ALIVE; workers offer what their hosts
allow; a job runs; the leader's host dies and a standby takes over; reset.yml leaves
nothing. The tests run in this order and build on each other (one lab per module).
"""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest

from minispark.deploy import wheelhouse
from minispark.ops import probes
from minispark.ops.gate import wait_until
from tests.deploy.ansible import REPO, Run, playbook
from tests.deploy.conftest import TIMINGS
from tests.lab.lab import Lab

pytestmark = pytest.mark.lab

MASTERS = ["m1", "m2", "m3"]
WORKERS = ["w1", "w2", "w3"]
RESERVE_MB = 1024
UNITS = {"m": ["zookeeper", "minispark-master"], "w": ["minispark-worker"]}


def _web(lab: Lab, hosts: list[str]) -> list[str]:
    return [f"{lab.host(h).address}:8080" for h in hosts]


def _zookeepers(lab: Lab) -> list[str]:
    return [f"{lab.host(h).address}:2181" for h in MASTERS]


def _site(lab: Lab, tmp_path: Path, deploy_args: tuple[str, ...], *args: str) -> Run:
    return playbook("site.yml", lab.inventory, *deploy_args, *args, timings=tmp_path)


def _assert_ok(run: Run) -> None:
    assert run.returncode == 0, run.explain()
    assert run.recap, run.explain()
    assert all(c["failed"] == 0 and c["unreachable"] == 0 for c in run.recap.values()), run.recap


@pytest.fixture(scope="module")
def deployed(
    fresh_lab: Lab, tmp_path_factory: pytest.TempPathFactory, deploy_args: tuple[str, ...]
) -> Lab:
    run = _site(fresh_lab, tmp_path_factory.mktemp("site"), deploy_args)
    _assert_ok(run)
    slowest = "; ".join(f"{s:.1f}s {name}" for s, name in run.slowest(5))
    TIMINGS.append(f"site.yml on six fresh hosts: {run.seconds:.0f}s; slowest tasks: {slowest}")
    return fresh_lab


def test_second_run_changes_nothing(
    deployed: Lab, tmp_path: Path, deploy_args: tuple[str, ...]
) -> None:
    run = _site(deployed, tmp_path, deploy_args)
    _assert_ok(run)
    TIMINGS.append(f"site.yml again (idempotent): {run.seconds:.0f}s")
    assert set(run.changed.values()) == {0}, run.changed


def test_check_diff_run_is_clean(
    deployed: Lab, tmp_path: Path, deploy_args: tuple[str, ...]
) -> None:
    run = _site(deployed, tmp_path, deploy_args, "--check", "--diff")
    _assert_ok(run)
    assert set(run.changed.values()) == {0}, run.changed


def test_every_unit_is_active_and_enabled(deployed: Lab) -> None:
    for host in MASTERS + WORKERS:
        for unit in UNITS[host[0]]:
            done = deployed.ssh(host, f"systemctl is-active {unit}; systemctl is-enabled {unit}")
            assert done.stdout.split() == ["active", "enabled"], (host, unit, done.stdout)


def test_units_run_as_the_dedicated_users_with_hardening(deployed: Lab) -> None:
    show = "systemctl show -p User -p NoNewPrivileges -p ProtectSystem -p Type"
    for host, unit, user in [
        ("m1", "minispark-master", "minispark"),
        ("w1", "minispark-worker", "minispark"),
        ("m1", "zookeeper", "zookeeper"),
    ]:
        props = dict(
            line.split("=", 1) for line in deployed.ssh(host, f"{show} {unit}").stdout.split()
        )
        assert props["User"] == user and props["NoNewPrivileges"] == "yes", props
        assert props["ProtectSystem"] == "strict", props
    assert "Type=notify" in deployed.ssh("w1", "systemctl show -p Type minispark-worker").stdout


def test_zookeeper_has_one_leader_and_two_followers(deployed: Lab) -> None:
    modes = sorted(probes.zookeeper_mode(member) for member in _zookeepers(deployed))
    assert modes == ["follower", "follower", "leader"]
    # AdminServer is off (it would take the master's port 8080) and only srvr/ruok/mntr answer.
    assert "not in the whitelist" in probes.four_letter_word(_zookeepers(deployed)[0], "envi")


def test_one_master_alive_two_standby(deployed: Lab) -> None:
    statuses = sorted(probes.master_state(web)["status"] for web in _web(deployed, MASTERS))
    assert statuses == ["ALIVE", "STANDBY", "STANDBY"]


def test_workers_offer_what_their_hosts_allow(deployed: Lab) -> None:
    _, state = probes.leading_state(_web(deployed, MASTERS))
    offered = {
        w["host"]: (w["cores"], w["memory"]) for w in state["workers"] if w["state"] == "ALIVE"
    }
    expected = {}
    for name in WORKERS:
        host = deployed.host(name)
        assert host.cpus is not None and host.memory is not None
        expected[host.address] = (len(host.cpus), host.memory // 2**20 - RESERVE_MB)
    assert offered == expected
    env = deployed.ssh("w2", "cat /etc/minispark/minispark-env").stdout
    assert 'MINISPARK_WORKER_CORES="2"' in env and 'MINISPARK_WORKER_MEMORY="3072m"' in env


def _run_pi(lab: Lab, host: str) -> str:
    program = (REPO / "examples" / "pi.py").read_text()
    script = (
        f"cat > /tmp/pi.py <<'PROGRAM'\n{program}\nPROGRAM\n"
        "cd /tmp && runuser -u minispark -- env MINISPARK_CONF_DIR=/etc/minispark "
        "/opt/minispark/venv/bin/minispark submit --conf spark.ui.showConsoleProgress=false "
        "/tmp/pi.py 4"
    )
    done = lab.ssh(host, f"sh -c {shlex.quote(script)}", timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_example_job_runs_on_the_deployed_cluster(deployed: Lab) -> None:
    output = _run_pi(deployed, "m2")
    match = re.search(r"Pi is roughly (\d\.\d+)", output)
    assert match is not None, output
    assert abs(float(match.group(1)) - 3.14159) < 0.05


def test_standby_takes_over_when_the_leader_host_dies(deployed: Lab) -> None:
    webs = _web(deployed, MASTERS)
    leader_web = probes.leader(webs)
    assert leader_web is not None
    leader_host = next(h for h in MASTERS if leader_web.startswith(deployed.host(h).address + ":"))
    deployed.kill_host(leader_host)
    survivors = [h for h in MASTERS if h != leader_host]

    def new_leader() -> tuple[bool, str]:
        found = probes.leader(_web(deployed, survivors))
        return found is not None, f"leader: {found}"

    assert wait_until(new_leader, consecutive=2, interval=1.0, timeout=120).passed
    output = _run_pi(deployed, survivors[0])
    assert "Pi is roughly 3.1" in output
    # The dead host comes back on its own disk; its units start at boot and its master
    # rejoins as a standby.
    deployed.start_host(leader_host)
    rejoined = wait_until(
        lambda: (probes.master_state(leader_web)["status"] == "STANDBY", "waiting"),
        consecutive=2,
        interval=1.0,
        timeout=180,
    )
    assert rejoined.passed, rejoined.reason


def _bumped_wheelhouse(tmp_path: Path) -> Path:
    """A wheelhouse of this checkout with the version raised to 0.1.1, like a new release."""
    source = tmp_path / "release"
    shutil.copytree(
        REPO / "minispark", source / "minispark", ignore=shutil.ignore_patterns("__pycache__")
    )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    for path in (source / "pyproject.toml", source / "minispark" / "__init__.py"):
        text = path.read_text()
        assert '"0.1.0"' in text, path
        path.write_text(text.replace('"0.1.0"', '"0.1.1"', 1))
    built = wheelhouse.build(tmp_path / "wheelhouse", repo=source)
    assert str(built["minispark_wheel"]).startswith("minispark-0.1.1-")
    return tmp_path / "wheelhouse"


def _main_pid(lab: Lab, host: str, unit: str) -> str:
    return lab.ssh(host, f"systemctl show --property MainPID --value {unit}").stdout.strip()


def test_upgrade_rolls_a_new_release_leader_last(deployed: Lab, tmp_path: Path) -> None:
    webs = _web(deployed, MASTERS)
    leader_before = probes.leader(webs)
    zookeeper_pids = {h: _main_pid(deployed, h, "zookeeper") for h in MASTERS}
    directory = _bumped_wheelhouse(tmp_path)
    run = playbook(
        "upgrade.yml",
        deployed.inventory,
        "-e",
        "zookeeper_heap_mb=256",
        "-e",
        "minispark_wheelhouse_build=false",
        "-e",
        f"minispark_wheelhouse_dir={directory}",
    )
    _assert_ok(run)
    TIMINGS.append(f"upgrade.yml to a new release: {run.seconds:.0f}s")
    for host in MASTERS + WORKERS:
        version = deployed.ssh(host, "/opt/minispark/venv/bin/minispark --version").stdout
        assert version.strip() == "minispark 0.1.1", (host, version)
    # The leader went last, so leadership moved once, to an already upgraded standby.
    leader_after = probes.leader(webs)
    assert leader_after is not None and leader_after != leader_before
    # Nothing of ZooKeeper's changed, so no member restarted.
    assert {h: _main_pid(deployed, h, "zookeeper") for h in MASTERS} == zookeeper_pids
    _, state = probes.leading_state(webs)
    assert sorted(w["host"] for w in state["workers"] if w["state"] == "ALIVE") == sorted(
        deployed.host(w).address for w in WORKERS
    )


def test_a_dead_worker_is_removed_then_added_back(
    deployed: Lab, tmp_path: Path, deploy_args: tuple[str, ...]
) -> None:
    webs = _web(deployed, MASTERS)
    address = deployed.host("w3").address
    remove = ("-e", "node=w3", "-e", "confirm=yes")
    # The host is dead: the leader still decommissions its worker and the run succeeds.
    deployed.kill_host("w3")
    try:
        run = playbook("remove_node.yml", deployed.inventory, *remove)
        assert run.returncode == 0, run.explain()
        assert probes.worker_registered(webs, address) is None
    finally:
        # It comes back (its unit still enabled, so its worker registers again); removing
        # it now also uninstalls it from the host.
        deployed.start_host("w3")
    run = playbook("remove_node.yml", deployed.inventory, *remove)
    _assert_ok(run)
    assert probes.worker_registered(webs, address) is None
    gone = deployed.ssh("w3", "ls /etc/systemd/system/minispark-worker.service", check=False)
    assert gone.returncode != 0
    run = playbook("scale.yml", deployed.inventory, *deploy_args, "--limit", "w3")
    _assert_ok(run)
    worker = probes.worker_registered(webs, address)
    assert worker is not None and worker["cores"] == 1


def test_reset_leaves_nothing_behind(deployed: Lab, tmp_path: Path) -> None:
    run = playbook("reset.yml", deployed.inventory, "-e", "confirm=yes")
    _assert_ok(run)
    for host in MASTERS + WORKERS:
        listing = deployed.ssh(
            host,
            "ls -d /etc/systemd/system/minispark-* /etc/systemd/system/zookeeper.service* "
            "/opt/minispark /etc/minispark /var/lib/minispark /var/lib/zookeeper "
            "/etc/zookeeper /opt/zookeeper 2>/dev/null; getent passwd minispark zookeeper; "
            "getent group minispark zookeeper; systemctl list-units --all --no-legend "
            "'minispark-*' zookeeper.service | grep -v not-found",
            check=False,
        )
        assert listing.stdout.strip() == "", (host, listing.stdout)

"""minispark.ops against real daemons: the Python API and ``python3 -m minispark.ops``.

Gate timeouts here are hang guards (the harness's GUARD_S), never speed limits.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from minispark.driver.localcluster import free_port
from minispark.masterurl import format_master_url
from minispark.ops import checks
from minispark.ops.gate import wait_until
from minispark.ops.probes import (
    ProbeError,
    decommission_worker,
    leader,
    master_ready,
    master_state,
    worker_registered,
    zookeeper_mode,
)
from tests.zk.ensemble import Ensemble

from .harness import GUARD_S, Cluster, Daemon, url_of, wait_for

REPO = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"  # the host every harness worker registers with
GATE = ("--interval", "0.1", "--timeout", str(GUARD_S))
SECRET = "correct horse battery staple"
AUTH = ("spark.authenticate=true", f"spark.authenticate.secret={SECRET}")


def run_ops(*args: str) -> subprocess.CompletedProcess[str]:
    """``python3 -m minispark.ops ARGS`` as the playbooks run it, from the checkout."""
    return subprocess.run(
        [sys.executable, "-m", "minispark.ops", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=2 * GUARD_S,  # the gates give up after GUARD_S at most
        check=False,
    )


def ops(*args: str) -> tuple[int, Any, str]:
    """(exit code, the JSON printed or None, stderr)."""
    done = run_ops(*args)
    parsed = json.loads(done.stdout) if done.returncode == 0 and done.stdout[:1] == "{" else None
    return done.returncode, parsed, done.stderr


def web(daemon: Daemon) -> str:
    return f"127.0.0.1:{daemon.webui_port}"


def dead_address() -> str:
    return f"127.0.0.1:{free_port()}"


def assert_one_line_failure(code: int, stderr: str, *fragments: str) -> None:
    assert code == 1, stderr
    assert stderr.count("\n") == 1 and "Traceback" not in stderr, stderr
    for fragment in fragments:
        assert fragment in stderr


def test_master_and_worker_through_the_api(cluster: Cluster) -> None:
    master = cluster.master()
    cluster.worker(url_of(master), cores=1, memory="512m")
    check = checks.WorkerAlive([web(master)], HOST, cores=1, memory_mb=512)
    result = wait_until(check, consecutive=2, interval=0.1, timeout=GUARD_S)
    assert result.passed, result.reason

    assert master_state(web(master))["status"] == "ALIVE"
    assert master_ready(web(master)) is True
    assert leader([dead_address(), web(master)]) == web(master)
    entry = worker_registered([web(master)], HOST)
    assert entry is not None and entry == check.worker
    assert (entry["cores"], entry["memory"], entry["state"]) == (1, 512, "ALIVE")

    assert decommission_worker(web(master), HOST) == [entry["id"]]
    assert worker_registered([web(master)], HOST) is None
    assert [w["state"] for w in master_state(web(master))["workers"]] == ["DECOMMISSIONED"]
    assert decommission_worker(web(master), HOST) == []  # a second time changes nothing


def test_master_and_worker_through_the_command_line(cluster: Cluster) -> None:
    master = cluster.master()
    code, out, err = ops("wait-master", web(master), "--status", "ALIVE", *GATE)
    assert (code, out["master"], out["status"]) == (0, web(master), "ALIVE"), err
    cluster.worker(url_of(master), cores=1, memory="512m")

    code, out, err = ops(
        "wait-worker", web(master), HOST, "--cores", "1", "--memory-mb", "512", *GATE
    )
    assert code == 0, err
    assert (out["host"], out["cores"], out["memory"], out["state"]) == (HOST, 1, 512, "ALIVE")
    worker_id = out["id"]

    code, state, err = ops("master-state", web(master))
    assert (code, state["master"], state["status"]) == (0, web(master), "ALIVE"), err
    assert [w["id"] for w in state["workers"]] == [worker_id]

    code, _, err = ops("wait-worker", web(master), HOST, "--cores", "2", "--timeout", "0")
    assert_one_line_failure(code, err, "offers 1 cores and 512 MiB, not 2 cores")

    code, out, err = ops("decommission", web(master), HOST)
    assert (code, out) == (0, {"master": web(master), "host": HOST, "decommissioned": [worker_id]})
    code, out, err = ops("decommission", web(master), HOST)
    assert (code, out["decommissioned"]) == (0, [])

    code, _, err = ops("wait-worker", web(master), HOST, "--timeout", "0")
    assert_one_line_failure(code, err, f"lists no ALIVE worker on {HOST}")
    done = run_ops("snapshot", "--masters", web(master), "--format", "table")
    assert done.returncode == 0, done.stderr
    assert worker_id in done.stdout and "DECOMMISSIONED" in done.stdout


def test_unreachable_addresses_fail_in_one_line() -> None:
    address = dead_address()
    refused = f"{address}: cannot connect: Connection refused"
    code, out, err = ops("master-state", address)
    assert (code, out["status"], out["reason"]) == (0, "UNREACHABLE", f"master {refused}"), err
    assert_one_line_failure(*_without_output(ops("zk-mode", address)), refused)
    for argv in (
        ["wait-zk", address, "--timeout", "0"],
        ["wait-master", address, "--timeout", "0"],
        ["wait-leader", address, "--timeout", "0"],
        ["wait-worker", address, HOST, "--timeout", "0"],
        ["decommission", address, HOST],
    ):
        code, _, err = ops(*argv)
        assert_one_line_failure(code, err, address)


def _without_output(result: tuple[int, Any, str]) -> tuple[int, str]:
    code, out, err = result
    assert out is None
    return code, err


def test_an_authenticated_cluster_needs_the_secret_to_decommission(
    cluster: Cluster, tmp_path: Path
) -> None:
    master = cluster.master(*AUTH)
    cluster.worker(url_of(master), *AUTH)
    cluster.wait_registered(master, 1)
    secret_file = tmp_path / "secret"
    secret_file.write_text(SECRET + "\n")

    with pytest.raises(ProbeError, match="needs the cluster secret"):
        decommission_worker(web(master), HOST)
    code, _, err = ops("decommission", web(master), HOST)
    assert_one_line_failure(code, err, "needs the cluster secret")

    code, out, err = ops("--secret-file", str(secret_file), "decommission", web(master), HOST)
    assert code == 0, err
    assert len(out["decommissioned"]) == 1
    assert SECRET not in json.dumps(out) + err


def _ha_conf(zk: Ensemble) -> tuple[str, ...]:
    return (
        "spark.deploy.recoveryMode=ZOOKEEPER",
        f"spark.deploy.zookeeper.url={zk.connect_string}",
        f"spark.deploy.zookeeper.dir=/minispark-ops-{uuid.uuid4().hex[:8]}",
        "minispark.zookeeper.sessionTimeout=3s",
    )


@pytest.mark.zookeeper
def test_zookeeper_modes_and_a_leader_among_ha_masters(
    cluster: Cluster, zk_ensemble: Ensemble
) -> None:
    members = [m.address for m in zk_ensemble.members]
    assert sorted(zookeeper_mode(m) for m in members) == ["follower", "follower", "leader"]
    modes = []
    for member in members:
        code, out, err = ops("zk-mode", member)
        assert (code, out["member"]) == (0, member), err
        modes.append(out["mode"])
        code, out, err = ops("wait-zk", member, *GATE)
        assert (code, out["mode"]) == (0, modes[-1]), err
    assert sorted(modes) == ["follower", "follower", "leader"]

    conf = _ha_conf(zk_ensemble)
    first = cluster.master(*conf)
    code, _, err = ops("wait-master", web(first), "--status", "ALIVE", *GATE)
    assert code == 0, err
    second = cluster.master(*conf)
    code, out, err = ops("wait-master", web(second), "--status", "STANDBY", *GATE)
    assert (code, out["status"]) == (0, "STANDBY"), err
    masters = f"{web(first)},{web(second)}"
    code, out, err = ops("wait-leader", masters, *GATE)
    assert (code, out["leader"]) == (0, web(first)), err
    code, out, err = ops("master-state", web(second))
    assert (code, out["status"]) == (0, "STANDBY"), err

    cluster.worker(format_master_url([(HOST, first.port), (HOST, second.port)]))
    code, out, err = ops("wait-worker", masters, HOST, *GATE)
    assert (code, out["state"]) == (0, "ALIVE"), err

    code, snap, err = ops("snapshot", "--masters", masters, "--zookeepers", ",".join(members))
    assert code == 0, err
    assert sorted(z["state"] for z in snap["zookeepers"]) == ["follower", "follower", "leader"]
    assert [m["state"] for m in snap["masters"]] == ["ALIVE", "STANDBY"]
    assert snap["leader"] == web(first) and len(snap["workers"]) == 1

    # A stopped leader hands over; wait-leader follows it to the standby.
    first.signal(signal.SIGTERM)
    first.proc.wait(GUARD_S)
    code, out, err = ops("wait-leader", masters, *GATE)
    assert (code, out["leader"]) == (0, web(second)), err


@pytest.mark.zookeeper
def test_wait_zk_on_stopped_members_fails_with_the_reason(zk_ensemble: Ensemble) -> None:
    leading = zk_ensemble.leader()
    stopped = zk_ensemble.member((leading + 1) % zk_ensemble.size)
    stopped.stop()
    refused = f"zookeeper {stopped.address}: cannot connect: Connection refused"
    with pytest.raises(ProbeError) as caught:
        zookeeper_mode(stopped.address)
    assert str(caught.value) == refused
    code, _, err = ops("wait-zk", stopped.address, "--interval", "0.2", "--timeout", "1")
    assert_one_line_failure(
        code, err, f"gave up waiting for zookeeper {stopped.address} to serve in a quorum", refused
    )

    # The last member of three, alone, runs but does not serve: srvr says so.
    zk_ensemble.stop_majority()
    (survivor,) = [m for m in zk_ensemble.members if m.running]

    def not_serving() -> str | None:
        try:
            zookeeper_mode(survivor.address)
        except ProbeError as exc:
            return str(exc) if "is not serving" in str(exc) else None
        return None

    said = wait_for(not_serving, "the lone member to stop serving")
    assert said == (
        f"zookeeper {survivor.address} is not serving: "
        "This ZooKeeper instance is not currently serving requests"
    )
    code, _, err = ops("wait-zk", survivor.address, "--timeout", "0")
    assert_one_line_failure(code, err, said)

    stopped.start()
    code, out, err = ops("wait-zk", stopped.address, "--interval", "0.2", "--timeout", str(GUARD_S))
    assert code == 0, err
    assert out["mode"] in ("leader", "follower")

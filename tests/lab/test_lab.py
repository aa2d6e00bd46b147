"""The lab itself, for real: six hosts up, each checked over SSH, faults, and a clean teardown.

The tests run in file order against one lab; the last one tears it down and checks that
nothing is left. Waits are bounded by timeouts; no assertion is about wall-clock time.
"""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path
from typing import Any

import pytest

from tests.lab import cgroups, inventory, network, procs, shell
from tests.lab.lab import Lab
from tests.lab.layout import HostSpec, default_layout

pytestmark = pytest.mark.lab

LAYOUT: dict[str, HostSpec] = {spec.name: spec for spec in default_layout()}

# Runs inside a host: what the host says about itself, as JSON.
PROBE = r"""
import json, os, socket, subprocess
def first(*paths):
    for path in paths:
        if os.path.exists(path):
            return open(path).read().strip()
    return None
state = subprocess.run(["systemctl", "is-system-running"], capture_output=True, text=True)
addrs = subprocess.run(["ip", "-4", "-o", "addr", "show", "dev", "host0"],
                       capture_output=True, text=True).stdout.split()
print(json.dumps({
    "hostname": socket.gethostname(),
    "addresses": [a.split("/")[0] for a in addrs if a.count(".") == 3 and "/" in a],
    "system": state.stdout.strip(),
    "affinity": sorted(os.sched_getaffinity(0)),
    "memory_limit": first("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                          "/sys/fs/cgroup/memory.max"),
    "resolves": {n: socket.gethostbyname(n) for n in NAMES},
}))
"""


def probe(lab: Lab, name: str) -> dict[str, Any]:
    code = PROBE.replace("NAMES", repr(sorted(LAYOUT)))
    result: dict[str, Any] = json.loads(lab.ssh(name, f"python3 -c {shlex.quote(code)}").stdout)
    return result


def reachable(lab: Lab, source: str, target: str) -> bool:
    """Whether `source` can open a TCP connection to sshd on `target` (2s connect timeout)."""
    address = LAYOUT[target].address
    code = f"import socket; socket.create_connection(('{address}', 22), timeout=2).close()"
    return lab.ssh(source, f"python3 -c {shlex.quote(code)}", check=False).returncode == 0


def test_every_host_has_its_name_address_systemd_and_limits(lab: Lab) -> None:
    machine_cpus = sorted(os.sched_getaffinity(0))
    for name, spec in LAYOUT.items():
        seen = probe(lab, name)
        assert seen["hostname"] == name
        assert seen["addresses"] == [str(spec.address)]
        assert seen["system"] in {"running", "degraded"}
        expected_cpus = lab.host(name).cpus or machine_cpus
        assert seen["affinity"] == expected_cpus
        if spec.cpus is not None:
            assert len(seen["affinity"]) == spec.cpus
        assert int(seen["memory_limit"]) == spec.memory
        assert seen["resolves"] == {n: str(s.address) for n, s in LAYOUT.items()}


def test_workers_have_different_limits(lab: Lab) -> None:
    workers = [probe(lab, name) for name in ("w1", "w2", "w3")]
    assert [len(w["affinity"]) for w in workers] == [1, 2, 1]
    assert len({w["memory_limit"] for w in workers}) == 3
    assert workers[0]["affinity"] != workers[2]["affinity"]


def test_inventory_describes_the_lab(lab: Lab) -> None:
    written = inventory.read(lab.inventory)["all"]
    assert written["vars"]["ansible_user"] == "root"
    assert Path(written["vars"]["ansible_ssh_private_key_file"]).is_file()
    assert "StrictHostKeyChecking=no" in written["vars"]["ansible_ssh_common_args"]
    for name, spec in LAYOUT.items():
        assert written["hosts"][name]["ansible_host"] == str(spec.address)
    for group in ("zookeeper", "minispark_master", "minispark_worker", "minispark_history"):
        members = sorted(written["children"][group]["hosts"])
        assert members == sorted(n for n, s in LAYOUT.items() if group in s.groups)
    myids = {n: written["hosts"][n].get("zookeeper_myid") for n in ("m1", "m2", "m3")}
    assert myids == {"m1": 1, "m2": 2, "m3": 3}


def test_hosts_reach_each_other(lab: Lab) -> None:
    assert reachable(lab, "m1", "w3")
    assert reachable(lab, "w3", "m1")


def test_killed_host_is_gone_and_restarts_on_its_disk(lab: Lab) -> None:
    lab.ssh("w3", "echo kept > /root/marker && sync")
    before = lab.host("w3")
    assert before.proc is not None
    lab.kill_host("w3")
    assert not procs.is_alive(before.proc)
    assert cgroups.pids(before.cgroups) == set()
    assert lab.ssh("w3", "true", check=False).returncode != 0
    assert lab.ssh("w1", "true").returncode == 0  # the others are unaffected

    lab.start_host("w3")
    assert lab.ssh("w3", "cat /root/marker").stdout.strip() == "kept"
    seen = probe(lab, "w3")
    assert seen["system"] in {"running", "degraded"}
    assert seen["affinity"] == before.cpus
    assert int(seen["memory_limit"]) == LAYOUT["w3"].memory


def test_cut_host_is_unreachable_until_healed(lab: Lab) -> None:
    lab.cut("w2")
    assert lab.ssh("w2", "true", check=False).returncode != 0
    assert not reachable(lab, "m1", "w2")
    assert reachable(lab, "m1", "w1")
    lab.heal("w2")
    assert lab.ssh("w2", "hostname").stdout.strip() == "w2"
    assert reachable(lab, "m1", "w2")


def test_powered_off_host_boots_again(lab: Lab) -> None:
    before = lab.host("m3")
    assert before.proc is not None
    lab.poweroff("m3")
    assert not procs.is_alive(before.proc)
    lab.start_host("m3")
    assert probe(lab, "m3")["system"] in {"running", "degraded"}


def test_stopped_and_killed_units(lab: Lab) -> None:
    lab.ssh(
        "m1",
        "systemd-run --unit=lab-probe-a sleep 600; systemd-run --unit=lab-probe-b "
        "--property=Restart=no sleep 600",
    )
    lab.stop_unit("m1", "lab-probe-a")
    lab.kill_unit("m1", "lab-probe-b")
    states = lab.ssh("m1", "systemctl is-active lab-probe-a lab-probe-b", check=False)
    assert states.stdout.split() in (["inactive", "failed"], ["inactive", "inactive"])


def test_delayed_host_still_answers_through_the_delayer(lab: Lab) -> None:
    lab.delay("m2", 100)
    host = lab.host("m2")
    assert host.delayer is not None and procs.is_alive(host.delayer)
    assert all(network.rule_present(rule) for rule in host.delay_rules)
    assert lab.ssh("m2", "hostname").stdout.strip() == "m2"
    assert reachable(lab, "m1", "m2")
    log = Path(host.upper).parent / "delayer.log"
    lab.undelay("m2")
    assert not procs.is_alive(host.delayer)
    assert not any(network.rule_present(rule) for rule in host.delay_rules)
    released = int(log.read_text().split("released ")[1].split()[0])
    assert released > 0  # the packets of the SSH session above went through the delayer


def test_teardown_leaves_nothing_behind(lab: Lab) -> None:
    state = lab.state()
    host_procs = [h.proc for h in state.hosts.values() if h.proc]
    groups = [path for h in state.hosts.values() for path in h.cgroups]
    lab.down()
    assert not any(procs.is_alive(proc) for proc in host_procs)
    assert not any(Path(path).exists() for path in groups)
    assert not [p for h in cgroups.hierarchies() for p in h.mount.glob("minispark-lab-*")]
    assert not network.link_exists(state.bridge)
    assert not any(network.link_exists(network.veth(name)) for name in state.hosts)
    assert not any(network.rule_present(rule) for rule in state.nat_rules)
    assert "minispark-lab" not in iptables_rules()
    assert network.read_ip_forward() == state.ip_forward_before
    assert not lab.settings.state_file.exists()
    assert not lab.settings.hosts_dir.exists()
    lab.down()  # idempotent


def iptables_rules() -> str:
    tables = ("filter", "nat")
    return "".join(shell.run(["iptables", "-w", "10", "-t", t, "-S"]).stdout for t in tables)

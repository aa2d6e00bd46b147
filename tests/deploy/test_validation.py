"""The validation play refuses bad inventories before any host is contacted.

Each inventory below names lab addresses that are never reached: the first play runs on the
controller, without facts, and stops the run with a message that names the fix.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.ansible import playbook

MASTERS = {"m1": "10.77.0.11", "m2": "10.77.0.12", "m3": "10.77.0.13"}


def _inventory(
    tmp_path: Path,
    *,
    zookeeper: dict[str, dict[str, Any]] | None = None,
    masters: list[str] | None = None,
    workers: dict[str, dict[str, Any]] | None = None,
    extra: dict[str, Any] | None = None,
    history: dict[str, dict[str, Any]] | None = None,
) -> Path:
    """A YAML inventory (JSON is YAML) with the given groups and host variables."""
    hosts: dict[str, dict[str, Any]] = {}
    children: dict[str, Any] = {}
    groups = (
        ("zookeeper", zookeeper),
        ("minispark_worker", workers),
        ("minispark_history", history),
    )
    for group, members in groups:
        if members is not None:
            children[group] = {"hosts": {h: None for h in members}}
            for name, variables in members.items():
                hosts.setdefault(name, {"ansible_host": MASTERS.get(name, "10.77.0.14")})
                hosts[name].update(variables)
    masters = list(MASTERS) if masters is None else masters
    children["minispark_master"] = {"hosts": {h: None for h in masters}}
    for name in masters:
        hosts.setdefault(name, {"ansible_host": MASTERS.get(name, "10.77.0.19")})
    data = {"all": {"vars": extra or {}, "hosts": hosts, "children": children}}
    path = tmp_path / "inventory.yml"
    path.write_text(json.dumps(data))
    return path


def _refused(inventory: Path, *needles: str) -> None:
    run = playbook("site.yml", inventory, timeout=300)
    assert run.returncode != 0, run.explain()
    for needle in needles:
        assert needle in run.output, run.explain()
    # Nothing ran on any cluster host: the only recap line is the controller's.
    assert set(run.recap) == {"localhost"}, run.recap


ENSEMBLE = {"m1": {"zookeeper_myid": 1}, "m2": {"zookeeper_myid": 2}, "m3": {"zookeeper_myid": 3}}


def test_even_ensemble_is_refused(tmp_path: Path) -> None:
    two = {"m1": {"zookeeper_myid": 1}, "m2": {"zookeeper_myid": 2}}
    _refused(_inventory(tmp_path, zookeeper=two), "odd number", "has 2 hosts")


def test_missing_myid_is_refused(tmp_path: Path) -> None:
    members = {**ENSEMBLE, "m3": {}}
    _refused(_inventory(tmp_path, zookeeper=members), "m3 has no zookeeper_myid")


@pytest.mark.parametrize("bad", [0, 256, "two"])
def test_out_of_range_myid_is_refused(tmp_path: Path, bad: object) -> None:
    members = {**ENSEMBLE, "m2": {"zookeeper_myid": bad}}
    _refused(_inventory(tmp_path, zookeeper=members), f"m2 has zookeeper_myid {bad}")


def test_duplicate_myid_is_refused(tmp_path: Path) -> None:
    members = {**ENSEMBLE, "m3": {"zookeeper_myid": 2}}
    _refused(_inventory(tmp_path, zookeeper=members), "zookeeper_myid values repeat")


def test_zookeeper_mode_without_zookeeper_group_is_refused(tmp_path: Path) -> None:
    inventory = _inventory(tmp_path, extra={"minispark_recovery_mode": "ZOOKEEPER"})
    _refused(inventory, "the zookeeper group is empty")


def test_several_masters_without_zookeeper_are_refused(tmp_path: Path) -> None:
    _refused(_inventory(tmp_path), "3 masters with recovery mode NONE", "split brain")


def test_colliding_ports_are_refused(tmp_path: Path) -> None:
    # A worker on a master host, with its web port on the master's.
    workers = {"m1": {"minispark_worker_webui_port": 8080}}
    inventory = _inventory(tmp_path, zookeeper=ENSEMBLE, workers=workers)
    _refused(inventory, "m1 would use ports 7077, 8080, 7078, 8080")


def test_two_history_servers_are_refused(tmp_path: Path) -> None:
    inventory = _inventory(tmp_path, zookeeper=ENSEMBLE, history={"m1": {}, "m2": {}})
    _refused(inventory, "The minispark_history group has 2 hosts (m1, m2)", "keep one host")


def test_a_history_port_on_the_masters_is_refused(tmp_path: Path) -> None:
    history = {"m1": {"minispark_history_webui_port": 8080}}
    inventory = _inventory(tmp_path, zookeeper=ENSEMBLE, history=history)
    _refused(inventory, "m1 would use ports 7077, 8080, 2181, 2888, 3888, 8080", "history web")


def test_bad_worker_size_is_refused(tmp_path: Path) -> None:
    workers = {"w1": {"minispark_worker_cores": 0}}
    inventory = _inventory(tmp_path, zookeeper=ENSEMBLE, workers=workers)
    _refused(inventory, "w1: minispark_worker_cores must be a whole number >= 1")


def test_unknown_recovery_mode_is_refused(tmp_path: Path) -> None:
    inventory = _inventory(tmp_path, masters=["m1"], extra={"minispark_recovery_mode": "ZK"})
    _refused(
        inventory, "minispark_recovery_mode must be one of: ZOOKEEPER, NONE, FILESYSTEM, got: ZK"
    )

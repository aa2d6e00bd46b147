"""The lab's pure parts (no root needed): sizes, layouts, CPU sets, apt sources, inventory."""

from __future__ import annotations

import json
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

import pytest

from tests.lab import aptsource, image, inventory
from tests.lab.errors import LabError
from tests.lab.layout import (
    GiB,
    MiB,
    assign_cpusets,
    default_layout,
    parse_cpulist,
    parse_size,
    spec_from_option,
    specs_from_json,
)
from tests.lab.state import HostState

NET = IPv4Network("10.77.0.0/24")


def test_sizes_are_binary() -> None:
    assert parse_size("3G") == parse_size("3GiB") == 3 * GiB
    assert parse_size("512M") == 512 * MiB
    assert parse_size(1234) == 1234
    with pytest.raises(LabError):
        parse_size("three gigs")


def test_default_layout_is_the_seeds() -> None:
    layout = {spec.name: spec for spec in default_layout()}
    assert list(layout) == ["m1", "m2", "m3", "w1", "w2", "w3"]
    addresses = [str(spec.address) for spec in layout.values()]
    assert addresses == [f"10.77.0.{i}" for i in range(11, 17)]
    assert layout["m1"].groups == ("zookeeper", "minispark_master", "minispark_history")
    assert all(layout[m].groups == ("zookeeper", "minispark_master") for m in ("m2", "m3"))
    assert [(layout[w].cpus, layout[w].memory) for w in ("w1", "w2", "w3")] == [
        (1, 3 * GiB),
        (2, 4 * GiB),
        (1, 2 * GiB),
    ]


def test_json_hosts_get_free_addresses_and_reject_bad_names() -> None:
    specs = specs_from_json(
        json.dumps(
            [{"name": "a", "address": "10.77.0.11"}, {"name": "b", "memory": "2G", "image": "x"}]
        ),
        NET,
    )
    assert [s.address for s in specs] == [IPv4Address("10.77.0.11"), IPv4Address("10.77.0.12")]
    assert specs[1].memory == 2 * GiB
    with pytest.raises(LabError):
        specs_from_json('[{"name": "Way_Too_Long_Name"}]', NET)
    with pytest.raises(LabError):
        specs_from_json('[{"name": "a"}, {"name": "a"}]', NET)
    with pytest.raises(LabError):
        specs_from_json('[{"name": "a", "memory": "1G"}]', NET)


def test_host_option() -> None:
    row = spec_from_option("zk1,groups=zookeeper+minispark_master,cpus=1,memory=2G", NET)
    assert row == {
        "name": "zk1",
        "groups": ["zookeeper", "minispark_master"],
        "cpus": "1",
        "memory": "2G",
    }


def test_cpusets_spread_over_the_machine() -> None:
    sets = assign_cpusets(default_layout(), [0, 1])
    assert sets == {"w1": [0], "w2": [0, 1], "w3": [1]}
    assert parse_cpulist("0-2,5") == [0, 1, 2, 5]
    with pytest.raises(LabError):
        assign_cpusets(default_layout(), [0])


def test_mirror_comes_from_the_apt_configuration(tmp_path: Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://mirror.invalid/debian\nSuites: bookworm bookworm-updates\n"
        "Components: main\n\nTypes: deb\nURIs: http://other.invalid/x\nSuites: bookworm\n"
        "Components: main\nEnabled: no\n"
    )
    assert aptsource.debian_mirror("bookworm", tmp_path, {}) == "http://mirror.invalid/debian"
    assert aptsource.debian_mirror("bookworm", tmp_path, {"MINISPARK_LAB_MIRROR": "m"}) == "m"
    with pytest.raises(LabError):
        aptsource.debian_mirror("trixie", tmp_path, {})
    line = "deb [arch=amd64 signed-by=/k.gpg] http://h/d bookworm main"
    one_line = list(aptsource.parse_one_line(line))
    assert one_line[0]["uris"] == ["http://h/d"] and one_line[0]["signed-by"] == ["/k.gpg"]


def test_image_key_follows_the_package_list() -> None:
    base = image.Recipe("bookworm", "amd64")
    assert base.key == image.Recipe("bookworm", "amd64").key
    assert base.key != image.Recipe("bookworm", "amd64", (*image.PACKAGES, "vim")).key
    assert not {"openjdk-17-jre-headless", "zookeeper", "python3-venv"} & set(image.PACKAGES)


def test_inventory_round_trips(tmp_path: Path) -> None:
    hosts = [
        HostState(
            s.name, str(s.address), list(s.groups), [0] if s.cpus else None, s.memory, "/u", "/l"
        )
        for s in default_layout()
    ]
    path = tmp_path / "inventory.yml"
    path.write_text(inventory.text(hosts, Path("/key")))
    data = inventory.read(path)["all"]
    assert data["hosts"]["m2"] == {
        "ansible_host": "10.77.0.12",
        "zookeeper_myid": 2,
        "lab_memory_bytes": 2 * GiB,
    }
    assert sorted(data["children"]["minispark_worker"]["hosts"]) == ["w1", "w2", "w3"]
    assert data["vars"]["ansible_ssh_private_key_file"] == "/key"

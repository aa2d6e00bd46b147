"""Reading the Ansible inventory: canned ``ansible-inventory --list`` JSON, the real command,
and the SSH settings Fabric gets from it."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from minispark.ops.errors import UsageError
from minispark.ops.inventory import Host, choose_source, load, unwrap
from minispark.ops.sshargs import settings_for
from tests.unit.opsfakes import LISTING, canned_inventory

HOSTS_YML = """\
all:
  vars:
    ansible_user: root
  children:
    zookeeper:
      hosts:
        z1: {ansible_host: 127.0.0.1, zookeeper_myid: 1, zookeeper_client_port: 1}
    minispark_master:
      hosts:
        z1: {minispark_master_webui_port: 2}
    minispark_worker:
      children:
        rack:
          hosts:
            w1: {ansible_host: 127.0.0.2}
"""


def one_line(exc: pytest.ExceptionInfo[UsageError]) -> str:
    message = str(exc.value)
    assert "\n" not in message
    return message


# ---- the canned JSON ------------------------------------------------------------------


def test_groups_include_children_in_inventory_order() -> None:
    inv = canned_inventory()
    assert list(inv.hosts) == ["m1", "m2", "m3", "w1", "w2", "w3"]
    assert [h.name for h in inv.zookeepers] == ["m1", "m2", "m3"]
    assert [h.name for h in inv.masters] == ["m1", "m2", "m3"]
    assert [h.name for h in inv.workers] == ["w1", "w2", "w3"]  # through rack1 and rack2
    assert set(inv.hosts["w2"].groups) == {"minispark_worker", "rack1"}
    assert set(inv.hosts["m1"].groups) == {"zookeeper", "minispark_master"}


def test_addresses_come_from_hostvars_with_the_roles_defaults() -> None:
    inv = canned_inventory()
    m1, m2, m3, w3 = (inv.hosts[n] for n in ("m1", "m2", "m3", "w3"))
    assert (m1.master_web, m1.zookeeper_address) == ("10.77.0.11:8080", "10.77.0.11:2181")
    assert m2.master_web == "10.77.0.12:18080"
    assert m3.zookeeper_address == "10.77.0.13:2182"
    assert (w3.address, w3.advertise) == ("10.77.0.16", "w3.internal")
    assert inv.hosts["w1"].address == "10.77.0.14"  # unwrapped from __ansible_unsafe
    assert m1.units == ["zookeeper", "minispark-master"]
    assert inv.hosts["w1"].units == ["minispark-worker"]
    assert m1.home == "/opt/minispark"


def test_unsafe_wrappers_are_removed_everywhere() -> None:
    raw = json.loads(LISTING.read_text())["_meta"]["hostvars"]["w1"]
    assert unwrap(raw)["ansible_default_ipv4"] == {"address": "10.77.0.14", "interface": "host0"}
    assert unwrap(raw)["gather_subset"] == ["min"]


def test_unknown_hosts_are_one_line_errors_that_list_the_hosts() -> None:
    inv = canned_inventory()
    assert inv.host("10.77.0.14").name == "w1"  # an ansible_host works too
    with pytest.raises(UsageError) as exc:
        inv.host("w9")
    assert one_line(exc) == "unknown host 'w9': inventory inventory/test has m1, m2, m3, w1, w2, w3"
    with pytest.raises(UsageError) as exc:
        inv.in_group("m1", "minispark_worker", "worker")
    assert one_line(exc) == "m1 is not a worker (the minispark_worker group has w1, w2, w3)"


def test_templates_and_vaulted_values_are_refused_by_name() -> None:
    host = Host("m1", ("minispark_master",), {"minispark_master_webui_port": "{{ web_port }}"})
    with pytest.raises(UsageError) as exc:
        _ = host.master_web
    assert "m1: minispark_master_webui_port is a Jinja template" in one_line(exc)
    vaulted = unwrap({"ansible_host": {"__ansible_vault": "$ANSIBLE_VAULT;1.1;AES256..."}})
    with pytest.raises(UsageError, match="ansible_host is vault-encrypted"):
        _ = Host("m1", (), vaulted).address
    with pytest.raises(UsageError, match="not a port number"):
        _ = Host("m1", (), {"zookeeper_client_port": "many"}).zookeeper_address


def test_ipv6_addresses_are_bracketed() -> None:
    assert Host("m1", (), {"ansible_host": "fd00::1"}).master_web == "[fd00::1]:8080"


# ---- choosing and loading ---------------------------------------------------------------


def test_the_inventory_must_be_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("MINISPARK_INVENTORY", raising=False)
    with pytest.raises(UsageError) as exc:
        choose_source(None)
    assert one_line(exc).startswith("no inventory: pass -i PATH or set MINISPARK_INVENTORY")
    monkeypatch.setenv("MINISPARK_INVENTORY", "from-env")
    assert choose_source(None) == "from-env"
    assert choose_source("from-option") == "from-option"
    monkeypatch.delenv("MINISPARK_INVENTORY")
    # fab's own -i: an inventory is taken as the inventory, a private key is not.
    key = tmp_path / "id_ed25519"
    key.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn...\n")
    assert choose_source(None, [str(key), "inventory/site"]) == "inventory/site"
    with pytest.raises(UsageError):
        choose_source(None, [str(key)])


def fake_ansible_inventory(
    tmp_path: Path, stdout: str, stderr: str = "", code: int = 0
) -> list[str]:
    script = tmp_path / "ansible-inventory"
    script.write_text(
        "import sys\n"
        f"sys.stdout.write({stdout!r}); sys.stderr.write({stderr!r}); sys.exit({code})\n"
    )
    return [sys.executable, str(script)]


def test_load_runs_ansible_inventory_and_parses_its_json(tmp_path: Path) -> None:
    command = fake_ansible_inventory(tmp_path, LISTING.read_text())
    inv = load(str(tmp_path), command=command)
    assert [h.name for h in inv.workers] == ["w1", "w2", "w3"]
    assert inv.source == str(tmp_path)


def test_an_unreadable_inventory_is_one_line_with_ansibles_reason(tmp_path: Path) -> None:
    stderr = (
        "[WARNING]: Failed to parse inventory with 'auto' plugin: YAML parsing failed: "
        "While parsing a flow node did not find expected node content.\n\n"
        "Failed to parse inventory with 'auto' plugin.\n"
        "[WARNING]: Unable to parse /x.yml as an inventory source\n"
        "[ERROR]: No inventory was parsed, please check your configuration and options.\n"
    )
    command = fake_ansible_inventory(tmp_path, "", stderr, 1)
    with pytest.raises(UsageError) as exc:
        load(str(tmp_path), command=command)
    assert one_line(exc) == (
        f"cannot read inventory {tmp_path}: No inventory was parsed, please check your "
        "configuration and options. (Failed to parse inventory with 'auto' plugin: YAML "
        "parsing failed: While parsing a flow node did not find expected node content.)"
    )
    with pytest.raises(UsageError) as exc:
        load(str(tmp_path / "missing"))
    assert one_line(exc).endswith("missing: no such file or directory")
    with pytest.raises(UsageError, match="is not installed"):
        load(str(tmp_path), command=[str(tmp_path / "no-such-program")])
    empty = fake_ansible_inventory(tmp_path, json.dumps({"_meta": {"hostvars": {}}, "all": {}}))
    with pytest.raises(UsageError, match="is it a minispark inventory"):
        load(str(tmp_path), command=empty)


@pytest.mark.skipif(shutil.which("ansible-inventory") is None, reason="needs ansible-core")
def test_the_real_ansible_inventory_reads_yaml_and_ini(tmp_path: Path) -> None:
    (tmp_path / "hosts.yml").write_text(HOSTS_YML)
    inv = load(str(tmp_path / "hosts.yml"))
    assert (inv.hosts["z1"].master_web, inv.hosts["z1"].zookeeper_address) == (
        "127.0.0.1:2",
        "127.0.0.1:1",
    )
    assert [h.name for h in inv.workers] == ["w1"]
    (tmp_path / "hosts.ini").write_text("[minispark_worker]\nw1 ansible_host=127.0.0.2\n")
    assert load(str(tmp_path / "hosts.ini")).hosts["w1"].address == "127.0.0.2"
    (tmp_path / "broken.yml").write_text("all: [\n")
    with pytest.raises(UsageError) as exc:
        load(str(tmp_path / "broken.yml"))
    assert one_line(exc).startswith(f"cannot read inventory {tmp_path / 'broken.yml'}:")


# ---- SSH settings -----------------------------------------------------------------------


def test_ssh_settings_follow_the_inventory() -> None:
    inv = canned_inventory()
    m1 = settings_for(inv.hosts["m1"])
    assert (m1.host, m1.port, m1.user) == ("10.77.0.11", 22, "root")
    assert m1.key_files == ["/var/cache/minispark-lab/id_ed25519"]
    assert (m1.checks_host_keys, m1.reads_known_hosts, m1.ignored) == (False, False, [])
    w2 = settings_for(inv.hosts["w2"], ["~/.ssh/extra"])
    assert (w2.port, w2.user) == (2222, "ops")
    assert w2.key_files == ["/var/cache/minispark-lab/id_ed25519", "~/.ssh/extra"]


def test_ssh_arguments_are_translated_or_reported() -> None:
    args = (
        "-o ProxyJump=bastion -oUserKnownHostsFile=~/.ssh/site_hosts -i ~/.ssh/k -p 2200 "
        "-l admin -o 'ProxyCommand none' -o ControlMaster=auto -o ForwardX11=yes -A -q"
    )
    settings = settings_for(Host("h", (), {"ansible_ssh_common_args": args}))
    assert settings.proxy_jump == "bastion"
    assert settings.known_hosts == "~/.ssh/site_hosts"
    assert (settings.port, settings.user, settings.key_files) == (2200, "admin", ["~/.ssh/k"])
    assert (settings.proxy_command, settings.forward_agent) == (None, True)
    assert settings.checks_host_keys and settings.reads_known_hosts  # ssh's default: ask
    assert settings.ignored == ["forwardx11=yes"]
    # Inventory variables win over the same settings in the arguments, as in Ansible.
    both = {"ansible_ssh_extra_args": "-p 2200 -l admin", "ansible_port": 22, "ansible_user": "x"}
    winner = settings_for(Host("h", (), both))
    assert (winner.port, winner.user) == (22, "x")


def test_ssh_settings_refuse_what_fab_cannot_do() -> None:
    with pytest.raises(UsageError, match="ansible_connection=local; fab tasks need SSH"):
        settings_for(Host("h", (), {"ansible_connection": "local"}))
    with pytest.raises(UsageError, match="-o needs a value"):
        settings_for(Host("h", (), {"ansible_ssh_common_args": "-o"}))
    with pytest.raises(UsageError, match="StrictHostKeyChecking=maybe"):
        settings_for(Host("h", (), {"ansible_ssh_common_args": "-o StrictHostKeyChecking=maybe"}))

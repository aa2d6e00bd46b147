"""Where fab finds the cluster secret and CA: the credentials dir the playbooks fill, unless
the environment or the inventory says otherwise; a missing file is named in one line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from minispark.ops import credentials
from minispark.ops.credentials import find, first_secret, inventory_dir
from minispark.ops.errors import UsageError
from minispark.ops.inventory import Inventory, parse
from tests.unit.opscerts import Authority


def inventory(source: Path | str, **master_vars: Any) -> Inventory:
    listing = {
        "_meta": {"hostvars": {"m1": master_vars, "w1": {}}},
        "all": {"children": ["minispark_master", "minispark_worker"]},
        "minispark_master": {"hosts": ["m1"]},
        "minispark_worker": {"hosts": ["w1"]},
    }
    return parse(listing, str(source))


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """An inventory file with the credentials the playbooks make beside it."""
    hosts = tmp_path / "hosts.yml"
    hosts.write_text("all: {}\n")
    creds = tmp_path / "credentials"
    Authority.make(creds)
    (creds / "minispark.secret").write_text("new-secret\nold-secret\n")
    return hosts


def test_the_first_line_is_the_presented_secret() -> None:
    assert first_secret("\n  new \nold\n") == "new"
    assert first_secret("\n \n") is None


def test_inventory_dir_is_the_directory_or_the_files_parent(tmp_path: Path) -> None:
    (tmp_path / "hosts.yml").write_text("")
    assert inventory_dir(str(tmp_path)) == tmp_path
    assert inventory_dir(str(tmp_path / "hosts.yml")) == tmp_path
    assert inventory_dir("10.0.0.1,10.0.0.2") is None


def test_the_credentials_dir_beside_the_inventory_is_the_default(site: Path) -> None:
    found = find(inventory(site), env={})
    assert found.secret == "new-secret"
    assert found.tls is not None and found.tls.ca_file == str(site.parent / "credentials/ca.pem")
    assert found.secret_source == str(site.parent / "credentials/minispark.secret")


def test_a_directory_inventory_keeps_its_credentials_inside(site: Path) -> None:
    assert find(inventory(site.parent), env={}).secret == "new-secret"


def test_minispark_credentials_dir_moves_them(site: Path, tmp_path: Path) -> None:
    (site.parent / "credentials").rename(tmp_path / "elsewhere")
    relative = inventory(site, minispark_credentials_dir="elsewhere")
    assert find(relative, env={}).secret == "new-secret"
    templated = inventory(site, minispark_credentials_dir="{{ inventory_dir }}/elsewhere")
    assert find(templated, env={}).secret == "new-secret"
    with pytest.raises(UsageError, match="minispark_credentials_dir is a Jinja template"):
        find(inventory(site, minispark_credentials_dir="{{ playbook_dir }}/x"), env={})


def test_the_environment_then_the_inventory_then_the_file(site: Path, tmp_path: Path) -> None:
    mine = tmp_path / "mine.secret"
    mine.write_text("from-env\n")
    env = {credentials.SECRET_ENV: str(mine)}
    assert find(inventory(site, minispark_auth_secret="from-inv"), env=env).secret == "from-env"
    assert find(inventory(site, minispark_auth_secret="from-inv"), env={}).secret == "from-inv"
    assert find(inventory(site, minispark_auth_secret=""), env={}).secret == "new-secret"


def test_a_vaulted_secret_says_how_to_pass_it(site: Path) -> None:
    vaulted = inventory(site, minispark_auth_secret={"__ansible_vault": "$ANSIBLE_VAULT;1.1"})
    with pytest.raises(UsageError, match="vault-encrypted: write it to a file and set MINI"):
        find(vaulted, env={})


def test_a_missing_secret_file_is_named(site: Path) -> None:
    path = site.parent / "credentials/minispark.secret"
    path.unlink()
    with pytest.raises(UsageError, match=f"no cluster secret: {path} does not exist; run"):
        find(inventory(site), env={})
    path.write_text("\n")
    with pytest.raises(UsageError, match=f"{path} is empty"):
        find(inventory(site), env={})


def test_a_missing_or_bad_ca_is_named(site: Path, tmp_path: Path) -> None:
    ca = site.parent / "credentials/ca.pem"
    ca.unlink()
    with pytest.raises(UsageError, match=f"CA certificate {ca} does not exist: copy the cluster"):
        find(inventory(site), env={})
    ca.write_text("not a certificate\n")
    with pytest.raises(UsageError, match=f"CA certificate {ca} is not a PEM certificate"):
        find(inventory(site), env={})
    other = Authority.make(tmp_path / "other").ca_file
    assert find(inventory(site), env={credentials.CA_ENV: str(other)}).tls is not None


def test_auth_and_tls_off_need_no_files(tmp_path: Path) -> None:
    hosts = tmp_path / "hosts.yml"
    hosts.write_text("")
    off = inventory(hosts, minispark_auth_enabled=False, minispark_tls_enabled="false")
    found = find(off, env={})
    assert found.secret is None and found.tls is None

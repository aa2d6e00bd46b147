"""The distribution's generated and controller-side files stay in step with the code."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

from minispark.deploy import samplevars, wheelhouse


def test_sample_group_vars_list_every_role_default() -> None:
    assert samplevars.TARGET.read_text() == samplevars.render(), (
        "inventory/sample/group_vars/all.yml is stale: run `python3 -m minispark.deploy.samplevars`"
    )


def test_source_digest_follows_the_package_sources(tmp_path: Path) -> None:
    (tmp_path / "minispark").mkdir()
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    module = tmp_path / "minispark" / "a.py"
    module.write_text("A = 1\n")
    first = wheelhouse.source_digest(tmp_path)
    assert wheelhouse.source_digest(tmp_path) == first
    module.write_text("A = 2\n")
    assert wheelhouse.source_digest(tmp_path) != first


def test_archive_bytes_depend_only_on_the_wheels(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    (wheels / "b-1-py3-none-any.whl").write_bytes(b"b")
    (wheels / "a-1-py3-none-any.whl").write_bytes(b"a")
    wheelhouse._write_archive(wheels, tmp_path / "one.tar")
    (wheels / "a-1-py3-none-any.whl").touch()  # a new mtime must not change the archive
    wheelhouse._write_archive(wheels, tmp_path / "two.tar")
    assert (tmp_path / "one.tar").read_bytes() == (tmp_path / "two.tar").read_bytes()
    with tarfile.open(tmp_path / "one.tar") as tar:
        assert tar.getnames() == ["a-1-py3-none-any.whl", "b-1-py3-none-any.whl"]


def test_wheelhouse_is_built_once_per_source(tmp_path: Path) -> None:
    out = tmp_path / "wh"
    first = wheelhouse.build(out)
    assert first["changed"] is True
    assert first["minispark_wheel"].startswith("minispark-")
    again = wheelhouse.build(out)
    assert again["changed"] is False and again["digest"] == first["digest"]
    assert json.loads(json.dumps(again))["archive"] == str(out / wheelhouse.ARCHIVE)

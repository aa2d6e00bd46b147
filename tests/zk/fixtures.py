"""Pytest plugin: the function-scoped `zk_ensemble` fixture, a started three-member ensemble.

tests/zk/conftest.py loads it for this package; another package can import the fixture in
its own conftest.py (`from tests.zk.fixtures import zk_ensemble`), or the top-level
tests/conftest.py can load it for every package with `pytest_plugins = ["tests.zk.fixtures"]`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.zk import launch
from tests.zk.ensemble import Ensemble


@pytest.fixture
def zk_ensemble(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Ensemble]:
    """Three members elected under one leader, stopped after the test whatever its outcome.

    Function-scoped: tests kill and stop members, and a fresh ensemble (a second or two to
    start) is cheaper to reason about than restoring a shared one. Without Java or the
    zookeeper package the test fails, naming the apt command; it is never skipped.
    """
    problem = launch.problem()
    if problem is not None:
        pytest.fail(problem, pytrace=False)
    ensemble = Ensemble(tmp_path / "zk")
    # Shown with the report of a failed test, next to its captured output.
    request.node.add_report_section("setup", "zookeeper", f"member logs: {ensemble.root}")
    try:
        ensemble.start()
        yield ensemble
    finally:
        ensemble.stop()

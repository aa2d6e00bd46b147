"""The deployment tests share one lab of six fresh hosts per module, torn down at its end."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from minispark.deploy import wheelhouse
from tests.lab import preflight
from tests.lab.lab import Lab

# Java's heap on the lab's 2 GiB master hosts, which also run a master.
LAB_EXTRA_VARS = ("-e", "zookeeper_heap_mb=256")
TIMINGS: list[str] = []


@pytest.fixture(scope="session")
def deploy_args(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, ...]:
    """Extra playbook arguments: the lab's sizes and a wheelhouse built once for the session,
    so every run installs the same wheels even if the checkout is edited meanwhile (and the
    operators' air-gapped path, minispark_wheelhouse_build=false, is what the tests use)."""
    built = wheelhouse.build(tmp_path_factory.mktemp("wheelhouse"))
    directory = str(Path(str(built["archive"])).parent)
    return (
        *LAB_EXTRA_VARS,
        "-e",
        "minispark_wheelhouse_build=false",
        "-e",
        f"minispark_wheelhouse_dir={directory}",
    )


@pytest.fixture(scope="module")
def fresh_lab() -> Iterator[Lab]:
    problems = preflight.problems()
    if problems:
        pytest.fail("the lab cannot run on this machine: " + "; ".join(problems), pytrace=False)
    lab = Lab()
    with lab.guarded():
        lab.down()
        lab.up()
        try:
            yield lab
        finally:
            lab.down()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for line in TIMINGS:
        terminalreporter.write_line(line)

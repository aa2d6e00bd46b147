"""Each role's molecule scenario on the lab: converge, idempotence, --check, verify.

Molecule boots the scenario's own lab hosts (tests/lab/molecule/create.yml) and removes
them at the end, so these tests must not overlap a lab fixture; pytest runs them one by one
after the other deployment modules have torn theirs down.
"""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from tests.deploy.ansible import REPO
from tests.deploy.conftest import TIMINGS
from tests.lab import preflight

pytestmark = pytest.mark.lab

# (role, scenario): each role's default scenario, and the zookeeper role's archive install.
SCENARIOS = [
    ("preflight", "default"),
    ("common", "default"),
    ("zookeeper", "default"),
    ("zookeeper", "archive"),
    ("minispark_master", "default"),
    ("minispark_worker", "default"),
]


@pytest.mark.parametrize(("role", "scenario"), SCENARIOS)
def test_role_scenario(role: str, scenario: str) -> None:
    problems = preflight.problems()
    if problems:
        pytest.fail("the lab cannot run on this machine: " + "; ".join(problems), pytrace=False)
    env = dict(os.environ, ANSIBLE_FORCE_COLOR="0", PY_COLORS="0", ANSIBLE_NOCOLOR="1")
    started = time.monotonic()
    done = subprocess.run(
        ["molecule", "test", "--scenario-name", scenario],
        cwd=REPO / "roles" / role,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    TIMINGS.append(f"molecule test {role}/{scenario}: {time.monotonic() - started:.0f}s")
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-8000:]
    # The idempotence step really ran and found nothing to change.
    assert f"{scenario} > idempotence: Executed: Successful" in output, output[-8000:]

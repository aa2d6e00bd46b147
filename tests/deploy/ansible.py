"""Running the distribution's playbooks from tests, and reading what they did."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

REPO = Path(__file__).resolve().parents[2]
PLAYBOOKS = REPO / "playbooks"
_RECAP = re.compile(r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


@dataclass
class Run:
    """One ansible-playbook run: exit code, output, per-host recap and per-task times."""

    returncode: int
    output: str
    seconds: float
    recap: dict[str, dict[str, int]] = field(default_factory=dict)
    task_seconds: list[tuple[float, str]] = field(default_factory=list)

    @property
    def changed(self) -> dict[str, int]:
        return {host: counts["changed"] for host, counts in self.recap.items()}

    def slowest(self, count: int = 5) -> list[tuple[float, str]]:
        return sorted(self.task_seconds, reverse=True)[:count]

    def explain(self) -> str:
        """The tail of the output, for assertion messages."""
        return self.output[-6000:]


def parse_recap(output: str) -> dict[str, dict[str, int]]:
    recap: dict[str, dict[str, int]] = {}
    for host, ok, changed, unreachable, failed in _RECAP.findall(output):
        recap[host] = {
            "ok": int(ok),
            "changed": int(changed),
            "unreachable": int(unreachable),
            "failed": int(failed),
        }
    return recap


def _junit_times(directory: Path) -> list[tuple[float, str]]:
    """Per-task wall time from the junit callback (one testcase per task and host)."""
    times: dict[str, float] = {}
    for report in directory.glob("*.xml"):
        for case in ElementTree.parse(report).getroot().iter("testcase"):
            name = re.sub(r"^\[[^\]]+\]\s*", "", case.get("name", ""))
            times[name] = max(times.get(name, 0.0), float(case.get("time", "0")))
    return [(seconds, name) for name, seconds in times.items()]


LIBRARY = REPO / "roles" / "minispark" / "library"
PREFLIGHT_LIBRARY = REPO / "roles" / "preflight" / "library"


def run_module(name: str, args: dict[str, Any], tmp_path: Path, check: bool = False) -> Any:
    """One run of a module of the roles' libraries, as Ansible runs it (the file as a program,
    its arguments in a file); the parsed answer, failed ones too (with their msg)."""
    library = PREFLIGHT_LIBRARY if name == "minispark_warning" else LIBRARY
    args_file = tmp_path / f"args-{name}.json"
    args_file.write_text(
        json.dumps({"ANSIBLE_MODULE_ARGS": {**args, "_ansible_check_mode": check}})
    )
    done = subprocess.run(
        [sys.executable, str(library / f"{name}.py"), str(args_file)],
        capture_output=True,
        text=True,
        check=False,
    )
    return json.loads(done.stdout)


def playbook(
    name: str, inventory: Path, *args: str, timings: Path | None = None, timeout: float = 1800
) -> Run:
    """Run playbooks/<name> against ``inventory`` from the repository root, as operators do."""
    env = dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1")
    if timings is not None:
        env |= {
            "ANSIBLE_CALLBACKS_ENABLED": "ansible.builtin.junit",
            "JUNIT_OUTPUT_DIR": str(timings),
        }
        env |= {"JUNIT_TASK_CLASS": "yes", "JUNIT_HIDE_TASK_ARGUMENTS": "yes"}
    command = ["ansible-playbook", "-i", str(inventory), str(PLAYBOOKS / name), *args]
    started = time.monotonic()
    done = subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    output = done.stdout + done.stderr
    run = Run(done.returncode, output, time.monotonic() - started, parse_recap(done.stdout))
    if timings is not None:
        run.task_seconds = _junit_times(timings)
    return run

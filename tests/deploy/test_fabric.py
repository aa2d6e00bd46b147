"""The Fabric tasks (fabfile.py) on six lab hosts deployed by site.yml, run as an operator runs
them: the real ``fab`` program from the repository root, against the lab's inventory.

A rolling restart of everything while a long job runs (the job finishes with the right answer,
every daemon restarts, leadership moves once), a roll that stops at the host whose health
gate fails and resumes from it, a planned failover, decommission and recommission, logs, and
an upgrade that a later site.yml run finds installed. The tests run in this order and build
on each other (one lab per module).
"""

from __future__ import annotations

import contextlib
import re
import shlex
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from minispark.ops import checks, probes
from minispark.ops.gate import wait_until
from tests.deploy import security
from tests.deploy.ansible import REPO, Run, playbook
from tests.deploy.conftest import LAB_EXTRA_VARS, TIMINGS
from tests.lab.lab import Lab

pytestmark = pytest.mark.lab

MASTERS = ["m1", "m2", "m3"]
WORKERS = ["w1", "w2", "w3"]
UNITS = {"m": ["zookeeper", "minispark-master"], "w": ["minispark-worker"]}
HISTORY = ("m1", "minispark-history")  # the lab's minispark_history host
DAEMONS = [(host, unit) for host in MASTERS + WORKERS for unit in UNITS[host[0]]] + [HISTORY]
# Short drains: the test's job runs for minutes, so its executors never end by themselves.
ROLL_OPTIONS = ("--yes", "--drain-timeout", "10", "--gate-timeout", "120")
DRIVER_HOST = "m1"
JOB_OUT = "/tmp/rolljob.out"
JOB_STOP = "/tmp/rolljob.stop"
ROUND = sum(x * x for x in range(100))  # what one round adds, besides 100 * its number
JOB = f'''
"""Many small stages until {JOB_STOP} exists (at most 25 minutes); prints a checkable sum."""
import os
import time

from minispark import SparkConf, SparkContext


def square(x):
    time.sleep(0.05)
    return x * x


started = time.monotonic()
conf = SparkConf().setAppName("rolljob").set("spark.ui.showConsoleProgress", "false")
with SparkContext(conf=conf) as sc:
    rounds = total = 0
    while not os.path.exists("{JOB_STOP}") and time.monotonic() - started < 1500:
        r = rounds
        total += sc.parallelize(range(100), 10).map(lambda x, r=r: square(x) + r).sum()
        rounds += 1
        print(f"ROUND {{rounds}} {{total}}", flush=True)
print(f"DONE {{rounds}} {{total}}", flush=True)
'''


# ---- helpers -------------------------------------------------------------------------------


def fab(lab: Lab, *args: str, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    """The real fab program from the repository root, with the lab's inventory as -i."""
    command = [sys.executable, "-m", "fabric", *args, "-i", str(lab.inventory)]
    done = subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False
    )
    print(f"$ fab {' '.join(args)}\n{done.stdout}{done.stderr}")
    return done


def explain(done: subprocess.CompletedProcess[str]) -> str:
    return f"exit {done.returncode}\n{done.stdout[-6000:]}\n{done.stderr[-3000:]}"


def webs(lab: Lab) -> list[str]:
    return [f"{lab.host(h).address}:8080" for h in MASTERS]


def master_named(lab: Lab, web: str | None) -> str | None:
    return next((h for h in MASTERS if web == f"{lab.host(h).address}:8080"), None)


def start_times(lab: Lab) -> dict[tuple[str, str], int]:
    """When each daemon's unit last became active (monotonic microseconds on its host)."""
    times = {}
    for host in MASTERS + WORKERS:
        units = [unit for daemon_host, unit in DAEMONS if daemon_host == host]
        command = " ".join(
            f"systemctl show -p ActiveEnterTimestampMonotonic --value {unit};" for unit in units
        )
        values = lab.ssh(host, command).stdout.split()
        for unit, value in zip(units, values, strict=True):
            times[(host, unit)] = int(value)
    return times


def changed(before: dict[tuple[str, str], int], after: dict[tuple[str, str], int]) -> set[str]:
    return {f"{host}/{unit}" for (host, unit), t in after.items() if t != before[(host, unit)]}


def wait_healthy(lab: Lab) -> None:
    """Every worker ALIVE at the one leader, checked a few times in a row."""

    def healthy() -> tuple[bool, str]:
        _, state = probes.leading_state(webs(lab), **security.auth(lab))
        alive = {w["host"] for w in state["workers"] if w["state"] == "ALIVE"}
        wanted = {lab.host(h).address for h in WORKERS}
        return alive == wanted, f"ALIVE workers: {sorted(alive)}"

    result = wait_until(healthy, consecutive=3, interval=1.0, timeout=180)
    assert result.passed, result.reason


@dataclass
class LeaderWatch:
    """Polls the masters every 0.1 s in a thread: leadership changes and leaderless gaps."""

    lab: Lab
    seen: list[tuple[float, str | None]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                current = master_named(
                    self.lab, probes.leader(webs(self.lab), timeout=1.0, **security.auth(self.lab))
                )
            except probes.ProbeError:
                current = None
            if not self.seen or self.seen[-1][1] != current:
                self.seen.append((time.monotonic(), current))
            time.sleep(0.1)

    @property
    def leaders(self) -> list[str]:
        """The succession of leaders (gaps left out)."""
        out: list[str] = []
        for _, name in self.seen:
            if name is not None and (not out or out[-1] != name):
                out.append(name)
        return out

    @property
    def longest_gap(self) -> float:
        """The longest time between a leader's last sighting and the next leader's first."""
        longest = 0.0
        for (start, name), (end, _) in zip(self.seen, self.seen[1:], strict=False):
            if name is None:
                longest = max(longest, end - start)
        return longest


@contextlib.contextmanager
def watching_leaders(lab: Lab) -> Iterator[LeaderWatch]:
    watch = LeaderWatch(lab)
    thread = threading.Thread(target=watch.run, name="leader-watch", daemon=True)
    thread.start()
    try:
        yield watch
    finally:
        watch.stop.set()
        thread.join(10)


# ---- the long job ---------------------------------------------------------------------------


def start_job(lab: Lab) -> None:
    """The job's driver in client mode on a master host, in the background (nohup, setsid)."""
    run = (
        "runuser -u minispark -- env MINISPARK_CONF_DIR=/etc/minispark "
        "/opt/minispark/venv/bin/minispark submit /tmp/rolljob.py; echo EXIT $?"
    )
    script = (
        f"cat > /tmp/rolljob.py <<'PROGRAM'\n{JOB}\nPROGRAM\n"
        f"rm -f {JOB_STOP} {JOB_OUT}\n"
        f"cd /tmp && nohup setsid sh -c {shlex.quote(run)} > {JOB_OUT} 2>&1 < /dev/null &\n"
    )
    lab.ssh(DRIVER_HOST, f"sh -c {shlex.quote(script)}")


def job_output(lab: Lab) -> str:
    return lab.ssh(DRIVER_HOST, f"cat {JOB_OUT}", check=False).stdout


def rounds_done(lab: Lab) -> int:
    found = re.findall(r"^ROUND (\d+) ", job_output(lab), re.M)
    return int(found[-1]) if found else 0


def wait_rounds(lab: Lab, at_least: int, timeout: float = 300) -> int:
    result = wait_until(
        lambda: (rounds_done(lab) >= at_least, f"{rounds_done(lab)} rounds"),
        consecutive=1,
        interval=2.0,
        timeout=timeout,
    )
    assert result.passed, f"the job did not reach round {at_least}: {job_output(lab)[-3000:]}"
    return rounds_done(lab)


def finish_job(lab: Lab) -> tuple[int, int, str]:
    """Ask the job to stop; (rounds, total, exit status) once it has ended."""
    lab.ssh(DRIVER_HOST, f"touch {JOB_STOP}")
    result = wait_until(
        lambda: ("EXIT " in job_output(lab), "the job runs"), consecutive=1, interval=2, timeout=300
    )
    output = job_output(lab)
    assert result.passed, f"the job did not end: {output[-3000:]}"
    done = re.search(r"^DONE (\d+) (\d+)$", output, re.M)
    status = re.search(r"^EXIT (\d+)$", output, re.M)
    assert done is not None and status is not None, output[-3000:]
    return int(done.group(1)), int(done.group(2)), status.group(1)


# ---- the deployment -------------------------------------------------------------------------


def _assert_ok(run: Run) -> None:
    assert run.returncode == 0, run.explain()
    assert all(c["failed"] == 0 and c["unreachable"] == 0 for c in run.recap.values()), run.recap


@pytest.fixture(scope="module")
def deployed(fresh_lab: Lab) -> Lab:
    # As a cluster deployed before ZooKeeper SASL was: the first test switches it on.
    run = playbook(
        "site.yml", fresh_lab.inventory, *LAB_EXTRA_VARS, "-e", "zookeeper_sasl_enabled=false"
    )
    _assert_ok(run)
    return fresh_lab


def zookeepers(lab: Lab) -> list[str]:
    return [f"{lab.host(h).address}:2181" for h in MASTERS]


@dataclass
class QuorumWatch:
    """Polls every member's srvr in a thread: each poll's leader, or None without a quorum
    (fewer than two members serving)."""

    lab: Lab
    seen: list[tuple[float, str | None]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while not self.stop.is_set():
            modes: dict[str, str | None] = {}
            for host, address in zip(MASTERS, zookeepers(self.lab), strict=True):
                try:
                    modes[host] = probes.zookeeper_mode(address, timeout=1.0)
                except probes.ProbeError:
                    modes[host] = None
            serving = [host for host, mode in modes.items() if mode is not None]
            leader = next((h for h, mode in modes.items() if mode == "leader"), None)
            self.seen.append((time.monotonic(), leader if len(serving) >= 2 else None))
            time.sleep(0.2)

    def gaps(self) -> list[tuple[str | None, str | None, float]]:
        """Each stretch of polls without a quorum: the leader before, the one after, seconds."""
        found: list[tuple[str | None, str | None, float]] = []
        before: str | None = None
        start: float | None = None
        for when, leader in self.seen:
            if leader is None and start is None:
                start = when
            elif leader is not None:
                if start is not None:
                    found.append((before, leader, when - start))
                    start = None
                before = leader
        if start is not None:
            found.append((before, None, self.seen[-1][0] - start))
        return found


def zookeeper_config(lab: Lab, host: str) -> list[str]:
    return lab.ssh(host, "cat /etc/zookeeper/minispark/zoo.cfg").stdout.splitlines()


# ---- the tests ------------------------------------------------------------------------------


@pytest.mark.timeout(1800)
def test_upgrade_switches_the_running_ensemble_to_quorum_sasl(deployed: Lab) -> None:
    assert "quorum.auth.enableSasl=true" not in zookeeper_config(deployed, "m1")
    start_job(deployed)
    first = wait_rounds(deployed, 3)
    watch = QuorumWatch(deployed)
    thread = threading.Thread(target=watch.run, name="quorum-watch", daemon=True)
    thread.start()
    try:
        # With the defaults (zookeeper_sasl_enabled: true), as an operator upgrades.
        run = playbook("upgrade.yml", deployed.inventory, *LAB_EXTRA_VARS)
    finally:
        watch.stop.set()
        thread.join(10)
    _assert_ok(run)
    # Phases 1 and 2 each rolled on their own before the serial plays rolled phase 3.
    for phase in (1, 2):
        name = f"Restart the members one at a time for quorum SASL phase {phase}"
        assert name in run.output, run.explain()
    gaps = watch.gaps()
    # Quorum lost only while a leader's own restart elected another: at most one election
    # per phase, each ending under a new leader; never a stretch that ends with no leader.
    assert watch.seen and watch.seen[-1][1] is not None, watch.seen[-20:]
    assert len(gaps) <= 3 and all(a != b and b is not None for a, b, _ in gaps), gaps
    for host in MASTERS:
        cfg = zookeeper_config(deployed, host)
        for line in ("quorum.auth.enableSasl=true", "quorum.auth.learnerRequireSasl=true",
                     "quorum.auth.serverRequireSasl=true"):  # fmt: skip
            assert line in cfg, (host, cfg)
        conf = deployed.ssh(host, "cat /etc/minispark/minispark-defaults.conf").stdout
        assert "spark.deploy.zookeeper.sasl.username minispark" in conf.splitlines(), host
    assert_masters_tree_is_closed(deployed)
    # The job went on through it all and computes the right answer.
    during = wait_rounds(deployed, rounds_done(deployed) + 1)
    rounds, total, status = finish_job(deployed)
    assert status == "0" and during > first, job_output(deployed)[-3000:]
    assert total == rounds * ROUND + 100 * rounds * (rounds - 1) // 2, (rounds, total)
    longest = max((seconds for _, _, seconds in gaps), default=0.0)
    line = (
        f"upgrade.yml switching ZooKeeper to quorum SASL with a job running: {run.seconds:.0f}s; "
        f"{len(gaps)} elections, the longest {longest * 1000:.0f} ms without a quorum"
    )
    print(line)
    TIMINGS.append(line)
    wait_healthy(deployed)


def assert_masters_tree_is_closed(lab: Lab) -> None:
    """/spark is the masters' SASL user's alone: an anonymous session may not read it."""
    from kazoo.client import KazooClient
    from kazoo.exceptions import NoAuthError

    hosts = ",".join(zookeepers(lab))
    password = (security.credentials(lab) / "zookeeper.secret").read_text().strip()
    sasl = {"mechanism": "DIGEST-MD5", "username": "minispark", "password": password}
    masters = KazooClient(hosts=hosts, timeout=10, sasl_options=sasl)
    anonymous = KazooClient(hosts=hosts, timeout=10)
    masters.start(timeout=30)
    anonymous.start(timeout=30)
    try:
        acls, _ = masters.get_acls("/spark")
        assert [(a.id.scheme, a.id.id) for a in acls] == [("sasl", "minispark")], acls
        assert masters.get_children("/spark"), "the masters' tree is empty"
        with pytest.raises(NoAuthError):
            anonymous.get_children("/spark")
    finally:
        for client in (masters, anonymous):
            client.stop()
            client.close()


def test_status_shows_the_deployed_cluster(deployed: Lab) -> None:
    done = fab(deployed, "status")
    assert done.returncode == 0, explain(done)
    out = done.stdout
    assert out.startswith(f"Inventory {deployed.inventory}: 3 ZooKeeper members, 3 masters")
    assert len(re.findall(r"^m\d 10\.77\.0\.\d+:2181 +(leader|follower)", out, re.M)) == 3
    assert len(re.findall(r"^m\d 10\.77\.0\.\d+:8080 +ALIVE", out, re.M)) == 1
    assert len(re.findall(r"^m\d 10\.77\.0\.\d+:8080 +STANDBY", out, re.M)) == 2
    assert len(re.findall(r" w\d 10\.77\.0\.\d+:7078 +ALIVE ", out, re.M)) == 3
    assert out.rstrip().endswith("Healthy.")


def test_dry_runs_change_nothing(deployed: Lab) -> None:
    before = start_times(deployed)
    leader = probes.leader(webs(deployed), **security.auth(deployed))
    for args in (
        ("rolling-restart", "--group", "all", "--dry-run"),
        ("upgrade", "--build", "--dry-run"),
        ("failover", "--dry-run"),
        ("decommission", "w1", "--dry-run"),
        ("recommission", "w1", "--dry-run"),
    ):
        done = fab(deployed, *args)
        assert done.returncode == 0, explain(done)
        assert "Dry run" in done.stdout and "nothing was changed" in done.stdout.lower()
    plan = fab(deployed, "rolling-restart", "--group", "all", "--dry-run").stdout
    assert plan.startswith("Plan: rolling restart of all, 10 steps:")
    assert changed(before, start_times(deployed)) == set()
    assert probes.leader(webs(deployed), **security.auth(deployed)) == leader
    wait_healthy(deployed)  # in particular: w1 was not decommissioned


@pytest.mark.timeout(2400)
def test_rolling_restart_of_everything_while_a_job_runs(deployed: Lab) -> None:
    start_job(deployed)
    first = wait_rounds(deployed, 3)
    before = start_times(deployed)
    old_leader = master_named(deployed, probes.leader(webs(deployed), **security.auth(deployed)))
    started = time.monotonic()
    with watching_leaders(deployed) as watch:
        # fab's own -i names the inventory too (the form in the issue); the helper adds the
        # task's -i as well, so strip it here and pass only the global one.
        command = [sys.executable, "-m", "fabric", "-i", str(deployed.inventory)]
        command += ["rolling-restart", "--group", "all", *ROLL_OPTIONS]
        done = subprocess.run(
            command, cwd=REPO, capture_output=True, text=True, timeout=2000, check=False
        )
    seconds = time.monotonic() - started
    print(done.stdout + done.stderr)
    assert done.returncode == 0, explain(done)
    during = rounds_done(deployed)
    rounds, total, status = finish_job(deployed)

    # The job lived through it and computed the right answer.
    assert status == "0", job_output(deployed)[-3000:]
    assert during > first, "the job made no progress during the roll"
    assert total == rounds * ROUND + 100 * rounds * (rounds - 1) // 2, (rounds, total)
    _, state = probes.leading_state(webs(deployed), **security.auth(deployed))
    apps = {a["name"]: a["state"] for a in state["completedapps"]}
    assert apps.get("rolljob") == "FINISHED", state["completedapps"]
    assert "FAILED" not in apps.values(), state["completedapps"]

    # Every daemon restarted; leadership moved exactly once, away from the old leader.
    assert changed(before, start_times(deployed)) == {f"{h}/{u}" for h, u in DAEMONS}
    assert len(watch.leaders) == 2 and watch.leaders[0] == old_leader, watch.seen
    summary = done.stdout.strip().splitlines()[-1]
    match = re.fullmatch(
        r"Done: 10 steps in ([\d.]+)s; longest time without a leader: (\d+) ms\.", summary
    )
    assert match is not None, summary
    line = (
        f"fab rolling-restart --group all with a job running: {seconds:.0f}s "
        f"(fab: {match.group(1)}s); longest time without a leader: {match.group(2)} ms by "
        f"fab's count, {watch.longest_gap * 1000:.0f} ms by the test's own 0.1 s polls; "
        f"job rounds {first} -> {during} during the roll, {rounds} in all"
    )
    print(line)
    TIMINGS.append(line)
    wait_healthy(deployed)


BROKEN_DROPIN = "/etc/systemd/system/minispark-worker.service.d/99-fabtest-broken.conf"


def test_a_failing_health_gate_stops_the_roll_and_it_resumes(deployed: Lab) -> None:
    # w2's worker starts (a plain sleep) but never registers: its health gate cannot pass.
    dropin = "[Service]\nType=simple\nExecStart=\nExecStart=/bin/sleep infinity\n"
    deployed.ssh("w2", f"printf {shlex.quote(dropin)} > {BROKEN_DROPIN} && systemctl daemon-reload")
    before = start_times(deployed)
    try:
        done = fab(
            deployed, "rolling-restart", "--group", "workers", "--consecutive", "2",
            "--yes", "--drain-timeout", "5", "--gate-timeout", "30",
        )  # fmt: skip
        assert done.returncode == 1, explain(done)
        out = done.stdout
        assert "[2/3] w2 minispark-worker: FAILED on w2: health gate" in out, out
        assert "Last 50 lines of minispark-worker on w2 (journalctl):" in out
        assert "--skip 1 (or --from w2)" in out
        assert changed(before, start_times(deployed)) == {
            "w1/minispark-worker",
            "w2/minispark-worker",
        }  # w3 and every master and ZooKeeper member untouched
    finally:
        deployed.ssh(
            "w2",
            f"rm -f {BROKEN_DROPIN} && systemctl daemon-reload && "
            "systemctl restart minispark-worker",
            timeout=300,
        )
    wait_healthy(deployed)
    middle = start_times(deployed)
    done = fab(
        deployed, "rolling-restart", "--group", "workers", "--from", "w2", *ROLL_OPTIONS
    )  # fmt: skip
    assert done.returncode == 0, explain(done)
    assert "(the first 1 steps are skipped)" in done.stdout
    assert changed(middle, start_times(deployed)) == {"w2/minispark-worker", "w3/minispark-worker"}


def test_failover_reports_the_time_without_a_leader(deployed: Lab) -> None:
    old = master_named(deployed, probes.leader(webs(deployed), **security.auth(deployed)))
    assert old is not None
    done = fab(deployed, "failover")
    assert done.returncode == 0, explain(done)
    moved = re.search(r"^Leadership moved from (m\d) to (m\d): no leader for (\d+) ms\.$",
                      done.stdout, re.M)  # fmt: skip
    assert moved is not None, done.stdout
    assert moved.group(1) == old and moved.group(2) != old
    assert master_named(
        deployed, probes.leader(webs(deployed), **security.auth(deployed))
    ) == moved.group(2)
    assert (
        probes.master_state(f"{deployed.host(old).address}:8080", **security.auth(deployed))[
            "status"
        ]
        == "STANDBY"
    )
    line = f"fab failover {old} -> {moved.group(2)}: no leader for {moved.group(3)} ms"
    print(line)
    TIMINGS.append(line)
    wait_healthy(deployed)


def test_decommission_and_recommission_a_worker(deployed: Lab) -> None:
    address = deployed.host("w3").address
    done = fab(deployed, "decommission", "w3", "--drain-timeout", "10")
    assert done.returncode == 0, explain(done)
    assert "Decommissioned worker-" in done.stdout and "on w3 through m" in done.stdout
    _, state = probes.leading_state(webs(deployed), **security.auth(deployed))
    on_w3 = {w["state"] for w in state["workers"] if w["host"] == address}
    assert "DECOMMISSIONED" in on_w3 and "ALIVE" not in on_w3, state["workers"]

    done = fab(deployed, "recommission", "w3")
    assert done.returncode == 0, explain(done)
    check = checks.WorkerAlive(webs(deployed), address, **security.auth(deployed))
    assert wait_until(check, consecutive=2, interval=1.0, timeout=60).passed
    wait_healthy(deployed)


def test_logs_show_a_hosts_units(deployed: Lab) -> None:
    done = fab(deployed, "logs", "m1", "--lines", "30")
    assert done.returncode == 0, explain(done)
    assert len(done.stdout.splitlines()) >= 5, done.stdout
    done = fab(deployed, "logs", "w1", "--unit", "minispark-worker", "--since", "30 min ago")
    assert done.returncode == 0, explain(done)
    assert "minispark" in done.stdout, done.stdout
    unknown = fab(deployed, "logs", "w9")
    assert unknown.returncode == 2 and "unknown host 'w9'" in unknown.stderr, explain(unknown)
    assert "Traceback" not in unknown.stderr


@pytest.mark.timeout(1800)
def test_upgrade_installs_what_site_yml_then_finds_installed(deployed: Lab) -> None:
    # Pretend every minispark host runs an older build, so that the upgrade installs.
    for host in MASTERS + WORKERS:
        deployed.ssh(host, "echo 0000000000000000 > /opt/minispark/venv/wheelhouse-digest")
    before = start_times(deployed)
    done = fab(deployed, "upgrade", "--build", *ROLL_OPTIONS)
    assert done.returncode == 0, explain(done)
    assert "ZooKeeper members are not upgraded by a wheel: skipping them." in done.stdout
    assert done.stdout.count("installed wheelhouse ") == 6, done.stdout
    digest = (REPO / "build" / "wheelhouse" / "source-digest").read_text().strip()
    for host in MASTERS + WORKERS:
        installed = deployed.ssh(host, "cat /opt/minispark/venv/wheelhouse-digest").stdout
        assert installed == digest + "\n", host
    restarted = changed(before, start_times(deployed))
    assert restarted == {f"{h}/{u}" for h, u in DAEMONS if u != "zookeeper"}
    wait_healthy(deployed)
    # The roles see the wheelhouse as installed: site.yml has nothing left to do.
    run = playbook("site.yml", deployed.inventory, *LAB_EXTRA_VARS)
    _assert_ok(run)
    assert set(run.changed.values()) == {0}, run.changed

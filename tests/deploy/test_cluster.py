"""The distribution end to end on six fresh lab hosts, as an operator runs it.

site.yml deploys; a second run and a --check run change nothing; every unit runs and is
enabled; ZooKeeper has one leader, the masters one ALIVE; workers offer what their hosts
allow; a job runs and the history server (on m1) lists it; the leader's host dies and a
standby takes over; reset.yml leaves nothing. The tests run in this order and build on each
other (one lab per module).
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from minispark.deploy import wheelhouse
from minispark.ops import history, probes
from minispark.ops.gate import wait_until
from tests.deploy import security
from tests.deploy.ansible import REPO, Run, playbook, run_module
from tests.deploy.conftest import TIMINGS
from tests.lab.lab import Lab

pytestmark = pytest.mark.lab

MASTERS = ["m1", "m2", "m3"]
WORKERS = ["w1", "w2", "w3"]
RESERVE_MB = 1024
UNITS = {"m": ["zookeeper", "minispark-master"], "w": ["minispark-worker"]}
# The lab inventory puts the history server on m1 (tests/lab/layout.py).
HISTORY = "m1"


def _web(lab: Lab, hosts: list[str]) -> list[str]:
    return [f"{lab.host(h).address}:8080" for h in hosts]


def _zookeepers(lab: Lab) -> list[str]:
    return [f"{lab.host(h).address}:2181" for h in MASTERS]


def _site(lab: Lab, tmp_path: Path, deploy_args: tuple[str, ...], *args: str) -> Run:
    return playbook("site.yml", lab.inventory, *deploy_args, *args, timings=tmp_path)


def _assert_ok(run: Run) -> None:
    assert run.returncode == 0, run.explain()
    assert run.recap, run.explain()
    assert all(c["failed"] == 0 and c["unreachable"] == 0 for c in run.recap.values()), run.recap


def test_a_dry_run_on_fresh_hosts_says_what_it_would_do_and_changes_nothing(
    fresh_lab: Lab, tmp_path: Path, deploy_args: tuple[str, ...]
) -> None:
    # First in the module, so the hosts are fresh; the inventory's copy has no credentials
    # beside it, as on a controller that never ran site.yml.
    inventory = tmp_path / "inventory" / "hosts.yml"
    inventory.parent.mkdir()
    shutil.copy(fresh_lab.inventory, inventory)
    run = playbook("site.yml", inventory, *deploy_args, "--check", timings=tmp_path)
    _assert_ok(run)
    TIMINGS.append(f"site.yml --check on six fresh hosts: {run.seconds:.0f}s")
    for host in MASTERS + WORKERS:
        assert f"{host} has no python3-apt yet" in run.output, run.explain()
    assert "The probe could not run, so nothing is shown" in run.output, run.explain()
    assert not (inventory.parent / "credentials").exists()
    listing = "ls -d /etc/minispark /opt/minispark /etc/zookeeper"
    untouched = fresh_lab.ssh("m1", listing, check=False)
    assert untouched.stdout.strip() == "", untouched.stdout


@pytest.fixture(scope="module")
def deployed(
    fresh_lab: Lab, tmp_path_factory: pytest.TempPathFactory, deploy_args: tuple[str, ...]
) -> Lab:
    run = _site(fresh_lab, tmp_path_factory.mktemp("site"), deploy_args)
    _assert_ok(run)
    slowest = "; ".join(f"{s:.1f}s {name}" for s, name in run.slowest(5))
    TIMINGS.append(f"site.yml on six fresh hosts: {run.seconds:.0f}s; slowest tasks: {slowest}")
    return fresh_lab


def test_second_run_changes_nothing(
    deployed: Lab, tmp_path: Path, deploy_args: tuple[str, ...]
) -> None:
    run = _site(deployed, tmp_path, deploy_args)
    _assert_ok(run)
    TIMINGS.append(f"site.yml again (idempotent): {run.seconds:.0f}s")
    assert set(run.changed.values()) == {0}, run.changed


def test_check_diff_run_is_clean(
    deployed: Lab, tmp_path: Path, deploy_args: tuple[str, ...]
) -> None:
    run = _site(deployed, tmp_path, deploy_args, "--check", "--diff")
    _assert_ok(run)
    assert set(run.changed.values()) == {0}, run.changed


def test_every_unit_is_active_and_enabled(deployed: Lab) -> None:
    for host in MASTERS + WORKERS:
        for unit in UNITS[host[0]] + (["minispark-history"] if host == HISTORY else []):
            done = deployed.ssh(host, f"systemctl is-active {unit}; systemctl is-enabled {unit}")
            assert done.stdout.split() == ["active", "enabled"], (host, unit, done.stdout)


def test_units_run_as_the_dedicated_users_with_hardening(deployed: Lab) -> None:
    show = "systemctl show -p User -p NoNewPrivileges -p ProtectSystem -p Type"
    for host, unit, user in [
        ("m1", "minispark-master", "minispark"),
        ("w1", "minispark-worker", "minispark"),
        (HISTORY, "minispark-history", "minispark"),
        ("m1", "zookeeper", "zookeeper"),
    ]:
        props = dict(
            line.split("=", 1) for line in deployed.ssh(host, f"{show} {unit}").stdout.split()
        )
        assert props["User"] == user and props["NoNewPrivileges"] == "yes", props
        assert props["ProtectSystem"] == "strict", props
    assert "Type=notify" in deployed.ssh("w1", "systemctl show -p Type minispark-worker").stdout
    assert "Type=notify" in deployed.ssh(HISTORY, "systemctl show -p Type minispark-history").stdout
    # The event logs hold the applications' settings: only the minispark user reads them.
    logs = deployed.ssh(HISTORY, "stat -c '%U %a' /var/lib/minispark/eventlogs").stdout
    assert logs.split() == ["minispark", "700"], logs


def test_zookeeper_has_one_leader_and_two_followers(deployed: Lab) -> None:
    modes = sorted(probes.zookeeper_mode(member) for member in _zookeepers(deployed))
    assert modes == ["follower", "follower", "leader"]
    # AdminServer is off (it would take the master's port 8080) and only srvr/ruok/mntr answer.
    assert "not in the whitelist" in probes.four_letter_word(_zookeepers(deployed)[0], "envi")


def test_one_master_alive_two_standby(deployed: Lab) -> None:
    statuses = sorted(
        probes.master_state(web, **security.auth(deployed))["status"]
        for web in _web(deployed, MASTERS)
    )
    assert statuses == ["ALIVE", "STANDBY", "STANDBY"]


def test_workers_offer_what_their_hosts_allow(deployed: Lab) -> None:
    _, state = probes.leading_state(_web(deployed, MASTERS), **security.auth(deployed))
    offered = {
        w["host"]: (w["cores"], w["memory"]) for w in state["workers"] if w["state"] == "ALIVE"
    }
    expected = {}
    for name in WORKERS:
        host = deployed.host(name)
        assert host.cpus is not None and host.memory is not None
        expected[host.address] = (len(host.cpus), host.memory // 2**20 - RESERVE_MB)
    assert offered == expected
    env = deployed.ssh("w2", "cat /etc/minispark/minispark-env").stdout
    assert 'MINISPARK_WORKER_CORES="2"' in env and 'MINISPARK_WORKER_MEMORY="3072m"' in env


def _run_pi(lab: Lab, host: str) -> str:
    program = (REPO / "examples" / "pi.py").read_text()
    script = (
        f"cat > /tmp/pi.py <<'PROGRAM'\n{program}\nPROGRAM\n"
        "cd /tmp && runuser -u minispark -- env MINISPARK_CONF_DIR=/etc/minispark "
        "/opt/minispark/venv/bin/minispark submit --conf spark.ui.showConsoleProgress=false "
        "/tmp/pi.py 4"
    )
    done = lab.ssh(host, f"sh -c {shlex.quote(script)}", timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_example_job_runs_on_the_deployed_cluster(deployed: Lab) -> None:
    output = _run_pi(deployed, "m2")
    match = re.search(r"Pi is roughly (\d\.\d+)", output)
    assert match is not None, output
    assert abs(float(match.group(1)) - 3.14159) < 0.05


def _history_web(lab: Lab) -> str:
    return f"{lab.host(HISTORY).address}:18080"


def test_the_history_server_lists_the_example_job_with_its_jobs(deployed: Lab) -> None:
    # The job above ran on m2 with the hosts' defaults, which send its event log to m1's
    # history server over HTTPS with the secret; it is listed complete once the driver ended.
    web, auth = _history_web(deployed), security.auth(deployed)
    found: list[dict[str, object]] = []

    def listed() -> tuple[bool, str]:
        apps = history.applications(web, **auth)
        found[:] = [a for a in apps if a.get("name") == "pi" and history.completed(a)]
        return bool(found), f"no completed application named pi among {apps}"

    result = wait_until(listed, consecutive=1, interval=0.5, timeout=60)
    assert result.passed, result.reason
    status, body = probes.web_call(
        web, f"/api/v1/applications/{found[0]['id']}/jobs", what="history", **auth
    )
    assert status == 200, body
    jobs = json.loads(body)
    assert [(j["status"], j["numTasks"], j["numCompletedTasks"]) for j in jobs] == [
        ("SUCCEEDED", 4, 4)
    ], jobs
    assert jobs[0]["name"].startswith("sum at "), jobs
    # Without the secret the application list is refused.
    refused, _ = probes.web_call(web, "/api/v1/applications", what="history", tls=auth["tls"])
    assert refused == 401


# ---- secure by default: the sample inventory's security settings, untouched ----------------

ROTATION_JOB = """
import os, sys, time
from minispark import SparkConf, SparkContext

stop = sys.argv[1]
conf = SparkConf().setAppName("rotation").set("spark.ui.showConsoleProgress", "false")
with SparkContext(conf=conf) as sc:
    rounds = total = 0
    started = time.monotonic()
    while not os.path.exists(stop) and time.monotonic() - started < 1200:
        # A shuffle each round: executors fetch from workers over new, authenticated links.
        r = rounds
        pairs = sc.parallelize(range(200), 8).map(lambda x, r=r: (x % 10, x + r))
        total += sum(v for _, v in pairs.reduceByKey(lambda a, b: a + b).collect())
        rounds += 1
        print(f"ROUND {rounds} {total}", flush=True)
print(f"DONE {rounds} {total}", flush=True)
"""


def _master_url(lab: Lab) -> str:
    return "minispark://" + ",".join(f"{lab.host(h).address}:7077" for h in MASTERS)


def _leader_web(lab: Lab) -> str:
    web = probes.leader(_web(lab, MASTERS), **security.auth(lab))
    assert web is not None
    return web


def test_auth_and_tls_are_on_on_every_host(deployed: Lab) -> None:
    creds = security.credentials(deployed)
    assert stat.S_IMODE(creds.stat().st_mode) == 0o700
    for name in ("minispark.secret", "ca.key", "zookeeper.secret", "zookeeper-quorum.secret"):
        assert stat.S_IMODE((creds / name).stat().st_mode) == 0o600, name
    for host in MASTERS + WORKERS:
        conf = deployed.ssh(host, "cat /etc/minispark/minispark-defaults.conf").stdout
        for line in (
            "spark.authenticate true",
            "spark.authenticate.secret.file /etc/minispark/secret",
            "minispark.ssl.enabled true",
            "minispark.ssl.certFile /etc/minispark/tls/host.pem",
            "minispark.ssl.keyFile /etc/minispark/tls/host.key",
            "minispark.ssl.caFile /etc/minispark/tls/ca.pem",
        ):
            assert line in conf.splitlines(), (host, line, conf)
        assert ("spark.deploy.zookeeper.sasl.username minispark" in conf) == (host in MASTERS)
        modes = deployed.ssh(
            host, "stat -c '%n %a %U' /etc/minispark/secret /etc/minispark/tls/host.key"
        ).stdout.split("\n")
        assert all(m.endswith(" 600 minispark") for m in modes if m), (host, modes)
        # The host's copy of the secret is the controller's.
        on_host = deployed.ssh(host, "cat /etc/minispark/secret").stdout.strip()
        assert on_host == security.secret_of(creds / "minispark.secret"), host


def test_every_daemon_serves_its_ca_signed_certificate_with_its_names(deployed: Lab) -> None:
    ctx = security.context(security.credentials(deployed) / "ca.pem")
    for host in MASTERS + WORKERS:
        port = 8080 if host in MASTERS else 8081
        # Verified against the CA and the address dialled (an IP SAN).
        status, _ = security.https(f"{deployed.host(host).address}:{port}", "/healthz", ctx)
        assert status == 200, host


def test_unauthenticated_access_is_refused(deployed: Lab) -> None:
    creds = security.credentials(deployed)
    ctx = security.context(creds / "ca.pem")
    leader = _leader_web(deployed)
    request = {
        "action": "CreateSubmissionRequest",
        "appResource": "job.py",
        "clientSparkVersion": "3.5.0",
        "mainClass": "org.apache.spark.deploy.PythonRunner",
        "sparkProperties": {"spark.app.name": "intruder", "spark.master": _master_url(deployed)},
        "environmentVariables": {},
        "appArgs": [],
        "files": {"job.py": "cHJpbnQoMSkK"},
    }
    create = "/v1/submissions/create"
    status, _ = security.https(leader, create, ctx, method="POST", body=request)
    assert status == 401
    status, _ = security.https(leader, create, ctx, method="POST", body=request, secret="wrong")
    assert status == 401
    status, _ = security.https(leader, "/json", ctx, secret="wrong")
    assert status == 401
    status, body = security.https(
        leader, "/json", ctx, secret=security.secret_of(creds / "minispark.secret")
    )
    assert status == 200 and json.loads(body)["status"] == "ALIVE"
    # Plain HTTP on the HTTPS port gets no page; the master serves on.
    plain = security.plain_http(leader, "/json")
    assert not plain.startswith("HTTP 200"), plain
    assert security.https(leader, "/healthz", ctx)[0] == 200


def test_a_client_certificate_from_another_ca_is_refused(deployed: Lab, tmp_path: Path) -> None:
    stranger = tmp_path / "stranger"
    made = run_module(
        "minispark_pki",
        {"dir": str(stranger), "hosts": [{"name": "intruder", "sans": ["intruder"]}]},
        tmp_path,
    )
    assert made["changed"] is True
    client = (stranger / "hosts" / "intruder.pem", stranger / "hosts" / "intruder.key")
    ca = security.credentials(deployed) / "ca.pem"
    leader = _leader_web(deployed)
    host = leader.rpartition(":")[0]
    rpc = f"{host}:7077"
    # The RPC port verifies a presented certificate against the cluster CA and hangs up on
    # a foreign one. (The web ports ask browsers for no certificate: none is presented there.)
    refused = security.tls_exchange(rpc, security.context(ca, client), b"")
    assert refused.startswith("refused"), refused
    # Without a client certificate the same port keeps the TLS connection open for us.
    kept = security.tls_exchange(rpc, security.context(ca), b"")
    assert kept.startswith("answered"), kept
    assert security.https(leader, "/healthz", security.context(ca))[0] == 200


def test_zookeeper_refuses_an_anonymous_read_of_the_masters_tree(deployed: Lab) -> None:
    from kazoo.client import KazooClient
    from kazoo.exceptions import NoAuthError

    hosts = ",".join(_zookeepers(deployed))
    anonymous = KazooClient(hosts=hosts, timeout=10)
    anonymous.start(timeout=30)
    try:
        with pytest.raises(NoAuthError):
            anonymous.get_children("/spark")
        with pytest.raises(NoAuthError):
            anonymous.get("/spark")
    finally:
        anonymous.stop()
        anonymous.close()
    password = (security.credentials(deployed) / "zookeeper.secret").read_text().strip()
    sasl = {"mechanism": "DIGEST-MD5", "username": "minispark", "password": password}
    masters = KazooClient(hosts=hosts, timeout=10, sasl_options=sasl)
    masters.start(timeout=30)
    try:
        assert masters.get_children("/spark"), "the masters' tree is empty"
    finally:
        masters.stop()
        masters.close()


def test_a_driver_needs_only_the_secret_and_the_ca(deployed: Lab, tmp_path: Path) -> None:
    creds = security.credentials(deployed)
    pi = REPO / "examples" / "pi.py"
    url = _master_url(deployed)
    done = security.submit(
        url,
        pi,
        "4",
        secret_file=creds / "minispark.secret",
        ca_file=creds / "ca.pem",
        workdir=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    match = re.search(r"Pi is roughly (\d\.\d+)", done.stdout)
    assert match is not None and abs(float(match.group(1)) - 3.14159) < 0.05, done.stdout
    # Forgetting a file: one line that names it.
    without_secret = security.submit(
        url, pi, "4", secret_file=None, ca_file=creds / "ca.pem", workdir=tmp_path
    )
    assert without_secret.returncode != 0
    assert "spark.authenticate.secret.file" in without_secret.stderr, without_secret.stderr
    assert "Traceback" not in without_secret.stderr, without_secret.stderr
    without_ca = security.submit(
        url, pi, "4", secret_file=creds / "minispark.secret", ca_file=None, workdir=tmp_path
    )
    assert without_ca.returncode != 0
    assert "minispark.ssl.caFile" in without_ca.stderr, without_ca.stderr


def _daemon_pids(lab: Lab) -> dict[str, str]:
    return {
        f"{host}/{unit}": _main_pid(lab, host, unit)
        for host in MASTERS + WORKERS
        for unit in UNITS[host[0]]
    }


def _rounds(output: Path) -> list[tuple[int, int]]:
    text = output.read_text() if output.exists() else ""
    return [(int(r), int(t)) for r, t in re.findall(r"^ROUND (\d+) (\d+)$", text, re.M)]


def test_rotation_during_a_job_keeps_it_right_and_retires_the_old_secret(
    deployed: Lab, tmp_path: Path, deploy_args: tuple[str, ...]
) -> None:
    creds = security.credentials(deployed)
    ctx = security.context(creds / "ca.pem")
    old = security.secret_of(creds / "minispark.secret")
    old_file = tmp_path / "old.secret"
    old_file.write_text(old + "\n")
    webs = _web(deployed, MASTERS) + [f"{deployed.host(w).address}:8081" for w in WORKERS]
    served_before = {web: security.served_sha256(web) for web in webs}
    pids_before = _daemon_pids(deployed)
    program, stop, output = tmp_path / "rotation.py", tmp_path / "stop", tmp_path / "job.out"
    program.write_text(ROTATION_JOB)
    command = security.submit_command(
        _master_url(deployed),
        program,
        str(stop),
        secret_file=creds / "minispark.secret",
        ca_file=creds / "ca.pem",
    )
    with output.open("w") as out:
        job = subprocess.Popen(
            command,
            cwd=tmp_path,
            env=security.driver_env(tmp_path / "conf"),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        started = wait_until(
            lambda: (len(_rounds(output)) >= 3, output.read_text()[-500:]),
            consecutive=1,
            interval=1.0,
            timeout=300,
        )
        assert started.passed, started.reason
        run = playbook("rotate_credentials.yml", deployed.inventory, *deploy_args)
        _assert_ok(run)
        TIMINGS.append(f"rotate_credentials.yml during a job: {run.seconds:.0f}s")
        during = len(_rounds(output))
        # Nothing restarted: the daemons re-read the secret and certificate files.
        assert _daemon_pids(deployed) == pids_before
        stop.touch()
        assert job.wait(timeout=600) == 0, output.read_text()[-3000:]
    finally:
        if job.poll() is None:
            job.kill()
            job.wait()
    rounds = _rounds(output)
    # Every round's sum is exact: 200 values, each plus its round number.
    expected = sum(sum(range(200)) + 200 * r for r in range(len(rounds)))
    assert re.search(rf"^DONE {len(rounds)} {expected}$", output.read_text(), re.M), rounds[-3:]
    assert len(rounds) > during >= 3
    new = security.secret_of(creds / "minispark.secret")
    assert new != old and (creds / "minispark.secret").read_text() == new + "\n"
    for host in MASTERS + WORKERS:
        assert deployed.ssh(host, "cat /etc/minispark/secret").stdout == new + "\n", host
    # The old secret is refused, on the web ports and over RPC; the new one works.
    leader = _leader_web(deployed)
    assert security.https(leader, "/json", ctx, secret=old)[0] == 401
    assert security.https(leader, "/json", ctx, secret=new)[0] == 200
    refused = security.submit(
        _master_url(deployed),
        REPO / "examples" / "pi.py",
        "2",
        secret_file=old_file,
        ca_file=creds / "ca.pem",
        workdir=tmp_path,
    )
    assert refused.returncode != 0, refused.stdout
    # Every daemon serves its new certificate, still from the cluster CA.
    for web in webs:
        assert security.served_sha256(web) != served_before[web], web
        assert security.https(web, "/healthz", ctx)[0] == 200, web
    again = _site(deployed, tmp_path, deploy_args)
    _assert_ok(again)
    assert set(again.changed.values()) == {0}, again.changed


def test_standby_takes_over_when_the_leader_host_dies(deployed: Lab) -> None:
    webs = _web(deployed, MASTERS)
    leader_web = probes.leader(webs, **security.auth(deployed))
    assert leader_web is not None
    leader_host = next(h for h in MASTERS if leader_web.startswith(deployed.host(h).address + ":"))
    deployed.kill_host(leader_host)
    survivors = [h for h in MASTERS if h != leader_host]

    def new_leader() -> tuple[bool, str]:
        found = probes.leader(_web(deployed, survivors), **security.auth(deployed))
        return found is not None, f"leader: {found}"

    assert wait_until(new_leader, consecutive=2, interval=1.0, timeout=120).passed
    output = _run_pi(deployed, survivors[0])
    assert "Pi is roughly 3.1" in output
    # The dead host comes back on its own disk; its units start at boot and its master
    # rejoins as a standby.
    deployed.start_host(leader_host)
    rejoined = wait_until(
        lambda: (
            probes.master_state(leader_web, **security.auth(deployed))["status"] == "STANDBY",
            "waiting",
        ),
        consecutive=2,
        interval=1.0,
        timeout=180,
    )
    assert rejoined.passed, rejoined.reason


def _bumped_wheelhouse(tmp_path: Path) -> Path:
    """A wheelhouse of this checkout with the version raised to 0.1.1, like a new release."""
    source = tmp_path / "release"
    shutil.copytree(
        REPO / "minispark", source / "minispark", ignore=shutil.ignore_patterns("__pycache__")
    )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    for path in (source / "pyproject.toml", source / "minispark" / "__init__.py"):
        text = path.read_text()
        assert '"0.1.0"' in text, path
        path.write_text(text.replace('"0.1.0"', '"0.1.1"', 1))
    built = wheelhouse.build(tmp_path / "wheelhouse", repo=source)
    assert str(built["minispark_wheel"]).startswith("minispark-0.1.1-")
    return tmp_path / "wheelhouse"


def _main_pid(lab: Lab, host: str, unit: str) -> str:
    return lab.ssh(host, f"systemctl show --property MainPID --value {unit}").stdout.strip()


def test_upgrade_rolls_a_new_release_leader_last(deployed: Lab, tmp_path: Path) -> None:
    webs = _web(deployed, MASTERS)
    leader_before = probes.leader(webs, **security.auth(deployed))
    zookeeper_pids = {h: _main_pid(deployed, h, "zookeeper") for h in MASTERS}
    directory = _bumped_wheelhouse(tmp_path)
    run = playbook(
        "upgrade.yml",
        deployed.inventory,
        "-e",
        "zookeeper_heap_mb=256",
        "-e",
        "minispark_wheelhouse_build=false",
        "-e",
        f"minispark_wheelhouse_dir={directory}",
    )
    _assert_ok(run)
    TIMINGS.append(f"upgrade.yml to a new release: {run.seconds:.0f}s")
    for host in MASTERS + WORKERS:
        version = deployed.ssh(host, "/opt/minispark/venv/bin/minispark --version").stdout
        assert version.strip() == "minispark 0.1.1", (host, version)
    # The leader went last, so leadership moved once, to an already upgraded standby.
    leader_after = probes.leader(webs, **security.auth(deployed))
    assert leader_after is not None and leader_after != leader_before
    # Nothing of ZooKeeper's changed, so no member restarted.
    assert {h: _main_pid(deployed, h, "zookeeper") for h in MASTERS} == zookeeper_pids
    _, state = probes.leading_state(webs, **security.auth(deployed))
    assert sorted(w["host"] for w in state["workers"] if w["state"] == "ALIVE") == sorted(
        deployed.host(w).address for w in WORKERS
    )


def test_a_dead_worker_is_removed_then_added_back(
    deployed: Lab, tmp_path: Path, deploy_args: tuple[str, ...]
) -> None:
    webs = _web(deployed, MASTERS)
    address = deployed.host("w3").address
    remove = ("-e", "node=w3", "-e", "confirm=yes")
    # The host is dead: the leader still decommissions its worker and the run succeeds.
    deployed.kill_host("w3")
    try:
        run = playbook("remove_node.yml", deployed.inventory, *remove)
        assert run.returncode == 0, run.explain()
        assert probes.worker_registered(webs, address, **security.auth(deployed)) is None
    finally:
        # It comes back (its unit still enabled, so its worker registers again); removing
        # it now also uninstalls it from the host.
        deployed.start_host("w3")
    run = playbook("remove_node.yml", deployed.inventory, *remove)
    _assert_ok(run)
    assert probes.worker_registered(webs, address, **security.auth(deployed)) is None
    gone = deployed.ssh("w3", "ls /etc/systemd/system/minispark-worker.service", check=False)
    assert gone.returncode != 0
    run = playbook("scale.yml", deployed.inventory, *deploy_args, "--limit", "w3")
    _assert_ok(run)
    worker = probes.worker_registered(webs, address, **security.auth(deployed))
    assert worker is not None and worker["cores"] == 1


def test_reset_leaves_nothing_behind(deployed: Lab, tmp_path: Path) -> None:
    run = playbook("reset.yml", deployed.inventory, "-e", "confirm=yes")
    _assert_ok(run)
    for host in MASTERS + WORKERS:
        listing = deployed.ssh(
            host,
            "ls -d /etc/systemd/system/minispark-* /etc/systemd/system/zookeeper.service* "
            "/opt/minispark /etc/minispark /var/lib/minispark /var/lib/zookeeper "
            "/etc/zookeeper /opt/zookeeper 2>/dev/null; getent passwd minispark zookeeper; "
            "getent group minispark zookeeper; systemctl list-units --all --no-legend "
            "'minispark-*' zookeeper.service | grep -v not-found",
            check=False,
        )
        assert listing.stdout.strip() == "", (host, listing.stdout)

"""The operator's tools against a real master and worker with auth and TLS on, as a deployed
cluster is by default: credentials found beside the inventory, HTTPS verified against the
cluster CA, certificate expiry in ``fab status``.

Gate timeouts here are hang guards (the harness's GUARD_S), never speed limits.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from minispark.ops import certs
from minispark.ops.probes import ProbeError, master_ready
from minispark.ops.tls import Tls
from tests import appevents
from tests.certs import Pki

from .harness import GUARD_S, Cluster, wait_for

pytest.importorskip("fabric")

REPO = Path(__file__).resolve().parents[2]
SECRET = "correct horse battery staple"


@dataclass
class Site:
    inventory: Path
    credentials: Path
    master_web: str
    worker_web: str
    pki: Pki


def _tls_conf(ca: Pki, name: str, days: int) -> list[str]:
    host = ca.issue(name, days=days)
    return [
        "spark.authenticate=true",
        f"spark.authenticate.secret={SECRET}",
        "minispark.ssl.enabled=true",
        f"minispark.ssl.certFile={host.cert}",
        f"minispark.ssl.keyFile={host.key}",
        f"minispark.ssl.caFile={ca.ca}",
    ]


@pytest.fixture
def site(cluster: Cluster, tmp_path: Path) -> Site:
    """A master whose certificate expires in 10 days and a worker's good for 400, with the
    inventory and credentials dir that site.yml would leave on the controller."""
    inventory_dir = tmp_path / "inventory"
    credentials = inventory_dir / "credentials"
    ca = Pki(credentials)
    # Mid-rotation layout: the first line is presented, the second only accepted.
    (credentials / "minispark.secret").write_text(f"{SECRET}\nthe-old-secret\n")
    master = cluster.master(*_tls_conf(ca, "m1", days=10), wait=False)
    master_web = f"127.0.0.1:{master.webui_port}"
    tls = Tls.load(str(ca.ca))

    def leads() -> bool | None:
        try:
            return master_ready(master_web, secret=SECRET, tls=tls) or None
        except ProbeError:
            return None

    wait_for(leads, "the TLS master to lead")
    worker = cluster.worker(f"minispark://127.0.0.1:{master.port}", *_tls_conf(ca, "w1", days=400))
    worker_web = f"127.0.0.1:{worker.webui_port}"
    wait_for(lambda: certs.expiry("worker", worker_web).expires, "the worker's HTTPS port")
    inventory = inventory_dir / "hosts.yml"
    inventory.write_text(
        "all:\n"
        "  children:\n"
        "    minispark_master:\n"
        "      hosts: {m1: {ansible_host: 127.0.0.1, "
        f"minispark_master_webui_port: {master.webui_port}}}}}\n"
        "    minispark_worker:\n"
        "      hosts: {w1: {ansible_host: 127.0.0.1, "
        f"minispark_worker_webui_port: {worker.webui_port}}}}}\n"
    )
    return Site(inventory, credentials, master_web, worker_web, ca)


def run(argv: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MINISPARK_")}
    return subprocess.run(
        argv,
        cwd=REPO,
        env={**clean, "PYTHONPATH": str(REPO), **env},
        capture_output=True,
        text=True,
        timeout=2 * GUARD_S,
        check=False,
    )


def fab_status(site: Site, **env: str) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, "-m", "fabric", "status", "-i", str(site.inventory)], **env)


def test_fab_status_finds_the_credentials_and_shows_certificate_expiry(site: Site) -> None:
    def healthy() -> subprocess.CompletedProcess[str] | None:
        done = fab_status(site)
        return done if done.stdout.rstrip().endswith("Healthy.") else None

    done = wait_for(healthy, "fab status to call the secure cluster healthy")
    assert done.returncode == 0, done.stderr
    assert re.search(r"^m1 127\.0\.0\.1:\d+ +ALIVE", done.stdout, re.M)
    assert re.search(rf"^master m1 +{site.master_web} +\S+ +9$", done.stdout, re.M)
    assert re.search(rf"^worker w1 +{site.worker_web} +\S+ +399$", done.stdout, re.M)
    assert f"WARNING: the certificate of master m1 {site.master_web} expires in 9 days" in (
        done.stdout
    )


def test_a_ca_that_did_not_sign_them_is_named(site: Site, tmp_path: Path) -> None:
    rogue = Pki(tmp_path / "rogue", "rogue").ca
    done = fab_status(site, MINISPARK_CA_FILE=str(rogue))
    assert done.returncode == 0, done.stderr
    line = next(x for x in done.stdout.splitlines() if x.startswith("m1 "))
    assert "UNREACHABLE" in line and "TLS certificate refused" in line
    assert f"issued by the CA in {rogue}" in line
    assert "- no single master is ALIVE" in done.stdout


def test_a_missing_ca_is_one_line_naming_it(site: Site) -> None:
    (site.credentials / "ca.pem").unlink()
    done = fab_status(site)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert f"CA certificate {site.credentials / 'ca.pem'} does not exist" in done.stderr


def test_the_ops_cli_takes_the_ca_and_the_secret_file(site: Site) -> None:
    secret_file = str(site.credentials / "minispark.secret")
    base = [sys.executable, "-m", "minispark.ops"]
    done = run([*base, "master-state", site.master_web], MINISPARK_SECRET_FILE=secret_file)
    assert done.returncode == 0  # plain HTTP to an HTTPS port: reported, never a traceback
    assert json.loads(done.stdout)["status"] == "UNREACHABLE"
    ca = str(site.credentials / "ca.pem")
    done = run([*base, "--ca-file", ca, "--secret-file", secret_file, "master-state",
                site.master_web])  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "ALIVE"
    done = run([*base, "certs", f"{site.master_web},{site.worker_web}", "--warn-days", "5"])
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert [c["days_left"] for c in report["certificates"]] == [9, 399]
    assert report["warnings"] == [] and report["problems"] == []


def test_the_history_server_is_in_the_snapshot_the_gate_and_fab_status(
    site: Site, cluster: Cluster, tmp_path: Path
) -> None:
    logs = tmp_path / "eventlogs"
    logs.mkdir()
    appevents.write(logs, "app-1", appevents.application("app-1", "wc", tasks=2))
    appevents.write(logs, "app-2", appevents.application("app-2", "pi"), in_progress=True)
    ca = site.pki
    server = cluster.history(str(logs), *_tls_conf(ca, "h1", days=200), wait=False)
    web = f"127.0.0.1:{server.webui_port}"
    secret_file = str(site.credentials / "minispark.secret")
    base = [sys.executable, "-m", "minispark.ops", "--ca-file", str(ca.ca)]
    base += ["--secret-file", secret_file]
    gate = run([*base, "wait-history", web, "--timeout", str(GUARD_S)])
    assert gate.returncode == 0, gate.stderr
    assert json.loads(gate.stdout)["history"] == web
    done = run([*base, "snapshot", "--masters", site.master_web, "--history", web])
    assert done.returncode == 0, done.stderr
    snapshot = json.loads(done.stdout)
    assert snapshot["history"] == [
        {"address": web, "state": "UP", "applications": 2, "completed": 1, "reason": ""}
    ]
    assert not [p for p in snapshot["problems"] if "history" in p], snapshot["problems"]
    # Without the secret the list is refused, which the snapshot names as a problem.
    bare = [sys.executable, "-m", "minispark.ops", "--ca-file", str(ca.ca)]
    done = run([*bare, "snapshot", "--history", web])
    assert done.returncode == 0, done.stderr
    (problem,) = json.loads(done.stdout)["problems"]
    assert problem.startswith(f"history server {web} is NOT READY") and "secret" in problem
    with site.inventory.open("a") as inventory:
        inventory.write(
            "    minispark_history:\n"
            "      hosts: {h1: {ansible_host: 127.0.0.1, "
            f"minispark_history_webui_port: {server.webui_port}}}}}\n"
        )

    def healthy() -> subprocess.CompletedProcess[str] | None:
        done = fab_status(site)
        return done if done.stdout.rstrip().endswith("Healthy.") else None

    status = wait_for(healthy, "fab status to call the cluster with its history server healthy")
    assert re.search(rf"^h1 {web} +UP +2 +1$", status.stdout, re.M), status.stdout
    assert re.search(rf"^history h1 +{web} +\S+ +199$", status.stdout, re.M), status.stdout
    assert "1 history servers" in status.stdout

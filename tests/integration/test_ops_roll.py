"""The fab tasks' logic against real daemons on loopback: a real ZooKeeper ensemble, two
masters and two workers, rolled while a job runs. Only the host actions are stand-ins
(restart = SIGTERM and start again on the same ports, as systemd would; no SSH here).

Gate timeouts are hang guards (the harness's GUARD_S), never speed limits.
"""

from __future__ import annotations

import re
import signal
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from minispark import SparkContext
from minispark.masterurl import format_master_url
from minispark.ops import commands, plan
from minispark.ops.cluster import LiveCluster, states
from minispark.ops.commands import RollRequest, Session
from minispark.ops.inventory import Inventory, parse
from minispark.ops.roll import Roll, RollOptions
from minispark.ops.wheel import Wheelhouse
from tests.zk.ensemble import Ensemble

from .harness import GUARD_S, Cluster, Daemon, app_conf, get_json, wait_for

pytestmark = pytest.mark.zookeeper

QUICK = RollOptions(consecutive=2, interval=0.2, gate_timeout=GUARD_S, drain_timeout=1.0)
WORKER_HOSTS = {"w1": "127.0.0.1", "w2": "127.0.0.2"}


def _status(master: Daemon) -> str | None:
    try:
        return str(get_json(f"{master.web}/json")["status"])
    except OSError:
        return None


@dataclass
class Site:
    """The daemons of the test by inventory name, and how to restart each one."""

    cluster: Cluster
    zk: Ensemble
    conf: tuple[str, ...]
    url: str = ""
    daemons: dict[str, Daemon] = field(default_factory=dict)
    restarts: list[str] = field(default_factory=list)

    def inventory(self) -> Inventory:
        hostvars: dict[str, dict[str, Any]] = {}
        for index, member in enumerate(self.zk.members):
            port = int(member.address.rsplit(":", 1)[1])
            hostvars[f"z{index + 1}"] = {"ansible_host": "127.0.0.1", "zookeeper_client_port": port}
        for name in ("ma", "mb"):
            port = self.daemons[name].webui_port
            hostvars[name] = {"ansible_host": "127.0.0.1", "minispark_master_webui_port": port}
        for name, address in WORKER_HOSTS.items():
            hostvars[name] = {"ansible_host": address}
        listing = {
            "_meta": {"hostvars": hostvars},
            "zookeeper": {"hosts": ["z1", "z2", "z3"]},
            "minispark_master": {"hosts": ["ma", "mb"]},
            "minispark_worker": {"hosts": list(WORKER_HOSTS)},
        }
        return parse(listing, "loopback")

    def start_master(self, name: str, port: int = 0, webui: int = 0) -> Daemon:
        if not port:
            daemon = self.cluster.master(*self.conf)
        else:  # the same ports again, as the unit's restart would use
            args = [
                "master",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--webui-port",
                str(webui),
            ]
            proc = self.cluster._spawn(f"{name}-again", args, list(self.conf), None)
            daemon = Daemon(name, proc, self.cluster.root / f"{name}-again.log", webui, port)
            self.cluster.daemons.append(daemon)
            wait_for(lambda: _status(daemon) in ("ALIVE", "STANDBY"), f"{name} to serve")
        self.daemons[name] = daemon
        return daemon

    def start_worker(self, name: str) -> Daemon:
        extra = ["--host", WORKER_HOSTS[name]]
        daemon = self.cluster.worker(self.url, *self.conf, cores=1, memory="1g", extra=extra)
        self.daemons[name] = daemon
        return daemon

    # ---- roll.HostActions -----------------------------------------------------------------

    def restart(self, host: str, unit: str) -> None:
        self.restarts.append(f"{host} {unit}")
        if unit == "zookeeper":
            self.zk.member(int(host[1:]) - 1).restart()
            return
        old = self.daemons[host]
        old.signal(signal.SIGTERM)
        old.proc.wait(GUARD_S)
        if unit == "minispark-master":
            self.start_master(host, old.port, old.webui_port)
        else:
            self.start_worker(host)

    def journal(
        self, host: str, units: Sequence[str], *, lines: int, since: str | None = None
    ) -> str:
        return "\n".join(self.daemons[host].log().splitlines()[-lines:])

    def install(self, host: str, wheelhouse: Wheelhouse) -> str:
        raise AssertionError("no upgrade here")

    def close(self) -> None:
        pass


@pytest.fixture
def site(cluster: Cluster, zk_ensemble: Ensemble) -> Site:
    conf = (
        "spark.deploy.recoveryMode=ZOOKEEPER",
        f"spark.deploy.zookeeper.url={zk_ensemble.connect_string}",
        f"spark.deploy.zookeeper.dir=/minispark-ops-{time.monotonic_ns()}",
        "minispark.zookeeper.sessionTimeout=6s",
    )
    s = Site(cluster, zk_ensemble, conf)
    first = s.start_master("ma")
    wait_for(lambda: _status(first) == "ALIVE", "ma to lead")
    second = s.start_master("mb")
    wait_for(lambda: _status(second) == "STANDBY", "mb to stand by")
    s.url = format_master_url([("127.0.0.1", first.port), ("127.0.0.1", second.port)])
    for name in WORKER_HOSTS:
        s.start_worker(name)
    cluster.wait_registered(first, 2)
    return s


def _rounds(sc: SparkContext, stop: threading.Event, done: list[int]) -> None:
    """Small stages until told to stop; each round's sum is known in advance."""
    while not stop.is_set() or len(done) < 3:
        r = len(done)
        done.append(sc.parallelize(range(40), 4).map(lambda x, r=r: x * x + r).sum())


def test_a_roll_of_everything_while_a_job_runs(site: Site) -> None:
    live = LiveCluster(site.inventory())
    inv = live.inventory
    steps = plan.make_plan(plan.groups_for("all"), inv, states(inv, live.snapshot()))
    assert [s.host for s in steps][-4:] == ["mb", "ma", "w1", "w2"]  # ma leads: last
    said: list[str] = []
    stop, done = threading.Event(), list[int]()
    with SparkContext(conf=app_conf(site.url, name="rolled", memory="256m")) as sc:
        job = threading.Thread(target=_rounds, args=(sc, stop, done), daemon=True)
        job.start()
        wait_for(lambda: len(done) >= 2, "the job's first rounds")
        before = len(done)
        outcome = Roll(live, site, QUICK, say=said.append).run(steps)
        print("\n".join(said))
        during = len(done) - before
        wait_for(lambda: len(done) > before + during, "a round after the roll")
        stop.set()
        job.join(GUARD_S)
        assert not job.is_alive()
    assert outcome.ok, "\n".join(said)
    assert [f"{s.host} {s.unit}" for s in steps] == site.restarts
    assert [(h.old, h.new) for h in outcome.handovers] == [("ma", "mb")]
    assert during > 0
    assert done == [sum(x * x + r for x in range(40)) for r in range(len(done))]


def test_failover_and_decommission_through_the_commands(site: Site) -> None:
    said: list[str] = []
    session = Session(site.inventory(), LiveCluster(site.inventory()), site, say=said.append)
    assert commands.failover(session, dry_run=False, timeout=GUARD_S, consecutive=2) == 0
    assert said[0] == "Leader: ma; standbys: mb."
    match = re.fullmatch(r"Leadership moved from ma to mb: no leader for (\d+) ms\.", said[1])
    assert match is not None, said
    print(f"planned failover on loopback: no leader for {match.group(1)} ms")
    assert site.restarts == ["ma minispark-master"]

    assert commands.decommission(session, "w2", dry_run=False, drain_timeout=5) == 0
    leader = site.daemons["mb"].json()
    assert {w["host"]: w["state"] for w in leader["workers"]} == {
        "127.0.0.1": "ALIVE",
        "127.0.0.2": "DECOMMISSIONED",
    }
    assert commands.recommission(session, "w2", dry_run=False, consecutive=2, timeout=GUARD_S) == 0
    alive = [w for w in site.daemons["mb"].json()["workers"] if w["state"] == "ALIVE"]
    assert sorted(w["host"] for w in alive) == ["127.0.0.1", "127.0.0.2"]

    request = RollRequest("workers", yes=True, consecutive=2, drain_timeout=1)
    site.restarts.clear()
    assert commands.rolling_restart(session, request) == 0
    assert site.restarts == ["w1 minispark-worker", "w2 minispark-worker"]
    assert said[-1].startswith("Done: 2 steps in ")

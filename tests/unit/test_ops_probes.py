"""The probes against canned answers: srvr text, and tiny fake servers on loopback."""

from __future__ import annotations

import json
import socketserver
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from minispark.driver.localcluster import free_port
from minispark.ops import __main__ as cli
from minispark.ops import checks, table
from minispark.ops.gate import wait_until
from minispark.ops.probes import (
    ProbeError,
    Reading,
    Snapshot,
    cluster_snapshot,
    decommission_worker,
    leader,
    master_ready,
    master_state,
    parse_srvr,
    split_address,
    web_url,
    worker_registered,
    zookeeper_mode,
)

REPO = Path(__file__).resolve().parents[2]
DEPENDENCIES = ("msgspec", "aiohttp", "kazoo", "psutil", "cloudpickle")

SRVR = """Zookeeper version: 3.8.0-debian--1, built on 2023-02-13 12:37 UTC
Latency min/avg/max: 0/0.4/3
Received: 12
Sent: 11
Connections: 1
Outstanding: 0
Zxid: 0x100000002
Mode: {mode}
Node count: 5
"""
NOT_SERVING = "This ZooKeeper instance is not currently serving requests\n"


def dead_address() -> str:
    """A loopback port nobody listens on (it was free a moment ago)."""
    return f"127.0.0.1:{free_port()}"


# ---- srvr parsing and addresses ---------------------------------------------------------


@pytest.mark.parametrize("mode", ["leader", "follower", "standalone", "observer"])
def test_srvr_modes(mode: str) -> None:
    assert parse_srvr("z1:2181", SRVR.format(mode=mode)) == mode


def test_srvr_of_a_member_without_quorum_names_it_and_what_it_said() -> None:
    with pytest.raises(ProbeError) as caught:
        parse_srvr("z1:2181", NOT_SERVING)
    assert str(caught.value) == (
        "zookeeper z1:2181 is not serving: "
        "This ZooKeeper instance is not currently serving requests"
    )


@pytest.mark.parametrize(
    ("reply", "said"),
    [
        ("", "without answering srvr"),
        ("srvr is not executed because it is not in the whitelist.\n", "not in the whitelist"),
        (SRVR.format(mode="read-only"), "Mode: read-only"),
        ("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", "HTTP/1.1 400 Bad Request"),
    ],
)
def test_srvr_without_a_usable_mode_is_one_line_quoting_the_reply(reply: str, said: str) -> None:
    with pytest.raises(ProbeError, match="z1:2181") as caught:
        parse_srvr("z1:2181", reply)
    assert said in str(caught.value)
    assert "\n" not in str(caught.value)


def test_addresses() -> None:
    assert split_address("zk1.example:2181") == ("zk1.example", 2181)
    assert split_address("[::1]:8080") == ("::1", 8080)
    for bad in ("zk1", "zk1:", ":2181", "zk1:http", "zk1:0", "zk1:65536"):
        with pytest.raises(ValueError, match="is not HOST:PORT"):
            split_address(bad)
    assert web_url("m1:8080", "/json") == "http://m1:8080/json"
    assert web_url("https://m1:8443/", "/json") == "https://m1:8443/json"
    with pytest.raises(ValueError, match="only http"):
        web_url("ftp://m1:21", "/")


# ---- ZooKeeper over a socket ------------------------------------------------------------


class FakeZookeeper(socketserver.ThreadingTCPServer):
    """Answers every connection with ``reply``; with None it reads and then stays silent."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, reply: bytes | None) -> None:
        super().__init__(("127.0.0.1", 0), _ZookeeperHandler)
        self.reply = reply
        self.release = threading.Event()
        self.words: list[bytes] = []

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"


class _ZookeeperHandler(socketserver.BaseRequestHandler):
    server: FakeZookeeper

    def handle(self) -> None:
        self.server.words.append(self.request.recv(4))
        if self.server.reply is None:
            self.server.release.wait()  # until the test ends: the client gives up first
            return
        self.request.sendall(self.server.reply)


class FakeMaster(ThreadingHTTPServer):
    """A master's web port with canned answers; it records what it was asked."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _MasterHandler)
        self.routes: dict[tuple[str, str], tuple[int, str]] = {}
        self.seen: list[tuple[str, str, str | None]] = []
        self.secret: str | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"

    def answer(self, method: str, path: str, status: int, body: object) -> None:
        self.routes[(method, path)] = (status, body if isinstance(body, str) else json.dumps(body))

    def state(self, status: str, *workers: dict[str, Any]) -> None:
        self.answer(
            "GET",
            "/json",
            200,
            {"status": status, "workers": list(workers), "activeapps": [], "activedrivers": []},
        )


class _MasterHandler(BaseHTTPRequestHandler):
    server: FakeMaster

    def _serve(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        auth = self.headers.get("Authorization")
        self.server.seen.append((self.command, self.path, auth))
        path = self.path.partition("?")[0]
        status, body = self.server.routes.get((self.command, path), (404, "no such page\n"))
        if self.command == "POST" and self.server.secret and auth != f"Bearer {self.server.secret}":
            status, body = 401, "authentication required\n"
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class Servers:
    started: list[socketserver.BaseServer] = field(default_factory=list)

    def _start(self, server: socketserver.BaseServer) -> None:
        self.started.append(server)
        # A short poll interval: shutdown() at teardown waits for one poll.
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()

    def zookeeper(self, reply: str | None) -> FakeZookeeper:
        server = FakeZookeeper(None if reply is None else reply.encode())
        self._start(server)
        return server

    def master(self, status: str | None = None, *workers: dict[str, Any]) -> FakeMaster:
        server = FakeMaster()
        if status is not None:
            server.state(status, *workers)
        self._start(server)
        return server


@pytest.fixture
def servers() -> Iterator[Servers]:
    made = Servers()
    try:
        yield made
    finally:
        for server in made.started:
            if isinstance(server, FakeZookeeper):
                server.release.set()
            server.shutdown()
            server.server_close()


def worker(host: str, state: str = "ALIVE", cores: int = 2, memory: int = 1024) -> dict[str, Any]:
    return {
        "id": f"worker-{host}-{state}",
        "host": host,
        "port": 7078,
        "state": state,
        "cores": cores,
        "coresused": 0,
        "memory": memory,
        "memoryused": 0,
    }


# ---- ZooKeeper over a socket ------------------------------------------------------------


def test_zookeeper_mode_sends_srvr_and_reads_the_mode(servers: Servers) -> None:
    member = servers.zookeeper(SRVR.format(mode="follower"))
    assert zookeeper_mode(member.address) == "follower"
    assert member.words == [b"srvr"]


def test_zookeeper_mode_of_a_member_that_does_not_serve(servers: Servers) -> None:
    member = servers.zookeeper(NOT_SERVING)
    with pytest.raises(ProbeError, match=r"is not serving: This ZooKeeper instance is not"):
        zookeeper_mode(member.address)


def test_zookeeper_mode_of_nobody() -> None:
    address = dead_address()
    with pytest.raises(ProbeError) as caught:
        zookeeper_mode(address)
    assert str(caught.value) == f"zookeeper {address}: cannot connect: Connection refused"


def test_zookeeper_mode_gives_up_on_a_member_that_never_answers(servers: Servers) -> None:
    member = servers.zookeeper(None)
    with pytest.raises(ProbeError, match=r"no (answer|connection) within 0.2s"):
        zookeeper_mode(member.address, timeout=0.2)


# ---- masters over HTTP ------------------------------------------------------------------


def test_master_state_and_readiness(servers: Servers) -> None:
    master = servers.master("ALIVE", worker("w1"))
    master.answer("GET", "/readyz", 200, "ALIVE\n")
    state = master_state(master.address)
    assert state["status"] == "ALIVE" and state["workers"][0]["host"] == "w1"
    assert master_ready(master.address) is True
    master.answer("GET", "/readyz", 503, "STANDBY\n")
    assert master_ready(master.address) is False
    # No secret given, none sent.
    assert {auth for _, _, auth in master.seen} == {None}


def test_the_secret_travels_as_a_bearer_token(servers: Servers) -> None:
    master = servers.master("ALIVE")
    master_state(master.address, secret="s3cret")
    assert master.seen[-1] == ("GET", "/json", "Bearer s3cret")


@pytest.mark.parametrize(
    ("status", "body", "said"),
    [
        (200, "<html>hello</html>", "/json is not JSON: <html>hello</html>"),
        (200, {"no": "status"}, "/json has no status"),
        (500, "boom\nat line 3", "/json answered HTTP 500: boom at line 3"),
        (401, "authentication required", "needs the cluster secret"),
    ],
)
def test_master_state_that_makes_no_sense(
    servers: Servers, status: int, body: object, said: str
) -> None:
    master = servers.master()
    master.answer("GET", "/json", status, body)
    with pytest.raises(ProbeError) as caught:
        master_state(master.address)
    assert said in str(caught.value) and master.address in str(caught.value)


def test_master_state_of_nobody() -> None:
    address = dead_address()
    with pytest.raises(ProbeError) as caught:
        master_state(address)
    assert str(caught.value) == f"master {address}: cannot connect: Connection refused"


def test_leader_is_the_single_alive_master_and_the_unreachable_do_not_count(
    servers: Servers,
) -> None:
    alive, standby = servers.master("ALIVE"), servers.master("STANDBY")
    assert leader([standby.address, dead_address(), alive.address]) == alive.address
    assert leader([standby.address, dead_address()]) is None
    assert leader([]) is None
    with pytest.raises(ProbeError, match=r"2 masters are ALIVE at once"):
        leader([alive.address, servers.master("ALIVE").address])


def test_worker_registered_is_the_leaders_alive_entry(servers: Servers) -> None:
    standby = servers.master("STANDBY", worker("w1"))
    alive = servers.master("ALIVE", worker("w1", "DEAD"), worker("w2"), worker("w1"))
    masters = [standby.address, alive.address]
    assert worker_registered(masters, "w1") == worker("w1")
    assert worker_registered(masters, "w3") is None
    with pytest.raises(ProbeError, match=r"no master is ALIVE: .* STANDBY, .* UNREACHABLE"):
        worker_registered([standby.address, dead_address()], "w1")


def test_decommission_returns_the_ids_and_nothing_the_second_time(servers: Servers) -> None:
    master = servers.master("ALIVE")
    master.answer("POST", "/workers/kill", 200, {"decommissioned": ["worker-1"]})
    assert decommission_worker(master.address, "w 1") == ["worker-1"]
    assert master.seen[-1][:2] == ("POST", "/workers/kill?host=w+1")
    master.answer("POST", "/workers/kill", 404, {"decommissioned": []})
    assert decommission_worker(master.address, "w 1") == []


def test_decommission_without_the_secret_says_so(servers: Servers) -> None:
    master = servers.master("ALIVE")
    master.secret = "s3cret"
    master.answer("POST", "/workers/kill", 200, {"decommissioned": ["worker-1"]})
    with pytest.raises(ProbeError, match=r"POST /workers/kill needs the cluster secret"):
        decommission_worker(master.address, "w1")
    assert decommission_worker(master.address, "w1", secret="s3cret") == ["worker-1"]


# ---- checks -----------------------------------------------------------------------------


def test_worker_check_wants_exactly_the_resources_asked_for(servers: Servers) -> None:
    master = servers.master("ALIVE", worker("w1", cores=2, memory=1024))
    check = checks.WorkerAlive([master.address], "w1", cores=4)
    assert check() == (False, "the worker on w1 offers 2 cores and 1024 MiB, not 4 cores")
    assert check.worker is None
    check = checks.WorkerAlive([master.address], "w1", cores=2, memory_mb=1024)
    assert check()[0] is True
    assert check.worker == worker("w1") and check.leader == master.address
    assert checks.WorkerAlive([master.address], "w2")() == (
        False,
        f"master {master.address} lists no ALIVE worker on w2",
    )


def test_leader_check_starts_over_when_leadership_moves(servers: Servers) -> None:
    first, second = servers.master("ALIVE"), servers.master("STANDBY")
    check = checks.SingleLeader([first.address, second.address])
    assert check() == (True, f"{first.address} leads")
    first.state("STANDBY")
    second.state("ALIVE")
    assert check() == (False, f"leadership moved from {first.address} to {second.address}")
    assert check() == (True, f"{second.address} leads")


def test_zookeeper_check_takes_standalone_only_when_allowed(servers: Servers) -> None:
    member = servers.zookeeper(SRVR.format(mode="standalone"))
    assert checks.ZookeeperServes(member.address)() == (
        False,
        f"zookeeper {member.address} runs standalone, not in a quorum",
    )
    assert checks.ZookeeperServes(member.address, allow_standalone=True)()[0] is True


def test_master_check_any_means_serving(servers: Servers) -> None:
    master = servers.master("RECOVERING")
    assert checks.MasterStatus(master.address, "ANY")() == (
        False,
        f"master {master.address} is RECOVERING",
    )
    master.state("STANDBY")
    assert checks.MasterStatus(master.address, "ANY")()[0] is True
    assert checks.MasterStatus(master.address, "ALIVE")()[0] is False
    with pytest.raises(ValueError, match="wanted must be one of"):
        checks.MasterStatus(master.address, "LEADER")


def test_a_check_through_the_gate_reports_the_probe_error(servers: Servers) -> None:
    address = dead_address()
    result = wait_until(
        checks.MasterStatus(address), timeout=0, clock=lambda: 0.0, sleep=lambda _: None
    )
    assert (result.passed, result.reason) == (
        False,
        f"master {address}: cannot connect: Connection refused",
    )


# ---- snapshot ---------------------------------------------------------------------------


def test_snapshot_and_its_table(servers: Servers) -> None:
    member = servers.zookeeper(SRVR.format(mode="leader"))
    master = servers.master("ALIVE", worker("w1"))
    master.answer(
        "GET",
        "/json",
        200,
        {
            "status": "ALIVE",
            "workers": [worker("w1"), worker("w2", "DEAD")],
            "activeapps": [
                {
                    "id": "app-1",
                    "name": "counts",
                    "state": "RUNNING",
                    "cores": 2,
                    "memoryperexecutor": 512,
                    "user": "ann",
                    "duration": 4000,
                }
            ],
            "activedrivers": [
                {
                    "id": "driver-1",
                    "state": "RUNNING",
                    "worker": "worker-w1-ALIVE",
                    "cores": 1,
                    "memory": 1024,
                }
            ],
        },
    )
    down_zk, down_master = dead_address(), dead_address()
    snapshot = cluster_snapshot([master.address, down_master], [member.address, down_zk])
    assert snapshot.leader == master.address
    assert snapshot.zookeepers[0] == Reading(member.address, "leader")
    assert snapshot.zookeepers[1].state == "ERROR"
    assert "Connection refused" in snapshot.zookeepers[1].reason
    assert [r.state for r in snapshot.masters] == ["ALIVE", "UNREACHABLE"]
    assert [w["host"] for w in snapshot.workers] == ["w1", "w2"]
    assert json.loads(json.dumps(snapshot.to_json()))["apps"][0]["id"] == "app-1"

    text = table.render(snapshot)
    assert f"Leader: {master.address}" in text
    for expected in ("ZOOKEEPER", "worker-w2-DEAD", "0/2", "0/1024 MiB", "counts", "4 s"):
        assert expected in text
    header, first, second = text.split("\n\n")[3].splitlines()
    assert first[header.index("STATE") :].startswith("ALIVE ")
    assert second[header.index("STATE") :].startswith("DEAD ")


def test_snapshot_table_without_a_leader() -> None:
    snapshot = Snapshot([], [Reading("m1:8080", "STANDBY")], None, [], [], [])
    assert "No single ALIVE master" in table.render(snapshot)


def test_format_table_pads_columns_and_marks_an_empty_one() -> None:
    assert table.format_table(["A", "BB"], [["long", "x"], ["y", "z"]]) == (
        "A     BB\nlong  x\ny     z"
    )
    assert table.format_table(["A"], []) == "A\n(none)"


# ---- the command line, in this process --------------------------------------------------


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = cli.main(list(argv))
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_usage_mistakes_are_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (
        ["zk-mode", "nohost"],
        ["wait-master", "m1:8080", "--status", "LEADER"],
        ["wait-leader", "m1:8080", "--consecutive", "0"],
        ["wait-zk", "z1:2181", "--timeout", "soon"],
        ["snapshot"],
        ["frobnicate"],
        [],
    ):
        code, out, err = run_cli(capsys, *argv)
        assert (code, out) == (2, ""), argv
        assert err.count("\n") == 1 and "--help" in err, argv


def test_cli_master_state_of_nobody_is_unreachable_not_a_failure(
    capsys: pytest.CaptureFixture[str],
) -> None:
    address = dead_address()
    code, out, err = run_cli(capsys, "master-state", address)
    assert (code, err) == (0, "")
    assert json.loads(out) == {
        "master": address,
        "status": "UNREACHABLE",
        "reason": f"master {address}: cannot connect: Connection refused",
    }


def test_cli_wait_worker_prints_the_entry(
    servers: Servers, capsys: pytest.CaptureFixture[str]
) -> None:
    master = servers.master("ALIVE", worker("w1"))
    gate = ["--consecutive", "2", "--interval", "0", "--timeout", "5"]
    code, out, _ = run_cli(capsys, "wait-worker", master.address, "w1", "--cores", "2", *gate)
    assert (code, json.loads(out)) == (0, worker("w1"))
    code, out, err = run_cli(
        capsys, "wait-worker", master.address, "w1", "--cores", "3", "--timeout", "0"
    )
    assert (code, out) == (1, "")
    assert err.startswith("minispark.ops wait-worker: gave up waiting for an ALIVE worker on w1")
    assert err.endswith("offers 2 cores and 1024 MiB, not 3 cores\n")


def test_cli_secret_file_is_sent_and_never_printed(
    servers: Servers,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MINISPARK_SECRET", raising=False)
    master = servers.master("ALIVE", worker("w1"))
    master.secret = "s3cret-value"
    master.answer("POST", "/workers/kill", 200, {"decommissioned": ["worker-1"]})
    secret_file = tmp_path / "secret"
    secret_file.write_text("s3cret-value\n")

    code, out, err = run_cli(capsys, "decommission", master.address, "w1")
    assert (code, out) == (1, "")
    assert "needs the cluster secret" in err and err.count("\n") == 1
    # Before or after the command name, the option works the same.
    for argv in (
        ["--secret-file", str(secret_file), "decommission", master.address, "w1"],
        ["decommission", master.address, "w1", "--secret-file", str(secret_file)],
    ):
        code, out, err = run_cli(capsys, *argv)
        assert code == 0
        assert json.loads(out) == {
            "master": master.address,
            "host": "w1",
            "decommissioned": ["worker-1"],
        }
        assert "s3cret" not in out + err


# ---- standard library only --------------------------------------------------------------


def test_importing_the_ops_package_loads_only_the_standard_library() -> None:
    code = f"""
import sys
sys.path.insert(0, {str(REPO)!r})
before = set(sys.modules)
import minispark.ops.probes, minispark.ops.__main__
import minispark.ops.checks, minispark.ops.gate, minispark.ops.table
print(sorted(m for m in {DEPENDENCIES!r} if m in sys.modules))
new = {{name.partition(".")[0] for name in set(sys.modules) - before}}
print(sorted(new - set(sys.stdlib_module_names) - {{"minispark"}}))
"""
    done = subprocess.run(
        [sys.executable, "-I", "-c", code], capture_output=True, text=True, check=True
    )
    assert done.stdout.splitlines() == ["[]", "[]"]


def test_the_command_runs_without_site_packages() -> None:
    # -S: no site-packages at all, as on a controller without minispark's dependencies.
    code = f"""
import importlib.util, runpy, sys
assert importlib.util.find_spec("aiohttp") is None, "site-packages are visible"
sys.path.insert(0, {str(REPO)!r})
sys.argv = ["minispark.ops", "zk-mode", {dead_address()!r}]
runpy.run_module("minispark.ops", run_name="__main__", alter_sys=True)
"""
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code], capture_output=True, text=True, check=False
    )
    assert done.returncode == 1, done.stderr
    assert done.stdout == ""
    assert done.stderr.startswith("minispark.ops zk-mode: zookeeper 127.0.0.1:")
    assert done.stderr.endswith(": cannot connect: Connection refused\n")


# ---- drained workers, health problems, the secret from the environment -----------------


def test_drained_check_waits_for_the_hosts_executors(servers: Servers) -> None:
    busy = {**worker("10.0.0.5", state="DECOMMISSIONED"), "coresused": 2}
    master = servers.master("ALIVE", busy, worker("10.0.0.6"))
    check = checks.WorkerDrained([master.address], "10.0.0.5")
    assert check() == (False, "executors still use 2 cores on 10.0.0.5")
    master.state("ALIVE", {**busy, "coresused": 0}, worker("10.0.0.6"))
    assert check() == (True, "no executor runs on 10.0.0.5")


def test_snapshot_problems_name_what_is_unhealthy(servers: Servers) -> None:
    leader = servers.master("ALIVE", worker("10.0.0.5"), worker("10.0.0.6", state="DEAD"))
    standby = servers.master("STANDBY")
    members = [servers.zookeeper(SRVR.format(mode=m)) for m in ("leader", "follower")]
    zookeepers = [m.address for m in members]
    healthy = cluster_snapshot([leader.address, standby.address], zookeepers)
    assert healthy.problems(expected_workers=1) == []
    assert healthy.problems(expected_workers=2) == ["1 of 2 workers are ALIVE"]
    leader.state("STANDBY")
    dead = dead_address()
    lost = cluster_snapshot([leader.address, standby.address], [*zookeepers, dead])
    found = lost.problems()
    assert found[0].startswith(f"ZooKeeper {dead} does not serve (")
    assert found[1].startswith("no single master is ALIVE (")


def test_cli_takes_the_secret_from_the_environment(
    servers: Servers, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    master = servers.master("ALIVE", worker("10.0.0.5"))
    master.secret = "s3cret"
    master.answer("POST", "/workers/kill", 200, {"decommissioned": ["worker-1"]})
    monkeypatch.delenv("MINISPARK_SECRET", raising=False)
    code, _, err = run_cli(capsys, "decommission", master.address, "10.0.0.5")
    assert code == 1 and "secret" in err
    monkeypatch.setenv("MINISPARK_SECRET", "s3cret")
    code, out, err = run_cli(capsys, "decommission", master.address, "10.0.0.5")
    assert code == 0, err
    assert master.seen[-1][2] == "Bearer s3cret" and "s3cret" not in out + err


def test_cli_snapshot_reports_the_problems_the_playbooks_assert_on(
    servers: Servers, capsys: pytest.CaptureFixture[str]
) -> None:
    master = servers.master("ALIVE", worker("10.0.0.5"), worker("10.0.0.6", state="DEAD"))
    member = servers.zookeeper(SRVR.format(mode="leader"))
    argv = ["snapshot", "--masters", master.address, "--zookeepers", member.address]
    code, out, err = run_cli(capsys, *argv, "--expect-workers", "1")
    assert code == 0, err
    report = json.loads(out)
    assert (report["leader"], report["problems"]) == (master.address, [])
    assert report["table"] == table.render(cluster_snapshot([master.address], [member.address]))
    code, out, _ = run_cli(capsys, *argv, "--expect-workers", "2")
    assert json.loads(out)["problems"] == ["1 of 2 workers are ALIVE"]
    code, out, _ = run_cli(capsys, *argv, "--format", "table")
    assert (code, out) == (0, report["table"])

"""Workers register with a real master; the HTTP surface shows them with Spark's fields."""

from __future__ import annotations

import socket

from .harness import Cluster, get_json, http, url_of, wait_for

MASTER_FIELDS = {
    "url",
    "workers",
    "aliveworkers",
    "cores",
    "coresused",
    "memory",
    "memoryused",
    "activeapps",
    "completedapps",
    "activedrivers",
    "completeddrivers",
    "status",
}
WORKER_FIELDS = {
    "id",
    "host",
    "port",
    "webuiaddress",
    "cores",
    "coresused",
    "coresfree",
    "memory",
    "memoryused",
    "memoryfree",
    "state",
    "lastheartbeat",
}


def test_workers_register_and_show_in_json(cluster: Cluster) -> None:
    master = cluster.master()
    cluster.worker(url_of(master), cores=2, memory="700m")
    cluster.worker(url_of(master), cores=1, memory="1g")
    workers = cluster.wait_registered(master, 2)

    state = master.json()
    assert state.keys() >= MASTER_FIELDS
    assert state["status"] == "ALIVE"
    assert state["aliveworkers"] == 2
    assert state["cores"] == 3 and state["memory"] == 700 + 1024
    assert sorted((w["cores"], w["memory"]) for w in workers) == [(1, 1024), (2, 700)]
    for w in workers:
        assert w.keys() >= WORKER_FIELDS
        assert w["id"].startswith("worker-") and w["id"].endswith(f"-127.0.0.1-{w['port']}")
        assert w["coresfree"] == w["cores"] and w["memoryfree"] == w["memory"]


def test_json_field_probes_metrics_and_page(cluster: Cluster) -> None:
    master = cluster.master()
    worker = cluster.worker(url_of(master), cores=2)
    cluster.wait_registered(master, 1)

    assert get_json(master.web + "/json/aliveworkers") == {"aliveworkers": 1}
    assert get_json(master.web + "/json/nosuchfield") == {"nosuchfield": ""}
    assert http(master.web + "/healthz")[0] == 200
    assert http(master.web + "/readyz") == (200, "ALIVE\n")
    status, metrics = http(master.web + "/metrics")
    assert status == 200
    assert 'minispark_master_workers{state="ALIVE"} 1.0' in metrics
    assert "minispark_master_cores 2.0" in metrics
    status, page = http(master.web + "/")
    assert status == 200 and "<h1>minispark Master at" in page and "ALIVE" in page

    wait_for(lambda: http(worker.web + "/readyz")[0] == 200, "the worker to be ready")
    wjson = worker.json()
    assert wjson["masterurl"] == url_of(master)
    assert wjson["cores"] == 2 and wjson["coresused"] == 0
    assert "minispark_worker_registered 1.0" in http(worker.web + "/metrics")[1]


def test_worker_waits_for_a_master_that_starts_later(cluster: Cluster) -> None:
    """Registration retries with backoff until a master appears at the URL."""
    master = cluster.master(wait=False)
    master.signal(19)  # SIGSTOP: nothing answers at the master's address yet
    worker = cluster.worker(url_of(master))
    wait_for(lambda: "retrying" in worker.log() or "cannot reach" in worker.log(), "a retry")
    assert http(worker.web + "/readyz")[0] == 503
    master.signal(18)  # SIGCONT
    cluster.wait_registered(master, 1)
    wait_for(lambda: http(worker.web + "/readyz")[0] == 200, "the worker to be ready")


def test_master_refuses_to_start_on_a_bad_known_key(cluster: Cluster) -> None:
    master = cluster.master("spark.deploy.maxExecutorRetries=many", wait=False)
    assert master.proc.wait(30) == 2
    assert "spark.deploy.maxExecutorRetries" in master.log()
    assert "Traceback" not in master.log()


def test_master_reports_a_port_in_use(cluster: Cluster) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        master = cluster.master(wait=False)
        # restart it on the taken port through the CLI
        master.proc.terminate()
        master.proc.wait()
        again = cluster._spawn(
            "busy",
            ["master", "--host", "127.0.0.1", "--port", str(port), "--webui-port", "0"],
            [],
            None,
        )
        assert again.wait(30) == 1
    log = (cluster.root / "busy.log").read_text()
    assert "could not start" in log and "Traceback" not in log


def test_two_masters_without_zookeeper_never_share_a_worker(cluster: Cluster) -> None:
    """Without ZooKeeper each master leads; a worker pointed at both serves only one of them
    and says why, rather than taking orders from two leaders (split brain)."""
    from minispark.masterurl import format_master_url

    first, second = cluster.master(), cluster.master()
    url = format_master_url([("127.0.0.1", first.port), ("127.0.0.1", second.port)])
    worker = cluster.worker(url)
    wait_for(lambda: "two masters accept this worker" in worker.log(), "the split-brain error")
    wait_for(lambda: first.json()["aliveworkers"] + second.json()["aliveworkers"] == 1, "one owner")
    owners = [m for m in (first, second) if m.json()["aliveworkers"] == 1]
    assert worker.json()["masterurl"] == url_of(owners[0])

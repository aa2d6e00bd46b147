"""Applications get executors placed by the master's policy; stopping frees them everywhere."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path
from typing import Any

from minispark import SparkConf, SparkContext

from . import harness
from .harness import Cluster, http, pid_alive, url_of, wait_for


def app_conf(master_url: str, **settings: str) -> SparkConf:
    """Settings as keyword arguments: ``spark_cores_max="2"`` is ``spark.cores.max=2``."""
    pairs = [f"{key.replace('_', '.')}={value}" for key, value in settings.items()]
    return harness.app_conf(master_url, *pairs)


def three_workers(cluster: Cluster, *master_conf: str) -> str:
    master = cluster.master(*master_conf)
    for _ in range(3):
        cluster.worker(url_of(master), cores=2, memory="1g")
    cluster.wait_registered(master, 3)
    return url_of(master)


def test_spread_out_uses_different_workers(cluster: Cluster) -> None:
    url = three_workers(cluster)
    conf = app_conf(url, spark_cores_max="2", spark_executor_cores="1")
    with SparkContext(conf=conf) as sc:
        executors = sc.wait_for_executors(2)
        assert len({e.worker_id for e in executors}) == 2
        assert all(e.cores == 1 for e in executors)


def test_consolidate_fills_one_worker_first(cluster: Cluster) -> None:
    url = three_workers(cluster, "spark.deploy.spreadOut=false")
    conf = app_conf(url, spark_cores_max="2", spark_executor_cores="1")
    with SparkContext(conf=conf) as sc:
        executors = sc.wait_for_executors(2)
        assert len({e.worker_id for e in executors}) == 1


def test_without_executor_cores_one_executor_per_worker_takes_all(cluster: Cluster) -> None:
    url = three_workers(cluster)
    with SparkContext(conf=app_conf(url)) as sc:
        executors = sc.wait_for_executors(3)
        assert Counter(e.worker_id for e in executors).most_common(1)[0][1] == 1
        assert sorted(e.cores for e in executors) == [2, 2, 2]


def test_default_cores_caps_an_app_without_cores_max(cluster: Cluster) -> None:
    url = three_workers(cluster, "spark.deploy.defaultCores=2")
    with SparkContext(conf=app_conf(url, spark_executor_cores="1")) as sc:
        executors = sc.wait_for_executors(2)
        master_json = cluster.daemons[0].json()
        assert master_json["activeapps"][0]["cores"] == 2
        assert len(executors) == 2


def test_stop_frees_executors_and_records_the_app(cluster: Cluster) -> None:
    master = cluster.master()
    worker = cluster.worker(
        url_of(master),
        "spark.worker.cleanup.interval=1s",
        "spark.worker.cleanup.appDataTtl=1s",
        cores=2,
        memory="1g",
    )
    cluster.wait_registered(master, 1)
    with SparkContext(conf=app_conf(url_of(master))) as sc:
        (executor,) = sc.wait_for_executors(1)
        app_id = sc.applicationId
        assert master.json()["workers"][0]["coresused"] == 2
        local_dir = cluster.root / worker.name / "local" / app_id
        assert local_dir.is_dir()  # the executor's scratch space, shuffle files later
        status, text = http(
            f"{worker.web}/logPage/?appId={app_id}&executorId={executor.exec_id}&logType=stderr"
        )
        assert status == 200 and "minispark Executor Command" in text
        assert http(f"{worker.web}/logPage/?appId=../../etc&executorId=0&logType=stderr")[0] == 400
    wait_for(lambda: not pid_alive(executor.pid), "the executor process to exit")
    state = master.json()
    assert state["activeapps"] == []
    assert [(a["id"], a["state"]) for a in state["completedapps"]] == [(app_id, "FINISHED")]
    wait_for(lambda: master.json()["workers"][0]["coresused"] == 0, "cores to be released")
    logs = cluster.root / worker.name / app_id / str(executor.exec_id)
    assert "registered with driver" in (logs / "stderr").read_text()
    wait_for(lambda: not local_dir.exists(), "the app's local dir to be removed at its end")
    # spark.worker.cleanup: the finished app's logs go once older than appDataTtl
    wait_for(lambda: not logs.exists(), "the old app dir to be cleaned up")
    assert (cluster.root / worker.name / "local").is_dir()  # not an app dir: never cleaned


def test_second_app_waits_fifo_until_the_first_ends(cluster: Cluster, tmp_path: Path) -> None:
    master = cluster.master()
    cluster.worker(url_of(master), cores=1, memory="1g")
    cluster.wait_registered(master, 1)
    with SparkContext(conf=app_conf(url_of(master))) as sc:
        sc.wait_for_executors(1)
        second = _submit_waiting_driver(tmp_path, url_of(master))
        wait_for(lambda: len(master.json()["activeapps"]) == 2, "the second application")
        waiting = [a for a in master.json()["activeapps"] if a["id"] != sc.applicationId]
        assert waiting[0]["state"] == "WAITING" and waiting[0]["cores"] == 0
    assert second.wait(60) == 0, second.stderr.read() if second.stderr else ""


def _submit_waiting_driver(tmp_path: Path, url: str) -> subprocess.Popen[str]:
    script = tmp_path / "second.py"
    script.write_text(
        textwrap.dedent("""
        from minispark import SparkContext
        with SparkContext(appName="second") as sc:
            sc.wait_for_executors(1, timeout=120)
    """)
    )
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "minispark",
            "submit",
            "--master",
            url,
            "--executor-memory",
            "256m",
            str(script),
        ],
        stderr=subprocess.PIPE,
        text=True,
    )


def kill_driver_after(tmp_path: Path, master: str, report: str) -> dict[str, Any]:
    """Submit a driver that writes ``report`` (a Python expression over ``sc``) as JSON and
    then sleeps; kill -9 it once the report is written, and return the report."""
    info = tmp_path / "info.json"
    script = tmp_path / "sleeper.py"
    script.write_text(
        "import json, time\n"
        "from minispark import SparkContext\n"
        "sc = SparkContext(appName='sleeper')\n"
        f"open({str(info)!r}, 'w').write(json.dumps({report}))\n"
        "time.sleep(600)\n"
    )
    command = [sys.executable, "-m", "minispark", "submit", "--master", master]
    driver = subprocess.Popen([*command, "--executor-memory", "256m", str(script)])
    try:
        text = wait_for(lambda: info.exists() and info.read_text(), "the driver's report")
        found: dict[str, Any] = json.loads(text)
    finally:
        driver.send_signal(signal.SIGKILL)
        driver.wait()
    return found


def test_driver_killed_ends_app_and_its_executors(cluster: Cluster, tmp_path: Path) -> None:
    master = cluster.master()
    cluster.worker(url_of(master), cores=1, memory="1g")
    cluster.wait_registered(master, 1)
    report = '{"app": sc.applicationId, "pids": [e.pid for e in sc.wait_for_executors(1)]}'
    found = kill_driver_after(tmp_path, url_of(master), report)
    wait_for(lambda: master.json()["completedapps"], "the app to complete")
    assert master.json()["completedapps"][0]["id"] == found["app"]
    assert master.json()["completedapps"][0]["state"] == "FINISHED"
    for pid in found["pids"]:
        wait_for(lambda pid=pid: not pid_alive(pid), f"executor {pid} to exit")


def test_local_cluster_is_torn_down_when_the_program_fails(tmp_path: Path) -> None:
    pids_file = tmp_path / "pids.json"
    script = tmp_path / "failing.py"
    script.write_text(
        textwrap.dedent(f"""
        import json
        from minispark import SparkContext
        sc = SparkContext(appName="failing")
        executors = sc.wait_for_executors(2)
        pids = [p.pid for p in sc._local.processes] + [e.pid for e in executors]
        open({str(pids_file)!r}, "w").write(json.dumps(pids))
        raise RuntimeError("the program failed on purpose")
    """)
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "minispark",
            "submit",
            "--master",
            "local-cluster[2,1,512]",
            "--executor-memory",
            "256m",
            str(script),
        ],
        capture_output=True,
        check=False,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1
    assert "the program failed on purpose" in result.stderr
    pids = json.loads(pids_file.read_text())
    assert len(pids) == 5  # master, two workers, two executors
    for pid in pids:
        wait_for(lambda pid=pid: not pid_alive(pid), f"process {pid} to exit")


def test_killed_driver_leaves_no_local_cluster_behind(tmp_path: Path) -> None:
    report = '{"dir": str(sc._local.dir), "pids": [p.pid for p in sc._local.processes]}'
    found = kill_driver_after(tmp_path, "local-cluster[1,1,512]", report)
    for pid in found["pids"]:
        wait_for(lambda pid=pid: not pid_alive(pid), f"daemon {pid} to exit")
    wait_for(lambda: not Path(found["dir"]).exists(), "the scratch dir to be removed")


def test_submit_propagates_the_exit_code(tmp_path: Path, cluster: Cluster) -> None:
    master = cluster.master()
    script = tmp_path / "exit3.py"
    script.write_text("import sys\nsys.exit(3)\n")
    result = subprocess.run(
        [sys.executable, "-m", "minispark", "submit", "--master", url_of(master), str(script)],
        capture_output=True,
        check=False,
        text=True,
        timeout=120,
    )
    assert result.returncode == 3, result.stderr


def test_submit_errors_are_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "MINISPARK_CONF_DIR": str(tmp_path)}
    cases = [
        (["submit", "--master", "yarn", str(tmp_path / "x.py")], "invalid master URL"),
        (["submit", "--master", "minispark://h:1", str(tmp_path / "missing.py")], "does not exist"),
        (["submit", str(tmp_path / "x.py")], "no master given"),
        (["worker", "minispark://h:1", "--memory", "lots"], "is not a size"),
    ]
    (tmp_path / "x.py").write_text("")
    for args, message in cases:
        result = subprocess.run(
            [sys.executable, "-m", "minispark", *args],
            capture_output=True,
            check=False,
            text=True,
            env=env,
            timeout=60,
        )
        assert result.returncode == 2, (args, result.stderr)
        assert message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr

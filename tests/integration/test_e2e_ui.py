"""What a Spark user checks, end to end, on real daemons and in a real browser.

One standalone cluster (a master and two workers, the cluster secret on) serves the module.
A driver program (``e2e_app.py``, a subprocess) runs a word count, a job whose task fails
once and then succeeds, and a job that fails for good, and stays RUNNING until the tests
let it go. Headless chromium then walks from the master's page to the application's UI and
on to an executor's log on its worker, going through HTTP Basic as a user does. After the
application ends, the history server (reading its event log) must show what the live UI
showed; and an event log on S3 (moto's server), written by a job that also reads S3 input,
must be listed and served. Screenshots: MINISPARK_TEST_ARTIFACTS/e2e, else the tmp dir.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fsspec
import pytest
from s3fs import S3FileSystem  # type: ignore[import-untyped]
from selenium import webdriver
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement

from tests.s3server import S3Server, s3_server

from .browser import artifacts, chromium, document_status, log_in, screenshot, settled
from .harness import GUARD_S, Cluster, Daemon, get_json, url_of, wait_for, web_headers

SECRET = "e2e-cluster-secret"
AUTH = ("spark.authenticate=true", f"spark.authenticate.secret={SECRET}")
REDACTED = "*********(redacted)"
LINES = [f"w{i % 7} w{i % 3} w{i % 11}" for i in range(3000)]
APP = Path(__file__).with_name("e2e_app.py")
APP_SETTINGS = (
    *AUTH,
    "spark.executor.memory=256m",
    "spark.task.maxFailures=2",  # the flaky task's one retry is enough; the doomed one fails
    "spark.eventLog.enabled=true",
)


def _call_site(action: str, marker: str) -> str:
    """The job's name, Spark's "<action> at <file>:<line>", for the program's line with
    ``marker``."""
    lines = APP.read_text().splitlines()
    line = 1 + next(i for i, text in enumerate(lines) if marker in text)
    return f"{action} at {APP.name}:{line}"


WORD_COUNT = _call_site("collect", ".reduceByKey(")
RETRIED = _call_site("count", ".map(flaky)")
DOOMED = _call_site("collect", ".map(doomed)")


@dataclass
class Site:
    """The module's cluster and S3 server, shared by every test here."""

    root: Path
    cluster: Cluster
    master: Daemon
    s3: S3Server
    artifacts: Path


@dataclass
class Running:
    """The driver program, its report, and what its UI said while it ran."""

    proc: subprocess.Popen[bytes]
    report: dict[str, Any]
    events: Path
    shuffle_files: dict[str, int]  # name -> bytes, in the workers' work dirs
    live: dict[str, Any] = field(default_factory=dict)  # REST path -> JSON

    @property
    def app_id(self) -> str:
        return str(self.report["app"])

    @property
    def ui(self) -> str:
        return str(self.report["ui"])


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("e2e")
    with s3_server(root) as s3, pytest.MonkeyPatch.context() as env:
        # The AWS variables reach the daemons (and so the executors) through the environment,
        # the way docs/eventlog.md tells a user to set them.
        for key, value in s3.env.items():
            env.setenv(key, value)
        S3FileSystem.clear_instance_cache()
        cluster = Cluster(root, conf=list(AUTH))
        try:
            master = cluster.master()
            for _ in range(2):
                cluster.worker(url_of(master), cores=1)
            cluster.wait_registered(master, 2)
            yield Site(root, cluster, master, s3, artifacts(root, "e2e"))
        finally:
            cluster.stop()
            S3FileSystem.clear_instance_cache()


def _start_app(site: Site, source: str, event_dir: str, *extra: str) -> subprocess.Popen[bytes]:
    settings = [*APP_SETTINGS, f"spark.eventLog.dir={event_dir}", *extra]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    with (site.root / "driver.log").open("ab") as log:  # the child keeps its own copy
        return subprocess.Popen(
            [sys.executable, str(APP), url_of(site.master), source, *settings],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            env=env,
        )


def _report(proc: subprocess.Popen[bytes]) -> dict[str, Any]:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line, f"the driver program ended early (exit {proc.wait()}); see driver.log"
    report: dict[str, Any] = json.loads(line)
    return report


def _finish(proc: subprocess.Popen[bytes]) -> None:
    """Let the driver program stop its context, and wait for it."""
    if proc.poll() is None:
        assert proc.stdin is not None
        proc.stdin.write(b"\n")
        proc.stdin.close()
    status = proc.wait(GUARD_S)
    if proc.stdout is not None:
        proc.stdout.close()
    assert status == 0, "the driver program failed; see driver.log"


HEADERS = web_headers(list(AUTH))


def _api(base: str, path: str) -> Any:
    return get_json(f"{base}/api/v1/{path}", HEADERS)


def _quiet(ui: str, app_id: str) -> bool:
    """Every job over and every task's end in the store (a failed stage's last tasks report
    after the job has already failed, as in Spark)."""
    jobs = _api(ui, f"applications/{app_id}/jobs")
    stages = _api(ui, f"applications/{app_id}/stages")
    return (
        len(jobs) == 3
        and all(j["status"] != "RUNNING" and j["numActiveTasks"] == 0 for j in jobs)
        and all(s["numActiveTasks"] == 0 for s in stages)
    )


def _snapshot(base: str, app_id: str) -> dict[str, Any]:
    """The REST answers the live UI and the history server must agree on."""
    app = f"applications/{app_id}"
    shot: dict[str, Any] = {"jobs": _api(base, f"{app}/jobs")}
    shot["stages"] = _api(base, f"{app}/stages")
    for stage in shot["stages"]:
        where = f"{app}/stages/{stage['stageId']}/{stage['attemptId']}"
        shot[where] = _api(base, where)
        shot[f"{where}/taskList"] = _api(base, f"{where}/taskList?length=100")
    shot["allexecutors"] = _api(base, f"{app}/allexecutors")
    shot["environment"] = _api(base, f"{app}/environment")
    return shot


def _shuffle_files(site: Site, app_id: str) -> dict[str, int]:
    found: dict[str, int] = {}
    for worker_dir in site.root.glob("worker-*"):  # their local dirs: <work dir>/local
        for path in worker_dir.rglob("shuffle_*.data"):
            if app_id in path.parts:
                found[path.name] = path.stat().st_size
    assert found, "no shuffle files in the workers' local dirs"
    return found


@pytest.fixture(scope="module")
def running(site: Site) -> Iterator[Running]:
    source = site.root / "words.txt"
    source.write_text("".join(line + "\n" for line in LINES))
    events = site.root / "events"
    events.mkdir()
    proc = _start_app(site, str(source), str(events))
    try:
        report = _report(proc)
        wait_for(lambda: _quiet(report["ui"], report["app"]), "the jobs' last task ends")
        run = Running(proc, report, events, _shuffle_files(site, report["app"]))
        run.live = _snapshot(run.ui, run.app_id)
        yield run
    finally:
        if proc.poll() is None:  # no test ended it: let it stop, or end it
            try:
                _finish(proc)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
                    assert proc.stdout is not None
                    proc.stdout.close()


@pytest.fixture(scope="module")
def browser(site: Site) -> Iterator[webdriver.Chrome]:
    with chromium(site.root / "chromium", window=(1400, 1000), scripts=False) as driver:
        log_in(driver, SECRET)
        yield driver


def _main(browser: webdriver.Chrome) -> str:
    return settled(lambda: str(browser.find_element(By.TAG_NAME, "main").text))


def _rows(table: WebElement) -> list[list[str]]:
    return [
        [c.text for c in row.find_elements(By.TAG_NAME, "td")]
        for row in table.find_elements(By.TAG_NAME, "tr")[1:]
    ]


def _table_after(browser: webdriver.Chrome, heading: str) -> list[list[str]]:
    """The rows of the first table after the <h2> that starts with ``heading``."""
    xpath = f"//h2[starts-with(normalize-space(), '{heading}')]/following::table[1]"
    return settled(lambda: _rows(browser.find_element(By.XPATH, xpath)))


# ----------------------------------------------------------------------------- the live UI


def _check_jobs_page(browser: webdriver.Chrome) -> None:
    """Each job's status and its tasks done / failed, live and in the history server alike."""
    rows = {r[0].split()[0]: r for r in _table_after(browser, "Completed Jobs")}
    assert rows.keys() == {"0", "1"}
    assert rows["0"][0].split() == ["0", "SUCCEEDED"] and rows["0"][4:] == ["2/2", "7/7"]
    assert rows["1"][1] == RETRIED
    assert rows["1"][4:] == ["1/1", "2/2 (1 failed)"]  # the flaky task's first attempt
    (failed,) = _table_after(browser, "Failed Jobs")
    assert failed[0].split() == ["2", "FAILED"] and failed[4:] == ["0/1", "0/1 (2 failed)"]
    assert "Task 0 in stage 3 failed 2 times" in failed[1]
    assert "ValueError: bad record 7" in failed[1]


def test_the_master_page_leads_through_basic_auth_to_the_running_app_s_jobs(
    site: Site, running: Running, browser: webdriver.Chrome
) -> None:
    # Without the secret: a 401 (the browser asks for a password), none of the cluster's state.
    log_in(browser, None)
    try:
        browser.get(site.master.web + "/")
        assert document_status(browser, site.master.web + "/") == 401
        assert running.app_id not in browser.page_source
    finally:
        log_in(browser, SECRET)
    browser.get(site.master.web + "/")
    assert document_status(browser, site.master.web + "/") == 200
    screenshot(browser, site.artifacts, "master")
    link = browser.find_element(By.LINK_TEXT, "e2e word count")  # the running app's row
    assert link.get_attribute("href") == running.ui + "/"
    link.click()
    wait_for(lambda: browser.current_url == running.ui + "/jobs/", "the application's UI")
    assert browser.find_elements(By.CSS_SELECTOR, 'meta[http-equiv="refresh"]')  # running
    screenshot(browser, site.artifacts, "jobs")
    _check_jobs_page(browser)


def _tasks(run: Running) -> list[dict[str, Any]]:
    """Every task attempt the live UI knew, from the stages' task lists."""
    return [t for key, got in run.live.items() if key.endswith("/taskList") for t in got]


def _stage(run: Running, name: str) -> dict[str, Any]:
    (found,) = [s for s in run.live["stages"] if s["name"] == name]
    return found


def _check_stages_page(browser: webdriver.Chrome, site: Site, run: Running) -> None:
    """Each stage's tasks, input and shuffle on the stages list, live and in the history
    server alike: the map stage wrote what the reduce stage read, the files on disk."""
    completed = {r[0]: r[4:] for r in _table_after(browser, "Completed Stages")}
    (failed,) = _table_after(browser, "Failed Stages")
    maps, reduces = _word_count_stages(run)
    retried, doomed = _stage(run, RETRIED), _stage(run, DOOMED)
    size, read = (
        _size(sum(run.shuffle_files.values())),
        _size((site.root / "words.txt").stat().st_size),
    )
    assert completed == {
        str(maps["stageId"]): ["4/4", read, "", "", size],
        str(reduces["stageId"]): ["3/3", "", "", size, ""],
        str(retried["stageId"]): ["2/2 (1 failed)", _size(retried["inputBytes"]), "", "", ""],
    }
    assert failed[0] == str(doomed["stageId"]) and failed[4] == "0/1 (2 failed)"
    assert f"Task 0 in stage {doomed['stageId']} failed 2 times" in failed[-1]


def _word_count_stages(run: Running) -> tuple[dict[str, Any], dict[str, Any]]:
    """The word count's map stage and the reduce stage that reads its shuffle."""
    (reduces,) = [s for s in run.live["stages"] if s["jobIds"] == [0] and s["parentIds"]]
    (maps,) = [s for s in run.live["stages"] if s["stageId"] in reduces["parentIds"]]
    return maps, reduces


def _size(n: int) -> str:
    """A byte count as the pages print it."""
    return f"{n:.1f} B" if n < 1024 else f"{n / 1024:.1f} KiB"


def _open_error(browser: webdriver.Chrome, site: Site, shot: str) -> tuple[str, str]:
    """The failed task's error in the task table: its one line, then (opened, no script:
    a <details>) its traceback."""

    def read() -> tuple[str, str]:
        error = browser.find_element(By.CSS_SELECTOR, "#tasks ~ .scroll td details")
        summary = error.find_element(By.TAG_NAME, "summary")
        summary.click()
        trace = error.find_element(By.TAG_NAME, "pre")
        ActionChains(browser).scroll_to_element(trace).perform()  # for the screenshot
        return str(summary.text), str(trace.text)

    line, trace = settled(read)
    screenshot(browser, site.artifacts, shot)
    return line, trace


def test_stage_pages_show_the_retried_task_the_failure_and_the_shuffle(
    site: Site, running: Running, browser: webdriver.Chrome
) -> None:
    # The job whose task failed once: its one stage, three attempts, the first one's error.
    browser.get(running.ui + "/jobs/")
    browser.find_element(By.LINK_TEXT, RETRIED).click()
    assert browser.title.endswith("Details for Job 1")
    browser.find_element(By.LINK_TEXT, RETRIED).click()
    retried = _stage(running, RETRIED)
    assert browser.title.endswith(f"Details for Stage {retried['stageId']} (Attempt 0)")
    text = _main(browser)
    assert "Status: COMPLETE" in text
    assert "Tasks: 2 succeeded, 1 failed, 0 running, of 2" in text
    assert "Tasks (3)" in text
    line, trace = _open_error(browser, site, "stage-retried")
    assert line == "RuntimeError: flaky record 5 (first attempt)"
    assert "in flaky" in trace and trace.rstrip().endswith(line)

    # The job that failed for good: the stage's reason, and the task's traceback.
    doomed = _stage(running, DOOMED)
    browser.get(running.ui + f"/stages/stage/?id={doomed['stageId']}&attempt=0")
    text = _main(browser)
    assert "Status: FAILED" in text
    assert "Tasks: 0 succeeded, 2 failed, 0 running, of 1" in text
    assert "Summary Metrics for 0 Completed Tasks\nNo task has completed." in text
    assert f"Task 0 in stage {doomed['stageId']} failed 2 times" in text
    line, trace = _open_error(browser, site, "stage-failed")
    assert line == "ValueError: bad record 7"
    assert "in doomed" in trace

    # The word count: its map stage wrote what its reduce stage read, on the stages list.
    browser.get(running.ui + "/stages/")
    _check_stages_page(browser, site, running)
    screenshot(browser, site.artifacts, "stages")
    maps, reduces = _word_count_stages(running)
    size, records = _size(sum(running.shuffle_files.values())), maps["shuffleWriteRecords"]
    browser.get(running.ui + f"/stages/stage/?id={maps['stageId']}&attempt=0")
    text = _main(browser)
    assert f"Shuffle Write Size / Records: {size} / {records}" in text
    assert (
        f"Input Size / Records: {_size((site.root / 'words.txt').stat().st_size)} / {len(LINES)}"
        in text
    )
    assert "Tasks: 4 succeeded, 0 failed, 0 running, of 4" in text
    browser.get(running.ui + f"/stages/stage/?id={reduces['stageId']}&attempt=0")
    text = _main(browser)
    assert f"Shuffle Read Size / Records: {size} / {records}" in text
    assert "Tasks: 3 succeeded, 0 failed, 0 running, of 3" in text
    screenshot(browser, site.artifacts, "stage-shuffle-read")


def test_executors_page_counts_each_executor_s_tasks_and_links_to_its_logs(
    site: Site, running: Running, browser: webdriver.Chrome
) -> None:
    tasks = _tasks(running)
    browser.get(running.ui + "/executors/")
    rows = _table_after(browser, "Executors")
    screenshot(browser, site.artifacts, "executors")
    assert [r[0] for r in rows] == ["0", "1"]  # by id, whichever registered first
    for row in rows:
        mine = Counter(t["status"] for t in tasks if t["executorId"] == row[0])
        # Status, cores, active, failed, complete, total: as its tasks say.
        assert row[2:8] == [
            "Active",
            "1",
            "0",
            str(mine["FAILED"]),
            str(mine["SUCCESS"]),
            str(mine.total()),
        ]
    assert sum(int(r[5]) for r in rows) == 3  # the flaky first attempt and the doomed two

    # The executor that ran the flaky first attempt printed about it: its stdout, on its
    # worker's page, says so.
    (first,) = [t for t in tasks if "flaky record" in (t["errorMessage"] or "")]
    mine = f"//h2[.='Executors']/following::table[1]//tr[td[1]='{first['executorId']}']"

    def row() -> WebElement:
        return browser.find_element(By.XPATH, mine)

    def follow(link: WebElement) -> str:
        href = str(link.get_attribute("href"))
        link.click()
        return href

    href = settled(lambda: follow(row().find_element(By.LINK_TEXT, "stdout")))
    assert href.startswith("http://127.0.0.1:") and "/logPage/?" in href
    assert browser.current_url == href
    body = browser.find_element(By.TAG_NAME, "body").text
    assert "flaky: first attempt at record 5 fails" in body
    screenshot(browser, site.artifacts, "executor-stdout")
    browser.back()
    settled(lambda: follow(row().find_element(By.LINK_TEXT, "stderr")))
    assert "/logPage/?" in browser.current_url and "logType=stderr" in browser.current_url
    log = browser.find_element(By.TAG_NAME, "body").text  # the executor's own log
    assert "minispark Executor Command:" in log and f"{running.app_id}/" in log
    screenshot(browser, site.artifacts, "executor-stderr")


def test_environment_shows_the_app_s_properties_with_the_secret_redacted(
    site: Site, running: Running, browser: webdriver.Chrome
) -> None:
    browser.get(running.ui + "/environment/")
    properties = dict(settled(lambda: _table_after(browser, "Spark Properties")))
    screenshot(browser, site.artifacts, "environment")
    assert properties["spark.app.name"] == "e2e word count"
    assert properties["spark.task.maxFailures"] == "2"
    assert properties["spark.eventLog.dir"] == str(running.events)
    assert properties["spark.authenticate.secret"] == REDACTED
    assert SECRET not in browser.page_source
    runtime = dict(_table_after(browser, "Runtime Information"))
    assert runtime["pythonVersion"] == platform.python_version()  # the driver's: ours


def test_rest_figures_match_the_input_and_the_shuffle_files_on_disk(
    site: Site, running: Running
) -> None:
    """Through /api/v1 of the live UI (test_eventlog checks the same figures in the log)."""
    assert running.report["counts"] == Counter(w for line in LINES for w in line.split())
    jobs = {j["jobId"]: j for j in running.live["jobs"]}
    figures = ("status", "numTasks", "numCompletedTasks", "numFailedTasks", "numFailedStages")
    assert [tuple(jobs[n][k] for k in figures) for n in range(3)] == [
        ("SUCCEEDED", 7, 7, 0, 0),
        ("SUCCEEDED", 2, 2, 1, 0),  # the flaky task: one failed attempt, then done
        ("FAILED", 1, 0, 2, 1),  # the doomed task, twice (spark.task.maxFailures=2)
    ]
    maps, reduces = _word_count_stages(running)
    source = site.root / "words.txt"
    assert (maps["inputRecords"], maps["inputBytes"]) == (len(LINES), source.stat().st_size)
    written = sum(running.shuffle_files.values())
    assert maps["shuffleWriteBytes"] == reduces["shuffleReadBytes"] == written > 0
    assert maps["shuffleWriteRecords"] == reduces["shuffleReadRecords"] > 0

    # Each map task's bytes are its own data file's size.
    where = f"applications/{running.app_id}/stages"
    map_tasks = running.live[f"{where}/{maps['stageId']}/0/taskList"]
    by_map = {int(name.split("_")[2]): size for name, size in running.shuffle_files.items()}
    assert {
        t["index"]: t["taskMetrics"]["shuffleWriteMetrics"]["bytesWritten"] for t in map_tasks
    } == by_map
    reads = [
        t["taskMetrics"]["shuffleReadMetrics"]
        for t in running.live[f"{where}/{reduces['stageId']}/0/taskList"]
    ]
    assert len(reads) == 3
    assert sum(r["recordsRead"] for r in reads) == maps["shuffleWriteRecords"]
    assert sum(r["localBytesRead"] + r["remoteBytesRead"] for r in reads) == written
    # A reduce task fetches remotely exactly the blocks of maps that ran on the other worker.
    mappers = Counter(t["executorId"] for t in map_tasks)
    for task in running.live[f"{where}/{reduces['stageId']}/0/taskList"]:
        read = task["taskMetrics"]["shuffleReadMetrics"]
        remote = sum(n for e, n in mappers.items() if e != task["executorId"])
        assert (read["remoteBlocksFetched"], read["localBlocksFetched"]) == (
            remote,
            len(map_tasks) - remote,
        )
    assert len(mappers) == 2  # both executors ran maps: the shuffle crossed workers

    executors = running.live["allexecutors"]
    assert sum(e["totalShuffleWrite"] for e in executors) == written
    assert sum(e["totalShuffleRead"] for e in executors) == written
    stages = running.live["stages"]
    assert sum(e["totalInputBytes"] for e in executors) == sum(s["inputBytes"] for s in stages)
    assert sum(e["completedTasks"] for e in executors) == sum(
        j["numCompletedTasks"] for j in jobs.values()
    )
    assert sum(e["failedTasks"] for e in executors) == 3


# ------------------------------------------------------------------------- after the end


def _differences(live: Any, history: Any, where: str = "") -> list[str]:
    """Every path at which the two JSON documents differ."""
    if isinstance(live, dict) and isinstance(history, dict):
        keys = sorted(live.keys() | history.keys())
        return [d for k in keys for d in _differences(live.get(k), history.get(k), f"{where}.{k}")]
    if isinstance(live, list) and isinstance(history, list) and len(live) == len(history):
        return [
            d
            for i, (a, b) in enumerate(zip(live, history, strict=True))
            for d in _differences(a, b, f"{where}[{i}]")
        ]
    return [] if live == history else [f"{where}: {live!r} -> {history!r}"]


@pytest.fixture(scope="module")
def history(site: Site, running: Running) -> Daemon:
    """The application ended (its log renamed from .inprogress), a history server on it."""
    _finish(running.proc)
    wait_for((running.events / running.app_id).is_file, "the completed event log")
    return site.cluster.history(str(running.events), "spark.history.fs.update.interval=200ms")


def test_the_history_server_shows_what_the_live_ui_showed(
    site: Site, running: Running, history: Daemon
) -> None:
    def listed() -> list[dict[str, Any]]:
        return [a for a in _api(history.web, "applications") if a["id"] == running.app_id]

    (app,) = wait_for(listed, "the history server to list the application")
    assert app["attempts"][0]["completed"] is True
    replayed = _snapshot(history.web, running.app_id)
    # Identical, but for the executors: the application's end removed them after the live
    # UI was read (the live UI saw them active, the log ends with their removal).
    changed = {d.split(":")[0] for d in _differences(running.live, replayed)}
    removal = ("isActive", "removeTime", "removeReason")
    assert changed == {f".allexecutors[{i}].{k}" for i in range(2) for k in removal}
    for executor in replayed["allexecutors"]:
        assert executor["isActive"] is False and executor["removeReason"]
    end = app["attempts"][0]["endTimeEpoch"]
    assert end >= max(_epoch(j["completionTime"]) for j in replayed["jobs"])


def _epoch(stamp: str) -> int:
    """Spark's REST time string, in epoch ms."""
    when = datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%f%Z")
    return int(when.replace(tzinfo=datetime.UTC).timestamp() * 1000)


def test_the_history_server_s_pages_show_the_same_jobs_stages_and_counts(
    site: Site, running: Running, history: Daemon, browser: webdriver.Chrome
) -> None:
    browser.get(history.web + "/")
    wait_for(lambda: _in_list(browser, running.app_id), "the application in the history list")
    screenshot(browser, site.artifacts, "history-list")
    assert "Completed applications (1)" in browser.page_source
    browser.find_element(By.LINK_TEXT, running.app_id).click()
    assert browser.current_url == f"{history.web}/history/{running.app_id}/jobs/"
    assert not browser.find_elements(By.CSS_SELECTOR, 'meta[http-equiv="refresh"]')  # ended
    _check_jobs_page(browser)
    screenshot(browser, site.artifacts, "history-jobs")

    retried = _stage(running, RETRIED)
    browser.get(
        f"{history.web}/history/{running.app_id}/stages/stage/?id={retried['stageId']}&attempt=0"
    )
    text = _main(browser)
    assert "Tasks: 2 succeeded, 1 failed, 0 running, of 2" in text and "Tasks (3)" in text
    line, trace = _open_error(browser, site, "history-stage-retried")
    assert line == "RuntimeError: flaky record 5 (first attempt)" and "in flaky" in trace

    browser.get(f"{history.web}/history/{running.app_id}/stages/")
    _check_stages_page(browser, site, running)
    screenshot(browser, site.artifacts, "history-stages")

    browser.get(f"{history.web}/history/{running.app_id}/executors/")
    rows = _table_after(browser, "Executors")
    screenshot(browser, site.artifacts, "history-executors")
    live = {e["id"]: e for e in running.live["allexecutors"]}
    assert [r[0] for r in rows] == ["0", "1"]
    for row in rows:
        e = live[row[0]]
        assert row[2:8] == [
            "Dead",
            "1",
            "0",
            str(e["failedTasks"]),
            str(e["completedTasks"]),
            str(e["totalTasks"]),
        ]


def _in_list(browser: webdriver.Chrome, app_id: str) -> bool:
    browser.refresh()
    return bool(browser.find_elements(By.LINK_TEXT, app_id))


# ---------------------------------------------------------------------------------- on S3


def test_an_event_log_on_s3_from_a_job_reading_s3_is_listed_and_served(
    site: Site, history: Daemon, browser: webdriver.Chrome
) -> None:
    # (After the first application ended: it held every core of the cluster.)
    fs = fsspec.filesystem("s3")
    text = "".join(line + "\n" for line in LINES).encode()
    with fs.open(f"{site.s3.bucket}/input/words.txt", "wb") as f:
        f.write(text)
    events = site.s3.url("events")
    proc = _start_app(site, site.s3.url("input/words.txt"), events, "spark.eventLog.compress=true")
    report = _report(proc)
    _finish(proc)
    assert report["counts"] == Counter(w for line in LINES for w in line.split())
    fs.invalidate_cache()
    assert fs.ls(f"{site.s3.bucket}/events") == [f"{site.s3.bucket}/events/{report['app']}.gz"]

    # A history server reading the bucket, its credentials from the AWS variables.
    server = site.cluster.history(events, "spark.history.fs.update.interval=200ms")

    def listed() -> list[dict[str, Any]]:
        return [a for a in _api(server.web, "applications") if a["id"] == report["app"]]

    (app,) = wait_for(listed, "the history server to list the application on S3")
    assert app["attempts"][0]["completed"] is True
    jobs = _api(server.web, f"applications/{report['app']}/jobs")
    counts = [(j["status"], j["numCompletedTasks"], j["numFailedTasks"]) for j in jobs]
    assert counts == [("FAILED", 0, 2), ("SUCCEEDED", 2, 1), ("SUCCEEDED", 7, 0)]
    stages = _api(server.web, f"applications/{report['app']}/stages")
    (maps,) = [s for s in stages if s["jobIds"] == [0] and s["inputRecords"]]
    assert (maps["inputRecords"], maps["inputBytes"]) == (len(LINES), len(text))

    browser.get(server.web + "/")
    wait_for(lambda: _in_list(browser, report["app"]), "the S3 application in the list")
    assert f"Event logs: {events}" in browser.page_source
    screenshot(browser, site.artifacts, "history-s3-list")
    browser.find_element(By.LINK_TEXT, report["app"]).click()
    _check_jobs_page(browser)
    screenshot(browser, site.artifacts, "history-s3-jobs")

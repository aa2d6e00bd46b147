"""A real browser (Debian's headless chromium, scripts off) on the driver's application UI,
served by start_ui from a store fed the events of a word count with a failed task, a failed
job and a job still running: what a Spark user sees, and that the pages keep up by
themselves. The screenshots are saved (MINISPARK_TEST_ARTIFACTS, else the test's tmp dir)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By

from minispark.appstatus.store import AppStore
from tests.appevents import (
    T0,
    TRACE,
    App,
    failure,
    shuffle_job,
    stage_info,
    task_metrics,
    where,
)

from .browser import artifacts, chromium, screenshot, settled
from .harness import wait_for
from .uiserver import LoopThread, feed, served

HOSTILE = "<img src=x onerror=alert(1)>wordcount"
REDACTED = "*********(redacted)"


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    return artifacts(tmp_path, "app-ui")


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    with chromium(tmp_path / "chromium", window=(1400, 1000), scripts=False) as driver:
        yield driver


def _application() -> tuple[App, dict[str, object]]:
    """A finished word count (job 0), a failed job (1) and a running one (2)."""
    app = App(name=HOSTILE).start(
        props=[
            ["spark.app.name", HOSTILE],
            ["spark.authenticate.secret", REDACTED],
            ["spark.executor.memory", "1g"],
        ]
    )
    shuffle_job(app)
    bad = stage_info(2, "count at wordcount.py:14", 2)
    app.job_start(1, T0 + 2000, bad)
    app.stage_submitted(bad, T0 + 2001)
    for attempt in range(2):
        app.task(
            bad,
            0,
            T0 + 2002 + attempt * 10,
            5,
            executor="1",
            attempt=attempt,
            reason=failure("bad record <script>", TRACE),
        )
    app.stage_completed(
        bad, T0 + 2100, reason="Task 0 in stage 2.0 failed 2 times; most recent failure: ValueError"
    )
    app.job_end(
        1, T0 + 2101, error="Job aborted due to stage failure: Task 0 in stage 2.0 failed 2 times"
    )
    running = stage_info(3, "saveAsTextFile at wordcount.py:20", 4)
    app.job_start(2, T0 + 3000, running)
    app.stage_submitted(running, T0 + 3001)
    app.task(
        running,
        0,
        T0 + 3002,
        40,
        metrics=task_metrics(run_ms=40, input_bytes=4096, input_records=64),
    )
    pending = app.task_started(running, 1, T0 + 3003)
    end = App.task_end(
        where(running), {**pending, "Finish Time": T0 + 3050}, "ResultTask", None, None
    )
    return app, end


@dataclass
class Served:
    url: str
    loop: LoopThread
    store: AppStore
    app: App
    later_end: dict[str, Any]  # the running job's second task, finishing


@pytest.fixture
def served_app() -> Iterator[Served]:
    app, later_end = _application()
    store = AppStore(clock=lambda: T0 + 5000)  # "now", for the running job's duration
    for event in app.events:
        store.apply(event)
    with served(store) as (ui, loop):
        yield Served(ui.url, loop, store, app, later_end)


def _first_table(browser: webdriver.Chrome) -> str:
    """The first table's text; "" while the page is between two loads and has none."""
    tables = browser.find_elements(By.TAG_NAME, "table")
    return str(tables[0].text) if tables else ""


def _main_text(browser: webdriver.Chrome) -> str:
    return str(browser.find_element(By.TAG_NAME, "main").text)


def test_the_jobs_page_shows_each_job_and_keeps_up_by_itself(
    browser: webdriver.Chrome, shots: Path, served_app: Served
) -> None:
    # One job of each kind, the failed one with its message, the hostile name as text.
    browser.get(served_app.url + "/")
    assert browser.current_url == served_app.url + "/jobs/"
    assert browser.title == f"{HOSTILE} - Spark Jobs"
    headings = [h.text for h in browser.find_elements(By.TAG_NAME, "h2")]
    assert headings == ["Active Jobs (1)", "Completed Jobs (1)", "Failed Jobs (1)"]
    running, done, failed = (t.text for t in browser.find_elements(By.TAG_NAME, "table"))
    assert "collect at wordcount.py:9" in done and "2/2" in done and "4/4 (1 failed)" in done
    assert "Job aborted due to stage failure" in failed and "0/2 (2 failed)" in failed
    assert "1/4 (1 running)" in running and "2.0 s" in running
    assert HOSTILE in browser.find_element(By.TAG_NAME, "nav").text  # text, not markup
    assert not browser.find_elements(By.CSS_SELECTOR, "img")
    assert browser.find_elements(By.CSS_SELECTOR, 'meta[http-equiv="refresh"]')
    screenshot(browser, shots, "jobs")

    # The running job moves on: the page refreshes itself, no reload asked.
    feed(served_app.loop, served_app.store, [served_app.later_end])
    wait_for(
        lambda: "2/4" in settled(lambda: _first_table(browser)),
        "the Jobs page to refresh itself with the finished task",
    )


def test_a_job_leads_to_its_stages_and_a_failed_task_s_traceback(
    browser: webdriver.Chrome, shots: Path, served_app: Served
) -> None:
    browser.get(served_app.url + "/jobs/")
    browser.find_element(By.LINK_TEXT, "collect at wordcount.py:9").click()
    assert browser.title.endswith("Details for Job 0")
    text = _main_text(browser)
    assert "Completed Stages (2)" in text and "reduceByKey at wordcount.py:8" in text
    assert "Pending Stages" not in text  # empty tables are left out
    screenshot(browser, shots, "job")

    browser.find_element(By.LINK_TEXT, "collect at wordcount.py:9").click()
    assert browser.title.endswith("Details for Stage 1 (Attempt 0)")
    text = _main_text(browser)
    assert "Summary Metrics for 2 Completed Tasks" in text
    assert "Shuffle Read Size / Records: 600.0 B / 8" in text
    # Which executor is behind: executor 0's one task failed, executor 1 ran the other two.
    by_executor = browser.find_elements(By.TAG_NAME, "table")[1]
    shares = [
        [c.text for c in row.find_elements(By.TAG_NAME, "td")[:6]]
        for row in by_executor.find_elements(By.TAG_NAME, "tr")[1:]
    ]
    assert shares == [
        ["0", "127.0.0.1", "10 ms", "1", "1", "0"],
        ["1", "127.0.0.1", "50 ms", "2", "0", "2"],
    ]
    rows = browser.find_elements(By.CSS_SELECTOR, "#tasks + .pager + .scroll table tr")
    statuses = [r.find_elements(By.TAG_NAME, "td")[3].text for r in rows[1:]]
    assert statuses == ["FAILED", "SUCCESS", "SUCCESS"]
    error = browser.find_element(By.CSS_SELECTOR, "td details summary")
    assert error.text == "ValueError: invalid literal for int() with base 10: 'x'"
    error.click()  # opens without any script: <details>
    trace = browser.find_element(By.CSS_SELECTOR, "td details pre").text
    assert 'File "wordcount.py", line 9, in parse' in trace
    screenshot(browser, shots, "stage")


def test_stages_executors_and_environment(
    browser: webdriver.Chrome, shots: Path, served_app: Served
) -> None:
    browser.get(served_app.url + "/stages/")
    assert browser.find_element(By.ID, "failed").text == "Failed Stages (1)"
    assert "Task 0 in stage 2.0 failed 2 times" in _main_text(browser)
    screenshot(browser, shots, "stages")

    # Executors: cores, active / failed / complete / total tasks, and the worker's log links.
    browser.find_element(By.LINK_TEXT, "Executors").click()
    table = browser.find_elements(By.TAG_NAME, "table")[1]
    first = table.find_elements(By.TAG_NAME, "tr")[1].find_elements(By.TAG_NAME, "td")
    assert [c.text for c in first[:8]] == ["0", "127.0.0.1", "Active", "2", "1", "1", "2", "4"]
    stdout = table.find_element(By.LINK_TEXT, "stdout")
    added = served_app.app.events[3]
    assert stdout.get_attribute("href") == added["Executor Info"]["Log Urls"]["stdout"]
    screenshot(browser, shots, "executors")

    # Environment: the properties, the secret as the driver redacted it.
    browser.find_element(By.LINK_TEXT, "Environment").click()
    text = _main_text(browser)
    assert f"spark.authenticate.secret {REDACTED}" in text
    assert "python 3.11.2" in text
    screenshot(browser, shots, "environment")

"""A real browser (Debian's headless chromium, scripts off) on the driver's application UI,
served by start_ui from a store fed the events of a word count with a failed task, a failed
job and a job still running: what a Spark user sees, and that the pages keep up by
themselves. The screenshots are saved (MINISPARK_TEST_ARTIFACTS, else the test's tmp dir)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from minispark.appstatus.store import AppStore
from tests.appevents import T0, TRACE, App, failure, shuffle_job, stage_info, task_metrics

from .harness import wait_for
from .uiserver import feed, served

HOSTILE = "<img src=x onerror=alert(1)>wordcount"
REDACTED = "*********(redacted)"


@pytest.fixture
def artifacts(tmp_path: Path) -> Path:
    found = Path(os.environ.get("MINISPARK_TEST_ARTIFACTS") or tmp_path) / "app-ui"
    found.mkdir(parents=True, exist_ok=True)
    return found


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-dev-shm-usage",
        f"--user-data-dir={tmp_path / 'chromium'}",
        "--window-size=1400,1000",
    ):
        options.add_argument(flag)
    # The pages must read with scripts off: turn them off for the page's own content.
    options.add_experimental_option(
        "prefs", {"profile.managed_default_content_settings.javascript": 2}
    )
    driver = webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))
    try:
        yield driver
    finally:
        driver.quit()


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
    pending = app.task_info(1, T0 + 3003, "0", 0)
    where = {"Stage ID": 3, "Stage Attempt ID": 0}
    app.events.append({"Event": "SparkListenerTaskStart", **where, "Task Info": pending})
    end = App.task_end(where, {**pending, "Finish Time": T0 + 3050}, "ResultTask", None, None)
    return app, end


def test_a_user_reads_the_application_ui_in_a_browser(
    browser: webdriver.Chrome, artifacts: Path
) -> None:
    app, later_end = _application()
    store = AppStore(clock=lambda: T0 + 5000)  # "now", for the running job's duration
    for event in app.events:
        store.apply(event)
    with served(store) as (ui, loop):

        def shot(name: str) -> None:
            path = artifacts / f"{name}.png"
            assert browser.save_screenshot(str(path))
            print(f"screenshot: {path}")

        # Jobs: one of each kind, the failed one with its message, the name shown as text.
        browser.get(ui.url + "/")
        assert browser.current_url == ui.url + "/jobs/"
        assert browser.title == f"{HOSTILE} - Spark Jobs"
        headings = [h.text for h in browser.find_elements(By.TAG_NAME, "h2")]
        assert headings == ["Active Jobs (1)", "Completed Jobs (1)", "Failed Jobs (1)"]
        tables = browser.find_elements(By.TAG_NAME, "table")
        assert "collect at wordcount.py:9" in tables[1].text and "2/2" in tables[1].text
        assert "4/4 (1 failed)" in tables[1].text
        assert "Job aborted due to stage failure" in tables[2].text
        assert "1/4 (1 running)" in tables[0].text
        assert HOSTILE in browser.find_element(By.TAG_NAME, "nav").text  # text, not markup
        assert not browser.find_elements(By.CSS_SELECTOR, "img")
        assert browser.find_elements(By.CSS_SELECTOR, 'meta[http-equiv="refresh"]')
        shot("jobs")

        # The running job moves on: the page refreshes itself, no reload asked.
        feed(loop, store, [later_end])
        wait_for(
            lambda: "2/4" in browser.find_elements(By.TAG_NAME, "table")[0].text,
            "the Jobs page to refresh itself with the finished task",
        )

        # Job 0 → its stages → the result stage, with the failed attempt and its traceback.
        browser.find_element(By.LINK_TEXT, "collect at wordcount.py:9").click()
        assert browser.title.endswith("Details for Job 0")
        stage_text = browser.find_element(By.TAG_NAME, "main").text
        assert (
            "Completed Stages (2)" in stage_text and "reduceByKey at wordcount.py:8" in stage_text
        )
        shot("job")
        browser.find_element(By.LINK_TEXT, "collect at wordcount.py:9").click()
        assert browser.title.endswith("Details for Stage 1 (Attempt 0)")
        main = browser.find_element(By.TAG_NAME, "main")
        assert "Summary Metrics for 2 Completed Tasks" in main.text
        rows = browser.find_elements(By.CSS_SELECTOR, "#tasks + .pager + table tr")
        assert [r.find_elements(By.TAG_NAME, "td")[3].text for r in rows[1:]] == [
            "FAILED",
            "SUCCESS",
            "SUCCESS",
        ]
        error = browser.find_element(By.CSS_SELECTOR, "td details summary")
        assert error.text == "ValueError: invalid literal for int() with base 10: 'x'"
        error.click()  # opens without any script: <details>
        assert (
            'File "wordcount.py", line 9, in parse'
            in browser.find_element(By.CSS_SELECTOR, "td details pre").text
        )
        shot("stage")

        # Stages: the failed stage with its reason.
        browser.find_element(By.LINK_TEXT, "Stages").click()
        failed = browser.find_element(By.ID, "failed")
        assert failed.text == "Failed Stages (1)"
        assert (
            "Task 0 in stage 2.0 failed 2 times" in browser.find_element(By.TAG_NAME, "main").text
        )
        shot("stages")

        # Executors: counts and the links to the worker's log pages.
        browser.find_element(By.LINK_TEXT, "Executors").click()
        table = browser.find_elements(By.TAG_NAME, "table")[1]
        first = table.find_elements(By.TAG_NAME, "tr")[1].find_elements(By.TAG_NAME, "td")
        assert [c.text for c in first[:8]] == ["0", "127.0.0.1", "Active", "2", "0", "1", "3", "4"]
        stdout = table.find_element(By.LINK_TEXT, "stdout")
        assert stdout.get_attribute("href") == app.events[3]["Executor Info"]["Log Urls"]["stdout"]
        shot("executors")

        # Environment: the properties, the secret as the driver redacted it.
        browser.find_element(By.LINK_TEXT, "Environment").click()
        text = browser.find_element(By.TAG_NAME, "main").text
        assert f"spark.authenticate.secret {REDACTED}" in text
        assert "python 3.11.2" in text
        shot("environment")

"""The history server in a real browser (Debian's headless chromium through selenium): the
list of applications, a link from it to an application's pages, and a log that cannot be
shown explaining itself. Screenshots: MINISPARK_TEST_ARTIFACTS/history, else the tmp dir."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By

from .browser import artifacts, chromium, screenshot
from .harness import Cluster
from .test_history_server import mixed_directory


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    with chromium(tmp_path / "chromium") as driver:
        yield driver


def test_from_the_list_to_an_application_and_a_broken_log(
    cluster: Cluster, browser: webdriver.Chrome, tmp_path: Path
) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    mixed_directory(logs)
    shots = artifacts(tmp_path, "history")
    server = cluster.history(str(logs), "spark.history.fs.update.interval=200ms")

    browser.get(server.web + "/")
    assert "Completed applications (3)" in browser.page_source
    screenshot(browser, shots, "history-list")
    # The hostile name is shown as text, not run as markup.
    assert browser.find_element(By.XPATH, "//td[text()='<b>wc</b>']")

    browser.find_element(By.LINK_TEXT, "app-1").click()
    assert browser.current_url == f"{server.web}/history/app-1/jobs/"
    assert "collect at history_test.py:1" in browser.page_source
    browser.get(f"{server.web}/history/app-1/stages/stage/?id=0&attempt=0")
    assert "ValueError: bad 0" in browser.page_source
    screenshot(browser, shots, "history-stage")

    browser.get(server.web + "/")
    browser.find_element(By.LINK_TEXT, "app-7").click()
    assert "line 7 is not JSON" in browser.page_source
    screenshot(browser, shots, "history-broken")
    browser.get(server.web + "/")
    assert "line 7 is not JSON" in browser.page_source  # now in the list's Problem column
    screenshot(browser, shots, "history-list-after")

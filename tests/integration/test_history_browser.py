"""The history server in a real browser (Debian's headless chromium through selenium): the
list of applications, a link from it to an application's pages, and a log that cannot be
shown explaining itself. Screenshots are saved beside the test's files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from .harness import Cluster
from .test_history_server import mixed_directory


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-dev-shm-usage",
        f"--user-data-dir={tmp_path / 'chromium'}",
        "--window-size=1280,900",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))
    try:
        yield driver
    finally:
        driver.quit()


def shot(browser: webdriver.Chrome, path: Path) -> None:
    assert browser.save_screenshot(str(path))
    print(f"screenshot: {path}")


def test_from_the_list_to_an_application_and_a_broken_log(
    cluster: Cluster, browser: webdriver.Chrome, tmp_path: Path
) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    mixed_directory(logs)
    server = cluster.history(str(logs), "spark.history.fs.update.interval=200ms")

    browser.get(server.web + "/")
    assert "Completed applications (3)" in browser.page_source
    shot(browser, tmp_path / "history-list.png")
    # The hostile name is shown as text, not run as markup.
    assert browser.find_element(By.XPATH, "//td[text()='<b>wc</b>']")

    browser.find_element(By.LINK_TEXT, "app-1").click()
    assert browser.current_url == f"{server.web}/history/app-1/jobs/"
    assert "collect at history_test.py:1" in browser.page_source
    browser.get(f"{server.web}/history/app-1/stages/stage/?id=0&attempt=0")
    assert "ValueError: bad 0" in browser.page_source
    shot(browser, tmp_path / "history-stage.png")

    browser.get(server.web + "/")
    browser.find_element(By.LINK_TEXT, "app-7").click()
    assert "line 7 is not JSON" in browser.page_source
    shot(browser, tmp_path / "history-broken.png")
    browser.get(server.web + "/")
    assert "line 7 is not JSON" in browser.page_source  # now in the list's Problem column
    shot(browser, tmp_path / "history-list-after.png")

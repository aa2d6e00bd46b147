"""A real browser (Debian's headless chromium) on a master's HTTPS page, with and without
the secret as its Basic credentials: what an operator sees, and that the kill form works."""

from __future__ import annotations

import ssl
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By

from minispark import SparkContext
from tests.certs import HostCert, make_cluster_certs

from .browser import artifacts, chromium, document_status, log_in, screenshot, spki_pin
from .harness import Cluster, app_conf, url_of, wait_for

SECRET = "browser-secret-42"


@pytest.fixture
def certs(tmp_path: Path) -> HostCert:
    return make_cluster_certs(tmp_path / "tls")


@pytest.fixture
def browser(certs: HostCert, tmp_path: Path) -> Iterator[webdriver.Chrome]:
    with chromium(tmp_path / "chromium", trust_spki=spki_pin(certs.cert)) as driver:
        yield driver


def _serves(url: str, context: ssl.SSLContext) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=10, context=context) as reply:
            return int(reply.status) == 200
    except OSError:
        return False


def test_browser_sees_the_master_page_with_basic_auth_and_kills_an_app(
    cluster: Cluster, browser: webdriver.Chrome, certs: HostCert, tmp_path: Path
) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text(SECRET)
    settings = (
        "spark.authenticate=true",
        f"spark.authenticate.secret.file={secret_file}",
        "minispark.ssl.enabled=true",
        f"minispark.ssl.certFile={certs.cert}",
        f"minispark.ssl.keyFile={certs.key}",
        f"minispark.ssl.caFile={certs.ca}",
    )
    master = cluster.master(*settings, wait=False)
    worker = cluster.worker(url_of(master), *settings)
    page = f"https://127.0.0.1:{master.webui_port}/"
    verified = ssl.create_default_context(cafile=str(certs.ca))
    wait_for(lambda: _serves(page + "healthz", verified), "the master's HTTPS port")

    # No credentials: the browser gets the 401 (and would ask for a password), and none of
    # the cluster's state.
    browser.get(page)
    assert document_status(browser, page) == 401
    assert "worker-" not in browser.page_source

    # The secret as the Basic password on every request, as a browser sends it once asked;
    # never in the URL.
    log_in(browser, SECRET, user="admin")

    def workers_table() -> str:
        browser.get(page)
        tables = browser.find_elements(By.TAG_NAME, "table")  # the first lists the workers
        return tables[0].text if tables and "ALIVE" in tables[0].text else ""

    with SparkContext(conf=app_conf(url_of(master), *settings, name="browsed")) as sc:
        sc.wait_for_executors(1)
        table = wait_for(workers_table, "the workers table to show the worker")
        assert table.startswith("Worker Id Address State") and "127.0.0.1" in table
        assert document_status(browser, page) == 200
        assert browser.title.startswith("minispark Master at")
        screenshot(browser, artifacts(tmp_path, "web"), "master-page")

        # The kill button posts with the browser's credentials and comes back to the page.
        form = browser.find_element(By.CSS_SELECTOR, f'form input[value="{sc.applicationId}"]')
        form.find_element(By.XPATH, "..").find_element(By.TAG_NAME, "button").click()
        wait_for(lambda: sc._client.status.ended, "the kill to reach the driver")
        assert sc._client.status.ended.startswith("KILLED")
        wait_for(lambda: browser.current_url == page, "the form's redirect back to the page")

        # The worker's link leads to its own HTTPS page, which takes the same credentials.
        worker_link = f"https://127.0.0.1:{worker.webui_port}"
        browser.find_element(By.CSS_SELECTOR, f'a[href="{worker_link}"]').click()
        wait_for(lambda: browser.title.startswith("minispark Worker at"), "the worker's page")
        assert document_status(browser, worker_link + "/") == 200
    assert master.alive() and "Traceback" not in master.log()

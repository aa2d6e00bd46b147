"""Debian's headless chromium for the browser tests, through selenium: starting it, logging
in with HTTP Basic as a user does once asked, reading the HTTP status a page came with, and
saving screenshots where CI keeps them (MINISPARK_TEST_ARTIFACTS, else the test's own dir)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
T = TypeVar("T")


def spki_pin(cert: Path) -> str:
    """What chromium's --ignore-certificate-errors-spki-list takes: trust this key only."""
    key = x509.load_pem_x509_certificate(cert.read_bytes()).public_key()
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


def _options(
    profile: Path, window: tuple[int, int], scripts: bool, trust_spki: str | None
) -> webdriver.ChromeOptions:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    flags = [
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        f"--window-size={window[0]},{window[1]}",
    ]
    if trust_spki is not None:
        # Trust exactly the daemons' certificate, not every bad one.
        flags.append(f"--ignore-certificate-errors-spki-list={trust_spki}")
    for flag in flags:
        options.add_argument(flag)
    # The network log is where document_status finds each page's HTTP status.
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    if not scripts:
        # Pages that must read with scripts off: turn them off for the pages' own content.
        options.add_experimental_option(
            "prefs", {"profile.managed_default_content_settings.javascript": 2}
        )
    return options


@contextmanager
def chromium(
    profile: Path,
    *,
    window: tuple[int, int] = (1280, 900),
    scripts: bool = True,
    trust_spki: str | None = None,
) -> Iterator[webdriver.Chrome]:
    """A headless chromium with its profile in ``profile``, quit on leaving; ``trust_spki``
    (see spki_pin) accepts that one key's certificate."""
    options = _options(profile, window, scripts, trust_spki)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()


def log_in(driver: webdriver.Chrome, secret: str | None, user: str = "user") -> None:
    """The secret as the Basic password on every request, as a browser sends it once the
    user has typed it at the prompt; never in a URL. None: no credentials at all."""
    driver.execute_cdp_cmd("Network.enable", {})
    token = base64.b64encode(f"{user}:{secret}".encode()).decode()
    headers = {"Authorization": f"Basic {token}"} if secret is not None else {}
    driver.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": headers})


def document_status(driver: webdriver.Chrome, url: str) -> int:
    """The HTTP status of the last main document loaded from ``url`` (from chromium's log;
    0 if none was)."""
    status = 0
    entries: list[dict[str, Any]] = driver.get_log("performance")  # type: ignore[no-untyped-call]
    for entry in entries:
        message: dict[str, Any] = json.loads(entry["message"])["message"]
        if message.get("method") != "Network.responseReceived":
            continue
        params = message["params"]
        if params.get("type") == "Document" and params["response"]["url"] == url:
            status = int(params["response"]["status"])
    return status


def artifacts(fallback: Path, name: str) -> Path:
    """The folder for ``name``'s screenshots: under MINISPARK_TEST_ARTIFACTS (CI keeps it),
    else under ``fallback``."""
    found = Path(os.environ.get("MINISPARK_TEST_ARTIFACTS") or fallback) / name
    found.mkdir(parents=True, exist_ok=True)
    return found


def screenshot(driver: webdriver.Chrome, directory: Path, name: str) -> Path:
    """Save the window as ``directory/name.png`` and say where, for the one reading the log."""
    path = directory / f"{name}.png"
    assert driver.save_screenshot(str(path))
    print(f"screenshot: {path}")
    return path


def settled(read: Callable[[], T]) -> T:
    """``read`` the page, again if it reloaded itself meanwhile (a running application's
    pages refresh every few seconds, and an element found before is then stale)."""
    for _ in range(20):
        try:
            return read()
        except StaleElementReferenceException:
            continue
    return read()

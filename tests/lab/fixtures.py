"""Pytest plugin: the session-scoped `lab` fixture (six real hosts) and a timing summary.

tests/lab/conftest.py loads it for the lab's own tests; another suite can use it with
`pytest_plugins = ["tests.lab.fixtures"]` in the top-level tests/conftest.py.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

import pytest

from tests.lab import preflight
from tests.lab.lab import Lab

TIMINGS: dict[str, float] = {}


class _TerminalHandler(logging.Handler):
    """Shows the lab's progress (image build, boots) on the terminal despite output capture.

    A minute of silence while the image builds looks like a hang; this is what pytest's own
    live logging does, for the lab's messages only.
    """

    def __init__(self, config: pytest.Config) -> None:
        super().__init__(logging.INFO)
        self.reporter = config.pluginmanager.get_plugin("terminalreporter")
        self.capture = config.pluginmanager.get_plugin("capturemanager")

    def emit(self, record: logging.LogRecord) -> None:
        if self.reporter is None:
            return
        suspended = (
            self.capture.global_and_fixture_disabled() if self.capture else contextlib.nullcontext()
        )
        with suspended:
            self.reporter.write_line(f"lab: {record.getMessage()}")


@pytest.fixture(scope="session")
def lab(request: pytest.FixtureRequest) -> Iterator[Lab]:
    """A running lab of the default six hosts, torn down at the end of the session.

    Teardown happens also when tests fail, on Ctrl-C and on SIGTERM; a lab left behind by a
    run that was killed outright is removed before the new one starts. A machine that cannot
    run the lab is an error, not a skip.
    """
    problems = preflight.problems()
    if problems:
        pytest.fail("the lab cannot run on this machine: " + "; ".join(problems), pytrace=False)
    handler = _TerminalHandler(request.config)
    logger = logging.getLogger("minispark.lab")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    the_lab = Lab()
    try:
        with the_lab.guarded():
            the_lab.down()
            the_lab.up()
            yield the_lab
    finally:
        TIMINGS.update(the_lab.timings)
        logger.removeHandler(handler)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if TIMINGS:
        shown = ", ".join(f"{step} {seconds:.1f}s" for step, seconds in TIMINGS.items())
        terminalreporter.write_line(f"lab timings: {shown}")

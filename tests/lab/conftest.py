"""The lab's own tests get the `lab` fixture and the timing summary from tests.lab.fixtures."""

from tests.lab.fixtures import lab, pytest_terminal_summary

__all__ = ["lab", "pytest_terminal_summary"]

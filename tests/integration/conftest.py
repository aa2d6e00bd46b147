from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.zk.fixtures import zk_ensemble

from .harness import Cluster

__all__ = ["cluster", "zk_ensemble"]


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    """Daemons started by a test; all of them are ended, by pid, whatever the outcome."""
    c = Cluster(tmp_path)
    try:
        yield c
    finally:
        c.stop()

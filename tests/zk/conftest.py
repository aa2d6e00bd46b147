"""The tests of this package get the `zk_ensemble` fixture from tests.zk.fixtures."""

from tests.zk.fixtures import zk_ensemble

__all__ = ["zk_ensemble"]

"""A real Apache ZooKeeper ensemble (Debian's zookeeper package) on loopback, for HA tests."""

from tests.zk.ensemble import Ensemble, EnsembleError, Member

__all__ = ["Ensemble", "EnsembleError", "Member"]

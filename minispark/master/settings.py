"""The settings the master reads once, at start."""

from __future__ import annotations

from dataclasses import dataclass

from ..conf import Conf
from .model import UNLIMITED_CORES


@dataclass(frozen=True)
class MasterSettings:
    """The settings the master reads once at start (validated by ``Conf.validate``)."""

    worker_timeout_s: float
    dead_worker_persistence: int
    spread_out: bool
    default_cores: int
    max_executor_retries: int
    retained_apps: int

    @classmethod
    def from_conf(cls, conf: Conf) -> MasterSettings:
        return cls(
            worker_timeout_s=conf.get_duration_s("spark.worker.timeout") or 15.0,
            dead_worker_persistence=conf.get_int("spark.dead.worker.persistence") or 15,
            spread_out=conf.get_bool("spark.deploy.spreadOut"),
            default_cores=conf.get_int("spark.deploy.defaultCores") or UNLIMITED_CORES,
            max_executor_retries=_int_or(conf.get_int("spark.deploy.maxExecutorRetries"), 10),
            retained_apps=_int_or(conf.get_int("spark.deploy.retainedApplications"), 200),
        )


def _int_or(value: int | None, default: int) -> int:
    return default if value is None else value

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
    retained_drivers: int
    max_frame_bytes: int

    @classmethod
    def from_conf(cls, conf: Conf) -> MasterSettings:
        # Unset means unlimited, which the scheduler spells UNLIMITED_CORES.
        default_cores = conf.get_int_or_none("spark.deploy.defaultCores")
        return cls(
            worker_timeout_s=conf.get_duration_s("spark.worker.timeout"),
            dead_worker_persistence=conf.get_int("spark.dead.worker.persistence"),
            spread_out=conf.get_bool("spark.deploy.spreadOut"),
            default_cores=UNLIMITED_CORES if default_cores is None else default_cores,
            max_executor_retries=conf.get_int("spark.deploy.maxExecutorRetries"),
            retained_apps=conf.get_int("spark.deploy.retainedApplications"),
            retained_drivers=conf.get_int("spark.deploy.retainedDrivers"),
            max_frame_bytes=conf.get_bytes("minispark.rpc.maxFrameSize"),
        )

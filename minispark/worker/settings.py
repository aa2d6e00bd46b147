"""The settings a worker reads once at start, taken from its Conf in one place so that the
daemon and the tests see the same values (the table's defaults, never a local one)."""

from __future__ import annotations

from dataclasses import dataclass

from ..conf import Conf


@dataclass(frozen=True)
class WorkerSettings:
    timeout_s: float  # heartbeats go every timeout/4 until a master sends its own pace
    cleanup_enabled: bool
    cleanup_interval_s: float
    app_data_ttl_s: float  # a stopped app's work dir older than this is deleted
    quick_registrations: int  # registration attempts a few seconds apart, before slow ones
    registration_attempts: int  # all attempts, quick ones included, before the worker exits

    @classmethod
    def from_conf(cls, conf: Conf) -> WorkerSettings:
        return cls(
            timeout_s=conf.get_duration_s("spark.worker.timeout"),
            cleanup_enabled=conf.get_bool("spark.worker.cleanup.enabled"),
            cleanup_interval_s=conf.get_duration_s("spark.worker.cleanup.interval"),
            app_data_ttl_s=conf.get_duration_s("spark.worker.cleanup.appDataTtl"),
            quick_registrations=conf.get_int("spark.worker.initialRegistrationRetries"),
            registration_attempts=conf.get_int("spark.worker.maxRegistrationRetries"),
        )

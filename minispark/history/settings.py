"""What the history server reads from its configuration, once, in one place."""

from __future__ import annotations

from dataclasses import dataclass

from ..conf import Conf, ConfError
from .cleaner import CleanerPolicy

LOG_DIR_KEY = "spark.history.fs.logDirectory"


@dataclass(frozen=True)
class HistorySettings:
    log_dir: str  # a path or an fsspec URL
    port: int
    update_interval_s: float
    retained_apps: int
    cleaner_enabled: bool
    cleaner_interval_s: float
    cleaner: CleanerPolicy

    @classmethod
    def from_conf(cls, conf: Conf) -> HistorySettings:
        log_dir = (conf.get(LOG_DIR_KEY) or "").strip()
        if not log_dir:
            raise ConfError(
                f"{LOG_DIR_KEY} is not set: set it to the directory (or fsspec URL) the "
                "applications' spark.eventLog.dir writes to"
            )
        return cls(
            log_dir=log_dir,
            port=conf.get_int("spark.history.ui.port"),
            update_interval_s=conf.get_duration_s("spark.history.fs.update.interval"),
            retained_apps=conf.get_int("spark.history.retainedApplications"),
            cleaner_enabled=conf.get_bool("spark.history.fs.cleaner.enabled"),
            cleaner_interval_s=conf.get_duration_s("spark.history.fs.cleaner.interval"),
            cleaner=CleanerPolicy(
                max_age_s=conf.get_duration_s("spark.history.fs.cleaner.maxAge"),
                max_num=conf.get_int_or_none("spark.history.fs.cleaner.maxNum"),
            ),
        )

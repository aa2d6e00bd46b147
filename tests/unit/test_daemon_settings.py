"""A numeric key the table lets be 0 reaches the daemons as 0.

The keys come from the table itself (every numeric key whose checks accept "0"), so a new key
is covered without touching this file. Each daemon is built from a Conf holding the key and its
settings are read back: a call site with its own ``or N`` default would turn the 0 into N.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from minispark import cli
from minispark.conf import KNOWN, Conf, ConfError
from minispark.conf.table import Key, parse_known
from minispark.driver.ui import UiSettings
from minispark.history.settings import LOG_DIR_KEY, HistorySettings
from minispark.master.master import Master
from minispark.worker.worker import Worker, WorkerOptions

NUMERIC = ("int", "duration", "size_mb", "bytes")


def _accepts_zero(key: Key) -> bool:
    try:
        parse_known(key, "0")
    except ConfError:
        return False
    return True


ZERO_KEYS = sorted(k.name for k in KNOWN.values() if k.kind in NUMERIC and _accepts_zero(k))


def _master(conf: Conf) -> dict[str, object]:
    m = Master(conf, host="127.0.0.1", port=0, webui_port=0)
    try:
        seen = {f"master.{k}": v for k, v in dataclasses.asdict(m.settings).items()}
        seen["master.drivers.completed.maxlen"] = m.drivers.completed.maxlen
        return seen
    finally:
        m.recovery.store.close()


def _worker(conf: Conf, tmp_path: Path) -> dict[str, object]:
    options = WorkerOptions(
        masters=[("127.0.0.1", 7077)],
        host="127.0.0.1",
        port=0,
        webui_port=0,
        cores=1,
        memory_mb=1024,
        work_dir=tmp_path,
        local_dirs=[tmp_path / "local"],
    )
    w = Worker(conf, options)
    seen: dict[str, object] = {f"worker.{k}": v for k, v in dataclasses.asdict(w.settings).items()}
    seen["worker.timeout_s"] = w.timeout_s
    return seen


def _history(conf: Conf, tmp_path: Path) -> dict[str, object]:
    settings = HistorySettings.from_conf(conf.with_values({LOG_DIR_KEY: str(tmp_path)}))
    seen = {f"history.{k}": v for k, v in dataclasses.asdict(settings).items() if k != "cleaner"}
    seen.update(
        {f"history.cleaner.{k}": v for k, v in dataclasses.asdict(settings.cleaner).items()}
    )
    return seen


def _daemons(conf: Conf, tmp_path: Path) -> dict[str, object]:
    """What each daemon uses, by name: its settings objects and the CLI's port choice (and
    the driver's UI settings, the one driver-side reader of zero-accepting keys)."""
    conf.validate()  # as load() does: the daemons only ever see a validated Conf
    ports = {
        f"{role}.webui_port": cli.webui_port(role, None, {}, conf) for role in ("master", "worker")
    }
    ui = {f"driver.ui.{k}": v for k, v in dataclasses.asdict(UiSettings.from_conf(conf)).items()}
    daemons = {**_master(conf), **_worker(conf, tmp_path), **_history(conf, tmp_path)}
    return {**daemons, **ports, **ui}


def test_the_table_has_keys_that_may_be_zero() -> None:
    # Guards the parametrisation below against an empty list (e.g. a broken _accepts_zero).
    assert "spark.deploy.retainedDrivers" in ZERO_KEYS
    assert "spark.worker.initialRegistrationRetries" in ZERO_KEYS


@pytest.mark.parametrize("key", ZERO_KEYS)
def test_zero_reaches_the_daemon(key: str, tmp_path: Path) -> None:
    zero = _daemons(Conf({key: "0"}), tmp_path)
    one = _daemons(Conf({key: "1"}), tmp_path)
    follows = {name: value for name, value in zero.items() if value != one[name]}
    assert follows, f"no daemon setting follows {key}"
    assert all(value == 0 for value in follows.values()), follows


def test_unset_keys_read_the_table_default(tmp_path: Path) -> None:
    seen = _daemons(Conf(), tmp_path)
    assert seen["master.retained_drivers"] == seen["master.drivers.completed.maxlen"] == 200
    assert seen["master.retained_apps"] == 200
    assert seen["master.dead_worker_persistence"] == 15
    assert seen["master.max_executor_retries"] == 10
    assert seen["master.worker_timeout_s"] == seen["worker.timeout_s"] == 15.0
    assert seen["master.max_frame_bytes"] == 128 << 20
    assert seen["worker.cleanup_interval_s"] == 1800.0
    assert seen["worker.app_data_ttl_s"] == 7 * 86400.0
    assert seen["master.webui_port"] == 8080
    assert seen["worker.webui_port"] == 8081
    assert seen["driver.ui.port"] == 4040
    assert seen["driver.ui.max_retries"] == 16
    assert seen["history.port"] == 18080
    assert seen["history.update_interval_s"] == 10.0
    assert seen["history.retained_apps"] == 50
    assert seen["history.cleaner_enabled"] is False
    assert seen["history.cleaner_interval_s"] == 86400.0
    assert seen["history.cleaner.max_age_s"] == 7 * 86400.0
    assert seen["history.cleaner.max_num"] is None

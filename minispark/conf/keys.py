"""The table's key names as types, grouped by the getter that reads them.

``Conf.get_int("spark.deploy.retainedDrivers")`` returns a plain ``int`` because that key has a
default; a key that may be unset is read with ``get_int_or_none`` and gives ``int | None``.
Typing the key parameter with these ``Literal`` groups lets mypy check both halves at every
call site: the plain getter refuses a key without a default, the ``_or_none`` getter one with a
default, and either refuses a misspelt key. The groups only name keys; their kinds and
defaults stay in the table, and :func:`check_groups` (run at import) fails as soon as a group
and the table disagree, so adding a key to one without the other cannot go unnoticed.
"""

from __future__ import annotations

from typing import Literal, get_args

from .table import KNOWN, Kind, has_value

IntKey = Literal[
    "spark.driver.cores",
    "spark.task.maxFailures",
    "minispark.task.inFlightPerCore",
    "spark.master.ui.port",
    "spark.deploy.maxExecutorRetries",
    "spark.deploy.retainedApplications",
    "spark.deploy.retainedDrivers",
    "spark.dead.worker.persistence",
    "spark.worker.ui.port",
    "spark.worker.initialRegistrationRetries",
    "spark.worker.maxRegistrationRetries",
    "spark.ui.port",
    "spark.port.maxRetries",
    "spark.ui.retainedJobs",
    "spark.ui.retainedStages",
    "spark.ui.retainedTasks",
    "spark.history.ui.port",
    "spark.history.retainedApplications",
]
OptionalIntKey = Literal[
    "spark.executor.cores",
    "minispark.driver.maxAttempts",
    "spark.history.fs.cleaner.maxNum",
    "spark.cores.max",
    "spark.default.parallelism",
    "spark.deploy.defaultCores",
    "minispark.worker.cores",
]
SizeMbKey = Literal["spark.executor.memory", "spark.driver.memory"]
OptionalSizeMbKey = Literal["minispark.worker.memory"]
BytesKey = Literal["minispark.rpc.maxFrameSize"]
OptionalBytesKey = Literal["minispark.shuffle.spillThreshold"]
DurationKey = Literal[
    "spark.worker.timeout",
    "spark.worker.cleanup.interval",
    "spark.worker.cleanup.appDataTtl",
    "spark.deploy.recoveryTimeout",
    "minispark.zookeeper.sessionTimeout",
    "spark.history.fs.update.interval",
    "spark.history.fs.cleaner.interval",
    "spark.history.fs.cleaner.maxAge",
]
ChoiceKey = Literal["spark.deploy.recoveryMode"]
BoolKey = Literal[
    "spark.driver.supervise",
    "spark.ui.showConsoleProgress",
    "spark.ui.enabled",
    "spark.eventLog.enabled",
    "spark.eventLog.compress",
    "spark.history.fs.cleaner.enabled",
    "spark.standalone.submit.waitAppCompletion",
    "spark.deploy.spreadOut",
    "spark.decommission.enabled",
    "spark.worker.cleanup.enabled",
    "spark.authenticate",
    "minispark.ui.authenticate",
    "minispark.ssl.enabled",
]
StrKey = Literal["spark.deploy.zookeeper.dir"]

# (kind, whether the key always has a value) -> its group. Text keys without a default have
# no group: Conf.get reads them (and any unknown key) as ``str | None``.
GROUPS: dict[tuple[Kind, bool], object] = {
    ("int", True): IntKey,
    ("int", False): OptionalIntKey,
    ("size_mb", True): SizeMbKey,
    ("size_mb", False): OptionalSizeMbKey,
    ("bytes", True): BytesKey,
    ("bytes", False): OptionalBytesKey,
    ("duration", True): DurationKey,
    ("choice", True): ChoiceKey,
    ("bool", True): BoolKey,
    ("str", True): StrKey,
}


def check_groups() -> None:
    """Each group must hold exactly the table's keys of its kind and defaultedness."""
    placed: dict[tuple[Kind, bool], set[str]] = {}
    for key in KNOWN.values():
        group = (key.kind, has_value(key))
        if group == ("str", False):
            continue
        if group not in GROUPS:
            raise AssertionError(f"{key.name}: no getter reads a {group} key; add a group")
        placed.setdefault(group, set()).add(key.name)
    for group, names in GROUPS.items():
        wanted = placed.get(group, set())
        listed = set(get_args(names))
        if listed != wanted:
            raise AssertionError(
                f"key group {group}: listed but not in the table with that kind and default: "
                f"{sorted(listed - wanted)}; in the table but not listed: {sorted(wanted - listed)}"
            )


check_groups()

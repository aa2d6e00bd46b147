"""The table of known keys: each setting's kind, default, range and doc, in one place.

A default here is the only default: the typed getters of :class:`~minispark.conf.Conf` return
it, so no call site carries its own. ``default`` is text, as in Spark's docs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .values import (
    PORT_MAX,
    ConfError,
    parse_bool,
    parse_duration_s,
    parse_int,
    parse_size_bytes,
    parse_size_mb,
    show,
)

Kind = Literal["str", "int", "bool", "size_mb", "bytes", "duration", "choice"]


@dataclass(frozen=True)
class Key:
    """A known setting. ``default`` is text, as in Spark's docs; None means no default."""

    name: str
    default: str | None
    kind: Kind
    doc: str
    choices: tuple[str, ...] = ()
    minimum: float | None = None  # inclusive; for int, duration (seconds) and sizes
    maximum: float | None = None  # inclusive; ports need an upper bound
    aliases: tuple[str, ...] = ()  # older Spark names that mean the same thing
    fallback: str | None = None  # key whose value applies when this one is unset


_SHORTEST_TIMEOUT = 0.001  # 1ms: a zero timeout would make a timer spin


def _table(*keys: Key) -> dict[str, Key]:
    return {key.name: key for key in keys}


KNOWN: dict[str, Key] = _table(
    # Applications and drivers.
    Key(
        "spark.master",
        None,
        "str",
        "Master URL: minispark://h1:7077,h2:7077 or local-cluster[N,C,M]",
    ),
    Key("spark.app.name", None, "str", "Application name shown in the UIs"),
    Key("spark.executor.memory", "1g", "size_mb", "Memory per executor"),
    Key(
        "spark.executor.cores",
        None,
        "int",
        "Cores per executor; unset = all free cores of the worker",
        minimum=1,
    ),
    Key("spark.driver.memory", "1g", "size_mb", "Memory for the driver in cluster mode"),
    Key("spark.driver.cores", "1", "int", "Cores for the driver in cluster mode", minimum=1),
    Key(
        "spark.driver.supervise",
        "false",
        "bool",
        "Restart a cluster-mode driver that exits non-zero",
    ),
    Key(
        "minispark.driver.maxAttempts",
        None,
        "int",
        "Cap on supervised driver restarts; unset = unlimited, as in Spark",
        minimum=1,
    ),
    Key("spark.cores.max", None, "int", "Cap on an application's total cores", minimum=1),
    Key("spark.task.maxFailures", "4", "int", "Attempts per task before the job fails", minimum=1),
    Key(
        "minispark.task.inFlightPerCore",
        "2",
        "int",
        "Tasks sent ahead to each executor core, so none idles between a result and the next",
        minimum=1,
    ),
    Key(
        "minispark.shuffle.spillThreshold",
        None,
        "bytes",
        "Resident size above which a task spills; unset = 70% of executor memory per core",
        minimum=1,
    ),
    Key("spark.ui.showConsoleProgress", "true", "bool", "Progress bar for stages on a terminal"),
    Key(
        "spark.default.parallelism",
        None,
        "int",
        "Default partition count; unset = total executor cores",
        minimum=1,
    ),
    Key("spark.local.dir", None, "str", "Scratch dirs for shuffle and spill (comma-separated)"),
    Key(
        "spark.standalone.submit.waitAppCompletion",
        "false",
        "bool",
        "In cluster mode, make submit wait until the driver finishes",
    ),
    # Master.
    Key("spark.master.ui.port", "8080", "int", "Master web UI port", minimum=0, maximum=PORT_MAX),
    Key(
        "spark.deploy.spreadOut",
        "true",
        "bool",
        "Spread executors over workers (true) or consolidate them (false)",
        aliases=("spark.deploy.spreadOutApps",),
    ),
    Key(
        "spark.deploy.defaultCores",
        None,
        "int",
        "Cores for an app that does not set spark.cores.max; unset = unlimited",
        minimum=1,
    ),
    Key(
        "spark.deploy.maxExecutorRetries",
        "10",
        "int",
        "Consecutive executor failures before an app is FAILED; -1 disables",
        minimum=-1,
    ),
    Key(
        "spark.deploy.retainedApplications",
        "200",
        "int",
        "Completed applications kept for the UI",
        minimum=0,
    ),
    Key(
        "spark.deploy.retainedDrivers", "200", "int", "Completed drivers kept for the UI", minimum=0
    ),
    Key(
        "spark.dead.worker.persistence",
        "15",
        "int",
        "Reaper rounds a DEAD worker stays visible in the UI",
        minimum=0,
    ),
    Key(
        "spark.decommission.enabled",
        "true",
        "bool",
        "Decommission workers gracefully (on by default in minispark, off in Spark)",
    ),
    # Worker.
    Key(
        "minispark.worker.cores",
        None,
        "int",
        "Cores a worker offers (below -c and MINISPARK_WORKER_CORES); unset = detected",
        minimum=1,
    ),
    Key(
        "minispark.worker.memory",
        None,
        "size_mb",
        "Memory a worker offers (below -m and MINISPARK_WORKER_MEMORY); unset = detected",
    ),
    Key(
        "spark.worker.timeout",
        "15s",
        "duration",
        "A worker silent this long is DEAD; heartbeats every timeout/4 (Spark: 60s)",
        minimum=_SHORTEST_TIMEOUT,
    ),
    Key("spark.worker.ui.port", "8081", "int", "Worker web UI port", minimum=0, maximum=PORT_MAX),
    Key(
        "spark.worker.initialRegistrationRetries",
        "6",
        "int",
        "Registration attempts at 5-15s intervals",
        minimum=0,
    ),
    Key(
        "spark.worker.maxRegistrationRetries",
        "16",
        "int",
        "Total registration attempts before the worker gives up",
        minimum=1,
    ),
    Key("spark.worker.cleanup.enabled", "true", "bool", "Periodically delete stopped apps' dirs"),
    Key(
        "spark.worker.cleanup.interval",
        "1800s",
        "duration",
        "How often the work-dir cleanup runs",
        minimum=_SHORTEST_TIMEOUT,
    ),
    Key(
        "spark.worker.cleanup.appDataTtl",
        "7d",
        "duration",
        "Age after which a stopped app's work dir is deleted",
        minimum=0,
    ),
    # Recovery and HA.
    Key(
        "spark.deploy.recoveryMode",
        "NONE",
        "choice",
        "How a master persists state and elects a leader",
        choices=("NONE", "ZOOKEEPER", "FILESYSTEM"),
    ),
    Key("spark.deploy.zookeeper.url", None, "str", "ZooKeeper connect string (ZOOKEEPER mode)"),
    Key(
        "spark.deploy.zookeeper.dir",
        "/spark",
        "str",
        "znode root for leader election and persisted state",
    ),
    Key(
        "spark.deploy.zookeeper.sasl.username",
        None,
        "str",
        "SASL (DIGEST-MD5) user the masters log in to ZooKeeper as; set: their znodes get "
        "ACL sasl:<user> only, and an open tree is taken over",
    ),
    Key(
        "spark.deploy.zookeeper.sasl.passwordFile",
        None,
        "str",
        "File whose first line is the ZooKeeper SASL password of that user",
    ),
    Key(
        "spark.deploy.recoveryDirectory",
        None,
        "str",
        "Directory for persisted state (FILESYSTEM mode)",
    ),
    Key(
        "spark.deploy.recoveryTimeout",
        None,
        "duration",
        "Longest wait for workers and apps to answer a new leader; unset = spark.worker.timeout",
        minimum=_SHORTEST_TIMEOUT,
        fallback="spark.worker.timeout",
    ),
    Key(
        "minispark.zookeeper.sessionTimeout",
        "6s",
        "duration",
        "ZooKeeper session timeout: bounds how fast a standby notices a dead leader (Spark: 60s)",
        minimum=_SHORTEST_TIMEOUT,
    ),
    # The application UI, event logs and the history server.
    Key("spark.ui.enabled", "true", "bool", "Serve the application UI and /api/v1 from the driver"),
    Key(
        "spark.ui.port",
        "4040",
        "int",
        "The application UI's port (0: any free one); taken, the next free one (up to "
        "spark.port.maxRetries)",
        minimum=0,
        maximum=PORT_MAX,
    ),
    Key(
        "spark.port.maxRetries",
        "16",
        "int",
        "How many ports after a taken one a server tries before giving up (0: none)",
        minimum=0,
    ),
    Key("spark.ui.retainedJobs", "1000", "int", "Finished jobs the UI keeps", minimum=1),
    Key("spark.ui.retainedStages", "1000", "int", "Finished stages the UI keeps", minimum=1),
    Key(
        "spark.ui.retainedTasks",
        "100000",
        "int",
        "Tasks the UI keeps per stage (the counts and summaries cover every task)",
        minimum=1,
    ),
    Key("spark.eventLog.enabled", "false", "bool", "Write the application's events to a log"),
    Key(
        "spark.eventLog.dir",
        None,
        "str",
        "Where event logs go: a directory path or an fsspec URL (s3://bucket/prefix)",
    ),
    Key("spark.eventLog.compress", "false", "bool", "Compress event logs (gzip)"),
    Key(
        "spark.history.fs.logDirectory",
        None,
        "str",
        "The event logs the history server lists: a directory path or an fsspec URL",
    ),
    Key(
        "spark.history.ui.port",
        "18080",
        "int",
        "The history server's web port (0: any free port)",
        minimum=0,
        maximum=PORT_MAX,
    ),
    Key(
        "spark.history.fs.update.interval",
        "10s",
        "duration",
        "How often the history server looks for new and changed logs",
        minimum=_SHORTEST_TIMEOUT,
    ),
    Key(
        "spark.history.retainedApplications",
        "50",
        "int",
        "Applications whose loaded UI the history server keeps in memory",
        minimum=1,
    ),
    Key(
        "spark.history.fs.cleaner.enabled",
        "false",
        "bool",
        "Delete event logs older than spark.history.fs.cleaner.maxAge",
    ),
    Key(
        "spark.history.fs.cleaner.interval",
        "1d",
        "duration",
        "How often the cleaner runs",
        minimum=_SHORTEST_TIMEOUT,
    ),
    Key(
        "spark.history.fs.cleaner.maxAge",
        "7d",
        "duration",
        "Event logs older than this are deleted by the cleaner",
        minimum=_SHORTEST_TIMEOUT,
    ),
    Key(
        "spark.history.fs.cleaner.maxNum",
        None,
        "int",
        "Most event logs kept; the oldest go first (unset = no limit)",
        minimum=1,
    ),
    # Security.
    Key(
        "spark.authenticate",
        "false",
        "bool",
        "Shared-secret auth on RPC and HTTP; unset, on when a secret is configured",
    ),
    Key("spark.authenticate.secret", None, "str", "The shared secret"),
    Key(
        "spark.authenticate.secret.file",
        None,
        "str",
        "File holding the shared secret (used when spark.authenticate.secret is unset)",
    ),
    Key(
        "minispark.ui.authenticate",
        "false",
        "bool",
        "Also require the secret on /healthz, /readyz and /metrics (with spark.authenticate)",
    ),
    Key(
        "minispark.ssl.enabled",
        "false",
        "bool",
        "TLS for RPC and web; unset, on when minispark.ssl.caFile is set",
    ),
    Key("minispark.ssl.certFile", None, "str", "PEM certificate chain"),
    Key("minispark.ssl.keyFile", None, "str", "PEM private key"),
    Key(
        "minispark.ssl.caFile",
        None,
        "str",
        "PEM CA bundle that servers are verified against; alone, it turns TLS on for a client",
    ),
    Key(
        "minispark.driver.certSha256",
        None,
        "str",
        "Internal, set by the driver: the SHA-256 of its ephemeral certificate, which "
        "executors pin",
    ),
    # RPC.
    Key(
        "minispark.rpc.maxFrameSize",
        "128m",
        "bytes",
        "Largest RPC frame accepted; bigger messages are refused",
        minimum=1024,
    ),
)

# alias -> canonical name
ALIASES: dict[str, str] = {alias: key.name for key in KNOWN.values() for alias in key.aliases}


def canonical(name: str) -> str:
    return ALIASES.get(name, name)


def has_value(key: Key) -> bool:
    """Whether ``key`` reads as a value when nobody sets it: a default, or a fallback key that
    has one. The typed getters return a plain value for exactly these keys."""
    if key.default is not None:
        return True
    return key.fallback is not None and has_value(KNOWN[key.fallback])


def _format_bound(kind: Kind, bound: float) -> str:
    if kind == "duration":
        return f"{bound * 1000:g}ms" if bound < 1 else f"{bound:g}s"
    return f"{bound:g}"


def check_range(key: Key, text: str, value: float) -> None:
    low, high = key.minimum, key.maximum
    if (low is None or value >= low) and (high is None or value <= high):
        return
    if low is not None and high is not None:
        expected = f"{_format_bound(key.kind, low)}-{_format_bound(key.kind, high)}"
    elif low is not None:
        expected = f"at least {_format_bound(key.kind, low)}"
    else:
        assert high is not None
        expected = f"at most {_format_bound(key.kind, high)}"
    raise ConfError(f"{key.name}: {show(text)} is out of range (expected {expected})")


def parse_choice(key: Key, text: str) -> str:
    # Case-insensitive on purpose: Spark silently treats 'zookeeper' as NONE, a classic trap.
    word = text.strip().upper()
    if word not in key.choices:
        raise ConfError(
            f"{key.name}: {show(text)} is not supported (expected one of {', '.join(key.choices)})"
        )
    return word


def parse_known(key: Key, text: str) -> object:
    """Parse ``text`` as ``key`` would be read, with its range checks; raise ConfError if bad."""
    value: float
    if key.kind == "str":
        return text
    if key.kind == "bool":
        return parse_bool(text, key=key.name)
    if key.kind == "choice":
        return parse_choice(key, text)
    if key.kind == "int":
        value = parse_int(text, key=key.name)
    elif key.kind == "size_mb":
        value = parse_size_mb(text, key=key.name)
    elif key.kind == "bytes":
        value = parse_size_bytes(text, key=key.name)
    else:
        value = parse_duration_s(text, key=key.name)
    check_range(key, text, value)
    return value


def check_table() -> None:
    """The built-in defaults must parse; a typo there would break every daemon at start."""
    for key in KNOWN.values():
        if key.default is not None:
            parse_known(key, key.default)
        if key.kind == "choice" and not key.choices:
            raise AssertionError(f"{key.name}: choice key without choices")
        fallback = None if key.fallback is None else KNOWN.get(key.fallback)
        if key.fallback is not None and (fallback is None or fallback.kind != key.kind):
            raise AssertionError(f"{key.name}: {key.fallback} is not a known {key.kind} key")


check_table()

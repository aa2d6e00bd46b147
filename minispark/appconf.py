"""An application's settings on their way to the processes that run it.

Each hop has one carrier:

- ``minispark submit`` (client mode) to the program it runs: in the same process, the way
  spark-submit hands the driver JVM system properties (``rdd.sparkconf.use_submitted``);
- driver to master: the ``conf`` of ``ApplicationDescription``, without secrets
  (:func:`shareable`): executors need none of them and the master persists what it gets;
- submitter to master, in cluster mode: the ``conf`` of the ``DriverDescription`` built by
  :func:`driver_description` (for the CLI and REST alike), without the cluster's security
  settings, which the worker supplies;
- worker to the process it launches (an executor, or ``minispark submit`` for a cluster-mode
  driver): the environment variable :data:`APP_CONF_ENV`, written by :func:`launch_env` and
  taken out by the child at start (:func:`take`), so that it goes no further: ``pipe()``
  commands and programs the driver starts do not inherit it. A process's environment is
  readable by its owner only and never shows in ``ps``, which is why the secret travels
  there rather than on a command line or in a file.

Precedence, highest first (Spark's, kept end to end):

1. what the program sets on its ``SparkConf`` (and ``SparkContext(master, appName)``);
2. in a process a worker launches, the worker's security settings (:data:`SECURITY_KEYS`):
   the links belong to the cluster, and its secret and TLS files are the ones that exist
   on that host;
3. the submit flags (``--executor-memory`` ...), then ``--conf``, then the properties file
   of the submitting host; a cluster-mode driver gets them resolved and ranks them above
   its worker host's properties file, which it reads as any ``minispark submit`` does;
4. the built-in defaults of the table of known keys.

Executors see the application's settings as its driver resolved them (1 and 3), less any
secret, under the worker's security settings.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, MutableMapping

from .conf import Conf, ConfError
from .protocol import DriverDescription

APP_CONF_ENV = "MINISPARK_APP_CONF"
# The SHA-256 of the driver's ephemeral certificate, set by the driver: it travels with the
# application's settings (master, worker, executor, all over verified links) so executors pin
# it. It is not a security key in the sense below: it belongs to the application.
DRIVER_CERT_KEY = "minispark.driver.certSha256"

# The settings of the links between the cluster's processes: a worker gives its own to what
# it launches, and an application's never leave the process that holds them.
SECURITY_KEYS = frozenset(
    {
        "spark.authenticate",
        "spark.authenticate.secret",
        "spark.authenticate.secret.file",
        "minispark.ssl.enabled",
        "minispark.ssl.certFile",
        "minispark.ssl.keyFile",
        "minispark.ssl.caFile",
    }
)

# A cluster-mode driver's --py-files are paths on the submitting host; the files themselves
# travel in the description and the worker names its own copies.
_SUBMITTER_PATHS = frozenset({"spark.submit.pyFiles"})


def shareable(settings: Iterable[tuple[str, str]]) -> dict[str, str]:
    """What a driver tells the master about its application: no security settings and no
    secret of the user's either (keys like "myapp.db.secret"), which executors never need."""
    return {
        key: value
        for key, value in settings
        if key not in SECURITY_KEYS and "secret" not in key.lower()
    }


def cluster_security(conf: Conf) -> dict[str, str]:
    """The security settings a worker imposes on the processes it launches."""
    return {key: value for key, value in conf.items() if key in SECURITY_KEYS}


def encode(settings: Mapping[str, str]) -> str:
    return json.dumps(dict(sorted(settings.items())), separators=(",", ":"))


def decode(text: str) -> dict[str, str]:
    """The carried settings; a ConfError names the variable if they are not a JSON object of
    strings (the variable is ours, but the environment is anyone's to edit)."""
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise ConfError(f"{APP_CONF_ENV}: not JSON ({exc})") from exc
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ConfError(f"{APP_CONF_ENV}: expected a JSON object of strings")
    return value


def launch_env(
    base: Mapping[str, str], app: Mapping[str, str], security: Mapping[str, str]
) -> dict[str, str]:
    """``base`` plus the variable: the application's settings under the cluster's security.

    The application's own security keys are dropped even though shareable() already keeps
    them out of descriptions: a record persisted by an older master may still hold them.
    """
    settings = {key: value for key, value in app.items() if key not in SECURITY_KEYS}
    settings.update(security)
    return {**base, APP_CONF_ENV: encode(settings)}


def take(environ: MutableMapping[str, str]) -> dict[str, str]:
    """The settings a launcher left in ``environ``, removed from it; empty if none."""
    text = environ.pop(APP_CONF_ENV, None)
    return {} if text is None else decode(text)


def driver_description(
    conf: Conf, *, main: str, args: Iterable[str], files: Mapping[str, bytes]
) -> DriverDescription:
    """A cluster-mode driver as the master receives it, from ``minispark submit --deploy-mode
    cluster`` and from REST alike: everything it needs is read from ``conf``.

    The program keeps every setting of the user's, secrets of its own included (it is the
    user's program); only the cluster's security settings stay behind, for the worker's.
    """
    conf.validate()
    name = conf.get("spark.app.name")
    if not name:
        raise ConfError("spark.app.name is unset: a driver needs an application name")
    return DriverDescription(
        name=name,
        main=main,
        args=list(args),
        files=dict(files),
        conf={k: v for k, v in conf.items() if k not in SECURITY_KEYS | _SUBMITTER_PATHS},
        cores=conf.get_int("spark.driver.cores"),
        memory_mb=conf.get_size_mb("spark.driver.memory"),
        supervise=conf.get_bool("spark.driver.supervise"),
        max_attempts=conf.get_int_or_none("minispark.driver.maxAttempts"),
    )

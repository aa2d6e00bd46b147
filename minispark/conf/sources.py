"""Where settings come from and which source wins (SPEC §3), highest first:

1. CLI flags and ``--conf k=v``;
2. ``MINISPARK_MASTER_OPTS`` / ``MINISPARK_WORKER_OPTS`` / ``MINISPARK_HISTORY_OPTS``
   (role-specific ``-Dk=v`` pairs);
3. ``MINISPARK_DAEMON_OPTS`` (the daemons only, not the driver);
4. the properties file (``--properties-file``, else
   ``$MINISPARK_CONF_DIR/minispark-defaults.conf``);
5. the built-in defaults of the table (applied by :class:`Conf` when a key is read).

The ``MINISPARK_*`` variables come from the real environment overlaid on
``$MINISPARK_CONF_DIR/minispark-env``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Literal

from .formats import parse_conf_pairs, parse_java_opts, read_env_file, read_properties_file
from .settings import Conf, overlay
from .values import INT_RE, PORT_MAX, ConfError, parse_size_mb, show

Role = Literal["master", "worker", "history", "driver"]

DEFAULT_CONF_DIR = "/etc/minispark"
ENV_FILE_NAME = "minispark-env"
PROPERTIES_FILE_NAME = "minispark-defaults.conf"

_EMPTY: Mapping[str, str] = MappingProxyType({})


def conf_dir(env: Mapping[str, str]) -> Path:
    """$MINISPARK_CONF_DIR, default /etc/minispark."""
    return Path(env.get("MINISPARK_CONF_DIR") or DEFAULT_CONF_DIR)


def daemon_environment(env: Mapping[str, str]) -> dict[str, str]:
    """minispark-env values overlaid by the real environment.

    The real environment wins for every key the file sets, and adds its MINISPARK_* variables;
    the rest of it is not our business. MINISPARK_CONF_DIR itself comes from ``env`` only.
    """
    values = read_env_file(conf_dir(env) / ENV_FILE_NAME)
    for name, value in env.items():
        if name in values or name.startswith("MINISPARK_"):
            values[name] = value
    return values


_ROLE_ENV: dict[str, dict[str, tuple[str, str]]] = {
    # short name -> (variable, kind)
    "master": {
        "host": ("MINISPARK_MASTER_HOST", "host"),
        "port": ("MINISPARK_MASTER_PORT", "port"),
        "webui_port": ("MINISPARK_MASTER_WEBUI_PORT", "port"),
    },
    "worker": {
        "host": ("MINISPARK_WORKER_HOST", "host"),
        "cores": ("MINISPARK_WORKER_CORES", "cores"),
        "memory": ("MINISPARK_WORKER_MEMORY", "memory"),
        "port": ("MINISPARK_WORKER_PORT", "port"),
        "webui_port": ("MINISPARK_WORKER_WEBUI_PORT", "port"),
        "work_dir": ("MINISPARK_WORKER_DIR", "path"),
        "local_dirs": ("MINISPARK_LOCAL_DIRS", "path"),
    },
    "history": {"host": ("MINISPARK_HISTORY_HOST", "host")},
    "driver": {},
}


def _check_env_value(variable: str, kind: str, text: str) -> None:
    if kind == "port":
        if INT_RE.fullmatch(text) is None or not 0 <= int(text) <= PORT_MAX:
            raise ConfError(f"{variable}: {show(text)} is not a port (expected 0-{PORT_MAX})")
    elif kind == "cores":
        if INT_RE.fullmatch(text) is None or int(text) < 1:
            raise ConfError(f"{variable}: {show(text)} is not a core count (expected 1 or more)")
    elif kind == "memory":
        parse_size_mb(text, key=variable)
    elif kind == "host" and any(char.isspace() for char in text):
        raise ConfError(f"{variable}: {show(text)} is not a host name or address")


def env_defaults(role: Role, env: Mapping[str, str]) -> dict[str, str]:
    """The role's MINISPARK_* settings from minispark-env and ``env``, by short name, validated.

    Empty variables count as unset, so a templated ``MINISPARK_WORKER_CORES=""`` means "detect".
    The driver has none (minispark-env configures daemons).
    """
    values = daemon_environment(env)
    found: dict[str, str] = {}
    for short, (variable, kind) in _ROLE_ENV[role].items():
        text = values.get(variable, "").strip()
        if text:
            _check_env_value(variable, kind, text)
            found[short] = text
    return found


def _properties_layer(properties_file: str | None, env: Mapping[str, str]) -> dict[str, str]:
    if properties_file is not None:
        path = Path(properties_file)
        if not path.is_file():
            raise ConfError(f"--properties-file: {properties_file!r} is not a readable file")
        return read_properties_file(path)
    default = conf_dir(env) / PROPERTIES_FILE_NAME
    return read_properties_file(default) if default.is_file() else {}


def load(
    role: Role,
    *,
    cli: Mapping[str, str] = _EMPTY,
    conf_pairs: Sequence[str] = (),
    properties_file: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Conf:
    """Merge all sources in SPEC order, then validate().

    Daemon opts apply to the daemons only; role opts only to their role; the driver reads
    the properties file and --conf. ``cli`` holds values the CLI flags already mapped to keys and
    wins over --conf, as a dedicated spark-submit flag wins over --conf in Spark.
    """
    if role not in _ROLE_ENV:
        raise ValueError(f"unknown role {role!r}")
    env = os.environ if env is None else env
    layers: list[Mapping[str, str]] = [_properties_layer(properties_file, env)]
    if role != "driver":
        daemon_env = daemon_environment(env)
        role_opts = f"MINISPARK_{role.upper()}_OPTS"
        for variable in ("MINISPARK_DAEMON_OPTS", role_opts):
            layers.append(parse_java_opts(daemon_env.get(variable, ""), source=variable))
    layers += [parse_conf_pairs(conf_pairs), cli]
    conf = Conf(overlay(layers))
    conf.validate()
    return conf

"""Configuration for minispark daemons and drivers (SPEC §3).

Settings are text, keyed by Spark's property names (``spark.*``; minispark-only ones are
``minispark.*``), merged from the sources in ``sources.py`` and read through :class:`Conf`,
whose typed getters parse with the table of known keys in ``table.py``. That table holds the
only default of every key.

The ``MINISPARK_*`` variables come from the real environment overlaid on
``$MINISPARK_CONF_DIR/minispark-env``, a ``KEY="value"`` file that systemd's ``EnvironmentFile=``
reads the same way we do, which is why it may not contain shell syntax.

Unknown keys are kept and passed on; a malformed value for a known key raises :class:`ConfError`
with a one-line message naming the key, the value and the expected form, so that a daemon stops
at start rather than misbehaving later.
"""

from __future__ import annotations

from .formats import parse_conf_pairs, parse_java_opts, read_env_file, read_properties_file
from .settings import REDACTED, Conf
from .sources import Role, conf_dir, daemon_environment, env_defaults, load
from .table import KNOWN, Key
from .values import ConfError, parse_bool, parse_duration_s, parse_size_bytes, parse_size_mb

__all__ = [
    "KNOWN",
    "REDACTED",
    "Conf",
    "ConfError",
    "Key",
    "Role",
    "conf_dir",
    "daemon_environment",
    "env_defaults",
    "load",
    "parse_bool",
    "parse_conf_pairs",
    "parse_duration_s",
    "parse_java_opts",
    "parse_size_bytes",
    "parse_size_mb",
    "read_env_file",
    "read_properties_file",
]

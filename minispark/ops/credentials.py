"""Where the operator's tools find the cluster secret and CA: where the playbooks put them.

The playbooks keep them on the controller in ``minispark_credentials_dir`` (default
``<inventory dir>/credentials``): ``minispark.secret`` and ``ca.pem``. The secret comes, first
found first: ``$MINISPARK_SECRET_FILE``, a non-empty ``minispark_auth_secret`` in the
inventory, the credentials dir. The CA: ``$MINISPARK_CA_FILE``, else the credentials dir.
``minispark_auth_enabled: false`` / ``minispark_tls_enabled: false`` need neither.
Standard library only.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .errors import UsageError
from .inventory import Host, Inventory, Vaulted
from .tls import CA_ENV, Tls

SECRET_ENV = "MINISPARK_SECRET_FILE"
SECRET_FILE = "minispark.secret"
CA_FILE = "ca.pem"
DIR_VAR = "minispark_credentials_dir"
# The default the roles write, and the one template fab can resolve without Ansible.
_INVENTORY_DIR = re.compile(r"\{\{\s*inventory_dir\s*\}\}")


def first_secret(text: str) -> str | None:
    """The secret a file presents: its first non-blank line (the others are only accepted,
    during a rotation)."""
    return next((line.strip() for line in text.splitlines() if line.strip()), None)


def read_secret(path: str, what: str) -> str:
    """The presented secret in ``path``; UsageError naming the file (never its contents)."""
    try:
        secret = first_secret(Path(path).read_text())
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "unreadable"
        raise UsageError(f"{what} {path}: {reason}") from None
    if secret is None:
        raise UsageError(f"{what} {path} is empty: it must hold the cluster secret")
    return secret


@dataclass(frozen=True)
class Credentials:
    """The secret to present (None: auth off) and the CA to trust (None: plain HTTP)."""

    secret: str | None
    tls: Tls | None
    directory: Path | None = None
    # Where the secret came from, for messages (never the secret itself).
    secret_source: str = ""


def inventory_dir(source: str) -> Path | None:
    """Ansible's ``inventory_dir``: the directory itself, or a file's parent; None for a
    host list (``-i a,b``)."""
    path = Path(source)
    if "," in source and not path.exists():
        return None
    return path if path.is_dir() else path.parent


def _holder(inventory: Inventory) -> Host | None:
    """The host whose variables stand for the cluster's (a master's, as the roles read them)."""
    hosts = inventory.masters or list(inventory.hosts.values())
    return hosts[0] if hosts else None


def _flag(host: Host | None, key: str) -> bool:
    value = True if host is None else host.value(key, True)
    if isinstance(value, str):
        return value.strip().lower() not in ("false", "no", "off", "0", "")
    return bool(value)


def credentials_dir(inventory: Inventory, host: Host | None = None) -> Path | None:
    """``minispark_credentials_dir``, relative paths from the inventory's directory."""
    base = inventory_dir(inventory.source)
    host = host if host is not None else _holder(inventory)
    raw = host.vars.get(DIR_VAR) if host is not None else None
    if raw is None or isinstance(raw, Vaulted):
        return None if base is None else base / "credentials"
    text = str(raw)
    if base is not None:
        text = _INVENTORY_DIR.sub(str(base), text)
    if "{{" in text or "{%" in text:
        raise UsageError(
            f"{DIR_VAR} is a Jinja template ({text}); fab reads inventory values as written: "
            "give it a plain path"
        )
    path = Path(text).expanduser()
    return path if path.is_absolute() or base is None else base / path


def _secret(
    inventory: Inventory, host: Host | None, directory: Path | None, env: Mapping[str, str]
) -> tuple[str, str]:
    """(the presented secret, where it came from)."""
    if env.get(SECRET_ENV):
        return read_secret(env[SECRET_ENV], SECRET_ENV), f"{SECRET_ENV} {env[SECRET_ENV]}"
    raw = host.vars.get("minispark_auth_secret") if host is not None else None
    if isinstance(raw, Vaulted):
        raise UsageError(
            "minispark_auth_secret is vault-encrypted: write it to a file and set "
            f"{SECRET_ENV} to its path"
        )
    written = host.text("minispark_auth_secret") if host is not None else None
    if written and first_secret(written):
        return str(first_secret(written)), "the inventory's minispark_auth_secret"
    if directory is None:
        raise UsageError(
            f"inventory {inventory.source} has no directory for its credentials: set "
            f"{SECRET_ENV} (or minispark_auth_enabled: false)"
        )
    path = directory / SECRET_FILE
    if not path.exists():
        raise UsageError(
            f"no cluster secret: {path} does not exist; run playbooks/site.yml (it makes it), "
            f"or set {SECRET_ENV} or {DIR_VAR}"
        )
    return read_secret(str(path), "cluster secret"), str(path)


def find(inventory: Inventory, env: Mapping[str, str] | None = None) -> Credentials:
    """The inventory's credentials, read now; UsageError naming the file that is missing."""
    env = os.environ if env is None else env
    host = _holder(inventory)
    directory = credentials_dir(inventory, host)
    secret: str | None = None
    source = ""
    if _flag(host, "minispark_auth_enabled"):
        secret, source = _secret(inventory, host, directory, env)
    tls = None
    if _flag(host, "minispark_tls_enabled"):
        if env.get(CA_ENV):
            tls = Tls.load(env[CA_ENV])
        elif directory is None:
            raise UsageError(
                f"inventory {inventory.source} has no directory for its credentials: set "
                f"{CA_ENV} (or minispark_tls_enabled: false)"
            )
        else:
            tls = Tls.load(str(directory / CA_FILE))
    return Credentials(secret, tls, directory, source)

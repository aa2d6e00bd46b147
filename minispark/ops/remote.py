"""Commands on inventory hosts over SSH, with Fabric: restart a unit, read its journal, install
a wheelhouse. One ``Connection`` per host, opened on first use and reused.

Fabric is imported when the first connection opens, so the rest of ``minispark.ops`` (and
``python3 -m minispark.ops``) keeps working where Fabric is not installed. Every failure is
a ``RemoteError`` with one line naming the host, what was run, and what it said.
"""

from __future__ import annotations

import contextlib
import shlex
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import wheel
from .errors import RemoteError, UsageError
from .inventory import Inventory
from .probes import one_line
from .sshargs import SshSettings, settings_for
from .wheel import Wheelhouse

CONNECT_TIMEOUT = 10
# A worker's restart may take its stop timeout (60 s) plus its start timeout (180 s).
COMMAND_TIMEOUT = 600.0
CHUNK = 1 << 16


def open_connection(settings: SshSettings, connect_timeout: int = CONNECT_TIMEOUT) -> Any:
    """A fabric ``Connection`` (not yet connected) that behaves as ``ssh`` with ``settings``."""
    try:
        from fabric import Connection
        from paramiko import AutoAddPolicy, RejectPolicy
    except ImportError:
        raise UsageError(
            "Fabric is not installed: pip install 'minispark[deploy]' (or fabric>=3.2)"
        ) from None
    connect_kwargs: dict[str, Any] = {}
    if settings.key_files:
        connect_kwargs["key_filename"] = [str(Path(k).expanduser()) for k in settings.key_files]
    if settings.password:
        connect_kwargs["password"] = settings.password
    gateway: Any = settings.proxy_command
    if gateway is None and settings.proxy_jump:
        # ssh's -J takes hops separated by commas; each goes through the one before it.
        for hop in settings.proxy_jump.split(","):
            gateway = Connection(hop, connect_kwargs=connect_kwargs, gateway=gateway)
    connection = Connection(
        settings.host,
        user=settings.user,
        port=settings.port,
        connect_kwargs=connect_kwargs,
        connect_timeout=int(settings.connect_timeout or connect_timeout),
        forward_agent=settings.forward_agent,
        gateway=gateway,
    )
    # Fabric accepts any host key by default; ssh (and so Ansible) checks them unless told
    # StrictHostKeyChecking=no.
    if settings.checks_host_keys:
        if settings.reads_known_hosts:
            known = settings.known_hosts and str(Path(settings.known_hosts).expanduser())
            # No known_hosts file yet: every key is unknown, as for ssh.
            with contextlib.suppress(OSError):
                connection.client.load_system_host_keys(known)
        accept_new = settings.strict_host_keys == "accept-new"
        connection.client.set_missing_host_key_policy(
            AutoAddPolicy() if accept_new else RejectPolicy()
        )
    return connection


class FabricActions:
    """Restart, journal and install on the inventory's hosts, as root (sudo when the SSH user
    is not root, with ansible_become_password if the inventory has one)."""

    def __init__(
        self,
        inventory: Inventory,
        *,
        extra_keys: Sequence[str] = (),
        command_timeout: float = COMMAND_TIMEOUT,
    ) -> None:
        self.inventory = inventory
        self.extra_keys = list(extra_keys)
        self.command_timeout = command_timeout
        self._connections: dict[str, tuple[Any, SshSettings]] = {}
        self._lock = threading.Lock()

    # ---- connections --------------------------------------------------------------------

    def settings(self, name: str) -> SshSettings:
        return settings_for(self.inventory.host(name), self.extra_keys)

    def _connection(self, name: str) -> tuple[Any, SshSettings]:
        with self._lock:
            if name not in self._connections:
                settings = self.settings(name)
                self._connections[name] = (open_connection(settings), settings)
        return self._connections[name]

    def close(self) -> None:
        with self._lock:
            for connection, _ in self._connections.values():
                connection.close()
            self._connections.clear()

    def _where(self, name: str, settings: SshSettings) -> str:
        user = f"{settings.user}@" if settings.user else ""
        return f"{name} ({user}{settings.host}:{settings.port})"

    # ---- running commands ---------------------------------------------------------------

    def run(self, name: str, command: str, *, what: str | None = None) -> str:
        """Run ``command`` as root on host ``name``; its stdout, or RemoteError."""
        connection, settings = self._connection(name)
        shown = what or f"`{command}`"
        try:
            result = self._privileged(connection, settings, command)
        except RemoteError:
            raise
        except Exception as exc:  # paramiko's and invoke's many exceptions, as one line
            raise RemoteError(
                f"{self._where(name, settings)}: {shown}: {type(exc).__name__}: "
                f"{one_line(str(exc)) or 'no detail'}"
            ) from None
        if result.exited != 0:
            said = one_line(result.stderr or result.stdout) or "no output"
            raise RemoteError(f"{name}: {shown} failed (exit {result.exited}): {said}")
        return str(result.stdout)

    def _privileged(self, connection: Any, settings: SshSettings, command: str) -> Any:
        options: dict[str, Any] = {"hide": True, "warn": True, "in_stream": False}
        options["timeout"] = self.command_timeout
        script = f"sh -c {shlex.quote(command)}"
        if (connection.user or settings.user) == "root":
            return connection.run(script, **options)
        if settings.become_password:
            return connection.sudo(script, password=settings.become_password, **options)
        # sudo -n fails at once when it would ask for a password, instead of hanging.
        return connection.run(f"sudo -n {script}", **options)

    def upload(self, name: str, local: Path, remote: str) -> None:
        """Copy a file through an exec channel (``cat >``): hosts need no SFTP server."""
        connection, settings = self._connection(name)
        try:
            connection.open()
            channel = connection.transport.open_session(timeout=CONNECT_TIMEOUT)
            channel.exec_command(f"cat > {shlex.quote(remote)}")
            with local.open("rb") as source:
                while chunk := source.read(CHUNK):
                    channel.sendall(chunk)
            channel.shutdown_write()
            status = channel.recv_exit_status()
            said = channel.makefile_stderr("rb").read().decode(errors="replace")
            channel.close()
        except Exception as exc:
            raise RemoteError(
                f"{self._where(name, settings)}: copying {local.name}: "
                f"{type(exc).__name__}: {one_line(str(exc))}"
            ) from None
        if status != 0:
            raise RemoteError(f"{name}: copying {local.name} to {remote} failed: {one_line(said)}")

    # ---- what the roll and the tasks do (roll.HostActions) ------------------------------

    def restart(self, host: str, unit: str) -> None:
        self.run(host, f"systemctl --no-ask-password restart {shlex.quote(unit)}")

    def journal(
        self, host: str, units: Sequence[str], *, lines: int, since: str | None = None
    ) -> str:
        command = ["journalctl", "--no-pager", "-n", str(lines)]
        for unit in units:
            command += ["-u", unit]
        if since:
            command += ["--since", since]
        return self.run(host, " ".join(shlex.quote(word) for word in command))

    def installed_digest(self, host: str) -> str:
        home = self.inventory.host(host).home
        return self.run(host, wheel.digest_command(home)).strip()

    def install(self, host: str, wheelhouse: Wheelhouse) -> str:
        """Install ``wheelhouse`` into the host's virtualenv unless it is there already."""
        if self.installed_digest(host) == wheelhouse.digest:
            return f"already runs wheelhouse {wheelhouse.short}; restarting only"
        home = self.inventory.host(host).home
        self.upload(host, wheelhouse.archive, wheel.upload_path(wheelhouse))
        self.run(host, wheel.install_script(home, wheelhouse), what="installing the wheelhouse")
        return f"installed wheelhouse {wheelhouse.short} ({wheelhouse.minispark_wheel})"

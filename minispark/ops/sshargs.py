"""The SSH settings Ansible would use for a host, for a connection that does not run ``ssh``.

Ansible's ssh connection passes ``ansible_ssh_common_args`` and ``ansible_ssh_extra_args`` to
the ``ssh`` binary; Fabric speaks SSH itself (paramiko), so the options that matter are
translated here: where to connect, as whom, with which key, through which jump host, and
how strictly to check host keys. Options that only tune OpenSSH itself (ControlMaster,
LogLevel, ...) need no translation; others are reported, never silently dropped.
Standard library only.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, field

from .errors import UsageError
from .inventory import Host

# OpenSSH options with no bearing on a paramiko connection.
HARMLESS = {
    "batchmode",
    "compression",
    "controlmaster",
    "controlpath",
    "controlpersist",
    "identitiesonly",
    "loglevel",
    "preferredauthentications",
    "serveraliveinterval",
    "serveralivecountmax",
    "tcpkeepalive",
    "kbdinteractiveauthentication",
    "passwordauthentication",
    "pubkeyauthentication",
    "gssapiauthentication",
}
# ssh flags that take no value and change nothing for us.
QUIET_FLAGS = {"-q", "-v", "-vv", "-vvv", "-4", "-6", "-C", "-T", "-t", "-tt", "-n", "-N", "-x"}
# ssh flags that take a value: how we read them (the key names the option they set).
VALUE_FLAGS = {"-o": "", "-i": "identityfile", "-p": "port", "-l": "user", "-J": "proxyjump"}
STRICT_CHOICES = ("yes", "no", "accept-new", "ask", "off")


@dataclass
class SshSettings:
    """How to reach one host: everything ``fabric.Connection`` and paramiko need."""

    host: str
    port: int = 22
    user: str | None = None
    key_files: list[str] = field(default_factory=list)
    password: str | None = None
    # OpenSSH's StrictHostKeyChecking: "no" accepts any key without reading known_hosts.
    strict_host_keys: str = "ask"
    known_hosts: str | None = None
    proxy_command: str | None = None
    proxy_jump: str | None = None
    connect_timeout: float | None = None
    forward_agent: bool = False
    become_password: str | None = None
    ignored: list[str] = field(default_factory=list)

    @property
    def checks_host_keys(self) -> bool:
        return self.strict_host_keys not in ("no", "off")

    @property
    def reads_known_hosts(self) -> bool:
        return self.checks_host_keys and self.known_hosts != "/dev/null"


def _options(text: str, where: str) -> list[tuple[str, str]]:
    """``ssh`` arguments as (option, value) pairs, option names in lower case."""
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise UsageError(f"{where}: cannot split {text!r}: {exc}") from None
    pairs: list[tuple[str, str]] = []
    index = 0
    while index < len(words):
        word = words[index]
        flag, attached = word[:2], word[2:]
        if word in QUIET_FLAGS:
            pass
        elif word == "-A":
            pairs.append(("forwardagent", "yes"))
        elif flag in VALUE_FLAGS:
            if not attached:
                index += 1
                if index >= len(words):
                    raise UsageError(f"{where}: {word} needs a value")
                attached = words[index]
            if flag == "-o":
                key, sep, value = attached.partition("=")
                if not sep:
                    key, _, value = attached.partition(" ")
                pairs.append((key.strip().lower(), value.strip()))
            else:
                pairs.append((VALUE_FLAGS[flag], attached))
        else:
            pairs.append((word, ""))
        index += 1
    return pairs


def _apply(settings: SshSettings, key: str, value: str, where: str) -> None:
    if key == "stricthostkeychecking":
        if value.lower() not in STRICT_CHOICES:
            raise UsageError(f"{where}: StrictHostKeyChecking={value} is not one of yes/no/ask")
        settings.strict_host_keys = value.lower()
    elif key == "userknownhostsfile":
        settings.known_hosts = value.split(maxsplit=1)[0] if value else None
    elif key == "proxycommand":
        settings.proxy_command = None if value.lower() == "none" else value
    elif key == "proxyjump":
        settings.proxy_jump = None if value.lower() == "none" else value
    elif key == "connecttimeout":
        settings.connect_timeout = float(value) if value.replace(".", "", 1).isdigit() else None
    elif key == "identityfile":
        settings.key_files.append(value)
    elif key == "port" and value.isdigit():
        settings.port = int(value)
    elif key == "user":
        settings.user = value
    elif key == "forwardagent":
        settings.forward_agent = value.lower() == "yes"
    elif key not in HARMLESS:
        settings.ignored.append(f"{key}={value}" if value else key)


def settings_for(host: Host, extra_keys: list[str] | None = None) -> SshSettings:
    """The SSH settings of ``host`` from its ansible_* variables, as Ansible's ssh plugin
    would use them; ``extra_keys`` are keys given to fab itself (``fab -i KEY``)."""
    settings = SshSettings(host=host.address)
    if os.environ.get("ANSIBLE_HOST_KEY_CHECKING", "").lower() in ("false", "no", "0"):
        settings.strict_host_keys = "no"
    where = f"{host.name}: ansible_ssh_common_args/extra_args"
    for key in ("ansible_ssh_common_args", "ansible_ssh_extra_args"):
        for option, value in _options(host.text(key) or "", where):
            _apply(settings, option, value, where)
    # Inventory variables win over the same settings given in the ssh arguments, as in Ansible.
    for port in ("ansible_port", "ansible_ssh_port"):
        if host.vars.get(port) is not None:
            settings.port = host.port(port)
            break
    settings.user = host.text("ansible_user") or host.text("ansible_ssh_user") or settings.user
    key_file = host.text("ansible_ssh_private_key_file") or host.text("ansible_private_key_file")
    if key_file:
        settings.key_files.insert(0, key_file)
    settings.key_files += extra_keys or []
    settings.password = host.text("ansible_password") or host.text("ansible_ssh_pass")
    settings.become_password = (
        host.text("ansible_become_password")
        or host.text("ansible_become_pass")
        or host.text("ansible_sudo_pass")
    )
    connection = host.text("ansible_connection") or "ssh"
    if connection not in ("ssh", "smart", "paramiko", "paramiko_ssh"):
        raise UsageError(f"{host.name}: ansible_connection={connection}; fab tasks need SSH")
    return settings

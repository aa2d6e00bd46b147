"""How a master authenticates to ZooKeeper and keeps its tree to itself.

With ``spark.deploy.zookeeper.sasl.username`` set, the master logs in with SASL DIGEST-MD5
(kazoo through pure-sasl) using the password in ``spark.deploy.zookeeper.sasl.passwordFile``,
and every znode it creates carries the ACL ``sasl:<username>`` with all permissions and
nothing for anyone else. A tree left open by a master from before (world:anyone) is taken
over when the master connects, before it joins the election: the ACL is set on the dir and
everything below it. Nothing is deleted, so the standby still recovers the records.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..conf import Conf, ConfError

log = logging.getLogger("minispark.master.zkauth")

USERNAME_KEY = "spark.deploy.zookeeper.sasl.username"
PASSWORD_FILE_KEY = "spark.deploy.zookeeper.sasl.passwordFile"


class ZooKeeperAuthError(RuntimeError):
    """ZooKeeper refused this master: the message is the one line an operator needs."""


@dataclass(frozen=True)
class ZooKeeperLogin:
    username: str
    password: str
    password_file: str

    def client_options(self) -> dict[str, Any]:
        """KazooClient keyword arguments: the SASL login and the ACL of every node made."""
        from kazoo.security import make_acl

        return {
            "sasl_options": {
                "mechanism": "DIGEST-MD5",
                "username": self.username,
                "password": self.password,
            },
            "default_acl": [make_acl("sasl", self.username, all=True)],
        }

    def refusal(self, hosts: str) -> str:
        """What ZooKeeper's answer to a wrong password or an unknown user means, and the fix.

        The server answers AUTH_FAILED (or, when it enforces SASL, closes the session) and
        says nothing about which half was wrong, so the line names both places to check.
        """
        return (
            f"ZooKeeper at {hosts} refused the SASL login of user '{self.username}': the "
            f"password in {self.password_file} ({PASSWORD_FILE_KEY}) must match the "
            f'user_{self.username}="..." entry of the Server section of the ensemble\'s JAAS file'
        )


def login_from(conf: Conf) -> ZooKeeperLogin | None:
    """The master's SASL login, or None when no user is configured (no SASL, open ACLs).

    Raises ConfError, in one line naming the key, when the password cannot be had.
    """
    username = (conf.get(USERNAME_KEY) or "").strip()
    if not username:
        return None
    name = (conf.get(PASSWORD_FILE_KEY) or "").strip()
    if not name:
        raise ConfError(
            f"{USERNAME_KEY} is set but {PASSWORD_FILE_KEY} is not: point it at the file "
            "with the ZooKeeper password of that user"
        )
    try:
        text = Path(name).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfError(
            f"{PASSWORD_FILE_KEY}: {name} does not exist; create it with the password of "
            f"ZooKeeper user '{username}' or fix the path"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "it is not UTF-8 text"
        raise ConfError(
            f"{PASSWORD_FILE_KEY}: cannot read {name} ({reason}); it must be readable by "
            "the user the master runs as"
        ) from None
    # One password on the first line; a trailing newline is an editor's, not the secret's.
    password = text.splitlines()[0].strip() if text.strip() else ""
    if not password:
        raise ConfError(f"{PASSWORD_FILE_KEY}: {name} is empty; write the password in it")
    return ZooKeeperLogin(username, password, name)


def take_over(client: Any, root: str, acl: list[Any]) -> int:
    """Give the dir and every node below it `acl`; returns how many nodes changed.

    Nodes that vanish mid-walk (an old master's election node, a record removed) are
    skipped. A node whose ACL this login may not change means another account owns the
    tree: ZooKeeperAuthError, and nothing has been deleted.
    """
    from kazoo.exceptions import BadVersionError, NoAuthError, NoNodeError

    changed = 0
    pending = [root]
    while pending:
        path = pending.pop()
        try:
            current, stat = client.get_acls(path)
            if list(current) != list(acl):
                # The version guards against a concurrent ACL change by someone else.
                client.set_acls(path, acl, version=stat.aversion)
                changed += 1
            pending.extend(f"{path}/{child}" for child in client.get_children(path))
        except NoNodeError:
            continue
        except BadVersionError:
            pending.append(path)  # changed meanwhile (another master taking over): again
        except NoAuthError:
            # Also what an unknown user sees: the server may let its login end without an
            # error, leaving an anonymous session, so both causes are named.
            raise ZooKeeperAuthError(
                f"ZooKeeper refuses this master access to {path}: either the node belongs "
                f"to another account (give {root} to this SASL user with setAcl as its owner "
                "or a ZooKeeper superuser, or point spark.deploy.zookeeper.dir elsewhere) or "
                "the SASL user is unknown to the ensemble's JAAS Server section"
            ) from None
    if changed:
        log.warning("took over %d ZooKeeper nodes under %s: only this SASL user can use them now",
                    changed, root)  # fmt: skip
    return changed

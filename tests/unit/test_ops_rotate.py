"""fab rotate-credentials with fake hosts: the playbook command it runs, and how it judges
the cluster afterwards (every daemon on the new secret, none on the old, certificates)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

import pytest

from minispark.ops import commands
from minispark.ops.certs import Expiry
from minispark.ops.commands import CHECKOUT, Session
from minispark.ops.credentials import Credentials
from tests.unit.opsfakes import FakeActions, FakeCluster

NOW = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)
PLAYBOOK = str(CHECKOUT / "playbooks" / "rotate_credentials.yml")


class Rotation:
    """A session whose playbook is ``effect`` on the fake cluster, with the secret on disk
    changing to ``new`` when it runs."""

    def __init__(
        self,
        effect: Callable[[FakeCluster], int] | None = None,
        *,
        keys: Sequence[str] = (),
        new: str = "new-secret",
    ) -> None:
        self.cluster = FakeCluster()
        self.secret: str | None = "old-secret"
        self.runs: list[list[str]] = []
        self.said: list[str] = []

        def playbook(argv: Sequence[str]) -> int:
            self.runs.append(list(argv))
            self.secret = new
            if effect is None:
                self.cluster.rotate(new)
                return 0
            return effect(self.cluster)

        self.session = Session(
            self.cluster.inventory,
            self.cluster,
            FakeActions(self.cluster),
            say=self.said.append,
            credentials=lambda: Credentials(self.secret, None, secret_source="a file"),
            keys=keys,
            playbook=playbook,
            now=lambda: NOW,
        )

    @property
    def text(self) -> str:
        return "\n".join(self.said)


def test_the_playbook_runs_with_the_inventory_and_the_key() -> None:
    r = Rotation(keys=["~/.ssh/lab", "~/.ssh/other"])
    assert commands.rotate_credentials(r.session, dry_run=False) == 0
    assert r.runs == [
        ["ansible-playbook", PLAYBOOK, "-i", "inventory/test", "--private-key", "~/.ssh/lab"]
    ]
    assert "All 6 masters and workers answer with the new secret." in r.text
    assert r.said[-1] == "Rotation done."


def test_a_dry_run_runs_nothing() -> None:
    r = Rotation()
    assert commands.rotate_credentials(r.session, dry_run=True) == 0
    assert r.runs == []
    assert r.said == [
        f"Dry run: would run ansible-playbook {PLAYBOOK} -i inventory/test and then check "
        "every master and worker."
    ]


def test_a_failed_playbook_fails_and_says_a_rerun_is_safe() -> None:
    r = Rotation(lambda cluster: 2)
    assert commands.rotate_credentials(r.session, dry_run=False) == 1
    assert "FAILED: the playbook exited 2" in r.text
    assert "run fab rotate-credentials again" in r.text


def test_a_daemon_left_on_the_old_secret_fails_the_rotation() -> None:
    def partial(cluster: FakeCluster) -> int:
        cluster.rotate("new-secret", skip=["worker w2"])
        return 0

    r = Rotation(partial)
    assert commands.rotate_credentials(r.session, dry_run=False) == 1
    assert "- refuses the new secret: worker w2 refuses it (HTTP 401)" in r.text
    assert "- worker w2 still accepts the old secret" in r.text
    assert "All 6" not in r.text


def test_a_daemon_still_accepting_the_old_secret_fails_the_rotation() -> None:
    def lingering(cluster: FakeCluster) -> int:
        cluster.rotate("new-secret", keep_old=["master m2"])
        return 0

    r = Rotation(lingering)
    assert commands.rotate_credentials(r.session, dry_run=False) == 1
    assert "- master m2 still accepts the old secret" in r.text
    assert "refuses the new secret" not in r.text


def test_an_unchanged_secret_is_a_warning_not_a_failure() -> None:
    r = Rotation(new="old-secret")
    assert commands.rotate_credentials(r.session, dry_run=False) == 0
    assert "WARNING: the secret did not change (it comes from a file)" in r.text


@pytest.mark.parametrize(("days", "code"), [(400, 0), (10, 0), (-1, 1)])
def test_the_new_certificates_expiry_is_reported(days: int, code: int) -> None:
    r = Rotation()
    expires = NOW + dt.timedelta(days=days, hours=1)
    r.cluster.expiries = [
        Expiry("master m1", "10.77.0.11:8080", NOW + dt.timedelta(days=400)),
        Expiry("worker w1", "10.77.0.14:8081", expires),
    ]
    assert commands.rotate_credentials(r.session, dry_run=False) == code
    assert "CERTIFICATE OF" in r.text and "master m1" in r.text
    if days == 10:
        assert "WARNING: the certificate of worker w1 10.77.0.14:8081 expires in 10 days" in r.text
    if days < 0:
        assert "- the certificate of worker w1 10.77.0.14:8081 expired on" in r.text

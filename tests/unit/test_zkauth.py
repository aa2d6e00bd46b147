"""The masters' ZooKeeper login from the conf: one line naming the key for each bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from minispark.conf import Conf, ConfError
from minispark.master.zkauth import PASSWORD_FILE_KEY, USERNAME_KEY, login_from


def test_no_user_means_no_sasl() -> None:
    assert login_from(Conf()) is None


def test_password_is_the_first_line_without_its_newline(tmp_path: Path) -> None:
    secret = tmp_path / "zookeeper.secret"
    secret.write_text("s3cret\nignored\n")
    login = login_from(Conf({USERNAME_KEY: "spark", PASSWORD_FILE_KEY: str(secret)}))
    assert login is not None
    options = login.client_options()
    assert options["sasl_options"] == {
        "mechanism": "DIGEST-MD5", "username": "spark", "password": "s3cret",
    }  # fmt: skip
    (acl,) = options["default_acl"]
    assert (acl.id.scheme, acl.id.id, acl.perms) == ("sasl", "spark", 31)
    assert "s3cret" not in login.refusal("zk1:2181") and str(secret) in login.refusal("zk1:2181")


@pytest.mark.parametrize(
    ("content", "expected"),
    [(None, "does not exist"), ("", "is empty"), ("\n", "is empty")],
)
def test_bad_password_files_are_one_line(
    tmp_path: Path, content: str | None, expected: str
) -> None:
    secret = tmp_path / "zookeeper.secret"
    if content is not None:
        secret.write_text(content)
    with pytest.raises(ConfError) as caught:
        login_from(Conf({USERNAME_KEY: "spark", PASSWORD_FILE_KEY: str(secret)}))
    message = str(caught.value)
    assert expected in message and PASSWORD_FILE_KEY in message and "\n" not in message


def test_unreadable_file_names_the_fix(tmp_path: Path) -> None:
    secret = tmp_path / "zookeeper.secret"
    secret.mkdir()  # unreadable as a file even for root, who ignores mode bits
    with pytest.raises(ConfError, match="cannot read"):
        login_from(Conf({USERNAME_KEY: "spark", PASSWORD_FILE_KEY: str(secret)}))


def test_user_without_password_file_names_the_key() -> None:
    with pytest.raises(ConfError, match=PASSWORD_FILE_KEY):
        login_from(Conf({USERNAME_KEY: "spark"}))

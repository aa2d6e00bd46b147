"""Unit tests for minispark.conf: parsers, the table of known keys, Conf and validation
(sources and precedence: test_conf_sources.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from minispark.conf import (
    KNOWN,
    REDACTED,
    Conf,
    ConfError,
    parse_bool,
    parse_duration_s,
    parse_size_bytes,
    parse_size_mb,
)
from minispark.conf.keys import check_groups
from minispark.conf.table import check_table

# --------------------------------------------------------------------------------------------
# Parsers
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "mib"),
    [
        ("512m", 512),
        ("512M", 512),
        ("512mb", 512),
        ("2g", 2048),
        ("2G", 2048),
        ("1t", 1024 * 1024),
        ("1024", 1024),
        (" 1g ", 1024),
        ("1536k", 2),  # 1.5 MiB rounds up
        ("1024k", 1),
        ("1b", 1),  # a positive size never becomes 0
        ("1048576b", 1),
    ],
)
def test_parse_size_mb_good(text: str, mib: int) -> None:
    assert parse_size_mb(text) == mib


@pytest.mark.parametrize(
    "text", ["", "0", "0m", "-1g", "abc", "1x", "2 g", "g", "1.5g", "1e3", "\u0663m", "1_000"]
)
def test_parse_size_mb_bad_names_key(text: str) -> None:
    with pytest.raises(ConfError, match=r"^spark\.executor\.memory: ") as info:
        parse_size_mb(text, key="spark.executor.memory")
    assert repr(text) in str(info.value)
    assert "\n" not in str(info.value)


def test_parse_size_mb_fraction_hint() -> None:
    with pytest.raises(ConfError, match="fractions are not supported"):
        parse_size_mb("1.5g", key="k")


@pytest.mark.parametrize(
    ("text", "size"),
    [("64k", 65536), ("1m", 1 << 20), ("1g", 1 << 30), ("100", 100), ("128MB", 128 << 20)],
)
def test_parse_size_bytes_good(text: str, size: int) -> None:
    assert parse_size_bytes(text) == size


@pytest.mark.parametrize("text", ["0", "-5", "big", "1q"])
def test_parse_size_bytes_bad(text: str) -> None:
    with pytest.raises(ConfError, match=r"^minispark\.rpc\.maxFrameSize: .*(not a size|positive)"):
        parse_size_bytes(text, key="minispark.rpc.maxFrameSize")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("15s", 15.0),
        ("500ms", 0.5),
        ("2min", 120.0),
        ("2m", 120.0),
        ("1h", 3600.0),
        ("7d", 604800.0),
        ("60", 60.0),
        ("250us", 0.00025),
        ("1.5s", 1.5),
        ("15S", 15.0),
        ("0", 0.0),
    ],
)
def test_parse_duration_good(text: str, seconds: float) -> None:
    assert parse_duration_s(text) == seconds


def test_parse_duration_message_matches_contract() -> None:
    with pytest.raises(ConfError) as info:
        parse_duration_s("15 seconds", key="spark.worker.timeout")
    assert str(info.value) == (
        "spark.worker.timeout: '15 seconds' is not a duration (use e.g. 15s, 500ms, 2min)"
    )


@pytest.mark.parametrize("text", ["", "soon", "15x", "-1s", "1.s", "s"])
def test_parse_duration_bad(text: str) -> None:
    with pytest.raises(ConfError, match=r"^spark\.worker\.timeout: "):
        parse_duration_s(text, key="spark.worker.timeout")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("true", True),
        ("TRUE", True),
        ("yes", True),
        ("1", True),
        ("false", False),
        ("No", False),
        ("0", False),
        (" true ", True),
    ],
)
def test_parse_bool_good(text: str, value: bool) -> None:
    assert parse_bool(text) is value


@pytest.mark.parametrize("text", ["", "maybe", "on", "2", "t"])
def test_parse_bool_bad(text: str) -> None:
    with pytest.raises(ConfError, match=r"^spark\.authenticate: .* is not a boolean"):
        parse_bool(text, key="spark.authenticate")


@given(st.integers(min_value=1, max_value=10**9))
def test_size_mb_round_trip_m(n: int) -> None:
    assert parse_size_mb(f"{n}m") == n


@given(st.integers(min_value=1, max_value=10**9))
def test_size_mb_round_trip_g(n: int) -> None:
    assert parse_size_mb(f"{n}g") == n * 1024


@given(st.integers(min_value=1, max_value=10**9))
def test_size_mb_plain_is_mib(n: int) -> None:
    assert parse_size_mb(str(n)) == n


@given(st.integers(min_value=1, max_value=10**12))
def test_size_mb_k_rounds_up(n: int) -> None:
    assert parse_size_mb(f"{n}k") == -(-n // 1024)


@given(st.integers(min_value=0, max_value=10**12))
def test_duration_round_trip_ms(n: int) -> None:
    assert parse_duration_s(f"{n}ms") == n / 1000


@given(st.integers(min_value=0, max_value=10**9))
def test_duration_round_trip_s(n: int) -> None:
    assert parse_duration_s(f"{n}s") == parse_duration_s(str(n)) == float(n)


@given(st.text(max_size=20))
def test_parsers_raise_only_conf_error(text: str) -> None:
    for parse in (parse_size_mb, parse_size_bytes, parse_duration_s, parse_bool):
        try:
            parse(text, key="k")
        except ConfError as err:
            assert str(err).startswith("k: ")
            assert "\n" not in str(err)


# --------------------------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------------------------


def test_every_default_parses() -> None:
    check_table()
    check_groups()
    assert Conf().get_duration_s("spark.worker.timeout") == 15.0
    assert Conf().get_duration_s("minispark.zookeeper.sessionTimeout") == 6.0
    assert Conf().get_size_mb("spark.executor.memory") == 1024
    assert Conf().get_bytes("minispark.rpc.maxFrameSize") == 128 << 20
    assert Conf().get_duration_s("spark.worker.cleanup.appDataTtl") == 7 * 86400


def test_spec_section3_keys_are_known() -> None:
    spec_keys = [
        "spark.deploy.recoveryMode",
        "spark.deploy.zookeeper.url",
        "spark.deploy.zookeeper.dir",
        "spark.deploy.recoveryDirectory",
        "spark.deploy.recoveryTimeout",
        "minispark.zookeeper.sessionTimeout",
        "spark.worker.timeout",
        "spark.deploy.spreadOut",
        "spark.deploy.defaultCores",
        "spark.deploy.maxExecutorRetries",
        "spark.deploy.retainedApplications",
        "spark.deploy.retainedDrivers",
        "spark.executor.memory",
        "spark.executor.cores",
        "spark.cores.max",
        "spark.task.maxFailures",
        "spark.default.parallelism",
        "spark.local.dir",
        "spark.worker.cleanup.enabled",
        "spark.worker.cleanup.interval",
        "spark.worker.cleanup.appDataTtl",
        "spark.authenticate",
        "spark.authenticate.secret",
        "spark.authenticate.secret.file",
        "minispark.ssl.enabled",
        "minispark.ssl.certFile",
        "minispark.ssl.keyFile",
        "minispark.ssl.caFile",
    ]
    assert [key for key in spec_keys if key not in KNOWN] == []
    assert all(key.doc for key in KNOWN.values())


def test_defaults_and_no_defaults() -> None:
    c = Conf()
    assert c.get("spark.deploy.recoveryMode") == "NONE"
    assert c.get("spark.deploy.zookeeper.dir") == "/spark"
    assert c.get_bool("spark.deploy.spreadOut") is True
    assert c.get_bool("spark.decommission.enabled") is True
    assert c.get_bool("spark.authenticate") is False
    assert c.get_int_or_none("spark.deploy.defaultCores") is None
    assert c.get_int("spark.deploy.maxExecutorRetries") == 10
    assert c.get_int("spark.master.ui.port") == 8080
    assert c.get_int("spark.worker.ui.port") == 8081
    assert c.get_int("spark.worker.initialRegistrationRetries") == 6
    assert c.get_int("spark.worker.maxRegistrationRetries") == 16
    assert c.get_int_or_none("minispark.driver.maxAttempts") is None
    assert c.get("spark.master") is None
    assert c.get("no.such.key") is None
    assert c.get("no.such.key", "fallback") == "fallback"
    assert c.get_bool("no.such.key") is False


# --------------------------------------------------------------------------------------------
# Conf
# --------------------------------------------------------------------------------------------


def test_recovery_timeout_falls_back_to_worker_timeout() -> None:
    assert Conf().get_duration_s("spark.deploy.recoveryTimeout") == 15.0
    c = Conf({"spark.worker.timeout": "40s"})
    assert c.get_duration_s("spark.deploy.recoveryTimeout") == 40.0
    c = c.with_values({"spark.deploy.recoveryTimeout": "90s"})
    assert c.get_duration_s("spark.deploy.recoveryTimeout") == 90.0
    assert not Conf().contains("spark.deploy.recoveryTimeout")


def test_fallback_error_names_the_key_that_was_set() -> None:
    c = Conf({"spark.worker.timeout": "fast"})
    with pytest.raises(ConfError, match=r"^spark\.worker\.timeout: 'fast'"):
        c.get_duration_s("spark.deploy.recoveryTimeout")


def test_alias_spread_out_apps() -> None:
    c = Conf({"spark.deploy.spreadOutApps": "false"})
    assert c.get_bool("spark.deploy.spreadOut") is False
    assert c.contains("spark.deploy.spreadOut")
    assert c.contains("spark.deploy.spreadOutApps")
    assert c.items() == [("spark.deploy.spreadOut", "false")]
    # Within one layer the canonical name wins.
    both = Conf({"spark.deploy.spreadOutApps": "false", "spark.deploy.spreadOut": "true"})
    assert both.get_bool("spark.deploy.spreadOut") is True
    # Across layers, the higher layer wins whichever name it uses.
    assert (
        not Conf({"spark.deploy.spreadOut": "true"})
        .with_values({"spark.deploy.spreadOutApps": "no"})
        .get_bool("spark.deploy.spreadOut")
    )


def test_unknown_keys_kept() -> None:
    c = Conf({"my.own.setting": "x y z", "spark.executor.memory": "2g"})
    c.validate()
    assert c.get("my.own.setting") == "x y z"
    assert c.items() == [("my.own.setting", "x y z"), ("spark.executor.memory", "2g")]
    assert "my.own.setting" in c


def test_with_values_does_not_mutate() -> None:
    a = Conf({"spark.app.name": "a"})
    b = a.with_values({"spark.app.name": "b", "spark.cores.max": "4"})
    assert a.get("spark.app.name") == "a"
    assert b.get("spark.app.name") == "b"
    assert b.get_int_or_none("spark.cores.max") == 4


def test_typed_getters_check_ranges() -> None:
    with pytest.raises(ConfError, match=r"^spark\.task\.maxFailures: '0' is out of range"):
        Conf({"spark.task.maxFailures": "0"}).get_int("spark.task.maxFailures")
    assert (
        Conf({"spark.deploy.maxExecutorRetries": "-1"}).get_int("spark.deploy.maxExecutorRetries")
        == -1
    )


def test_plain_getters_never_return_none() -> None:
    # A key without a default needs the _or_none getter; the plain one refuses it (mypy does
    # too, through the key's type) instead of returning None where it promises an int.
    with pytest.raises(LookupError, match=r"spark\.cores\.max has no default"):
        Conf().get_int("spark.cores.max")  # type: ignore[arg-type]
    assert Conf().get_int_or_none("spark.cores.max") is None
    assert Conf().get_bytes_or_none("minispark.shuffle.spillThreshold") is None
    assert Conf({"minispark.shuffle.spillThreshold": "1m"}).get_bytes_or_none(
        "minispark.shuffle.spillThreshold"
    ) == (1 << 20)
    assert Conf().get_size_mb_or_none("minispark.worker.memory") is None
    assert Conf({"minispark.worker.memory": "2g"}).get_size_mb_or_none(
        "minispark.worker.memory"
    ) == (2048)


def test_zero_is_a_value_not_unset() -> None:
    c = Conf({"spark.deploy.retainedDrivers": "0", "spark.worker.cleanup.appDataTtl": "0"})
    assert c.get_int("spark.deploy.retainedDrivers") == 0
    assert c.get_duration_s("spark.worker.cleanup.appDataTtl") == 0.0


def test_require_and_get_str() -> None:
    assert Conf().get_str("spark.deploy.zookeeper.dir") == "/spark"
    assert Conf({"spark.deploy.recoveryDirectory": "/d"}).require(
        "spark.deploy.recoveryDirectory"
    ) == ("/d")
    with pytest.raises(ConfError, match=r"^spark\.deploy\.recoveryDirectory is unset"):
        Conf().require("spark.deploy.recoveryDirectory")


@pytest.mark.parametrize(
    ("key", "value"), [("minispark.worker.cores", "0"), ("minispark.worker.memory", "lots")]
)
def test_worker_size_keys_are_checked_at_load(key: str, value: str) -> None:
    with pytest.raises(ConfError, match=rf"^{key}: '{value}'"):
        Conf({key: value}).validate()


def test_get_choice_is_case_insensitive() -> None:
    assert (
        Conf({"spark.deploy.recoveryMode": "filesystem"}).get_choice("spark.deploy.recoveryMode")
        == "FILESYSTEM"
    )


@pytest.mark.parametrize(
    ("key", "value", "pattern"),
    [
        ("spark.worker.timeout", "15 seconds", r"is not a duration \(use e\.g\. 15s"),
        ("spark.worker.timeout", "0", r"out of range \(expected at least 1ms\)"),
        ("spark.executor.memory", "lots", r"is not a size"),
        ("spark.executor.cores", "two", r"is not an integer"),
        ("spark.executor.cores", "0", r"out of range \(expected at least 1\)"),
        ("spark.deploy.maxExecutorRetries", "-2", r"at least -1"),
        ("spark.master.ui.port", "70000", r"expected 0-65535"),
        ("spark.worker.cleanup.enabled", "sure", r"is not a boolean"),
        ("spark.deploy.recoveryMode", "ROCKSDB", r"expected one of NONE, ZOOKEEPER, FILESYSTEM"),
        ("minispark.rpc.maxFrameSize", "1g2", r"is not a size"),
        ("spark.deploy.zookeeper.dir", "spark", r"absolute path like /spark"),
        ("spark.deploy.zookeeper.dir", "/spark/", r"absolute path like /spark"),
    ],
)
def test_validate_names_key_value_and_fix(key: str, value: str, pattern: str) -> None:
    with pytest.raises(ConfError, match=pattern) as info:
        Conf({key: value}).validate()
    message = str(info.value)
    assert message.startswith(key)
    assert repr(value) in message
    assert "\n" not in message


def test_validate_recovery_mode_needs_its_settings() -> None:
    with pytest.raises(ConfError, match=r"ZOOKEEPER needs spark\.deploy\.zookeeper\.url"):
        Conf({"spark.deploy.recoveryMode": "ZOOKEEPER"}).validate()
    with pytest.raises(ConfError, match=r"ZOOKEEPER needs"):
        Conf(
            {"spark.deploy.recoveryMode": "zookeeper", "spark.deploy.zookeeper.url": ""}
        ).validate()
    Conf(
        {"spark.deploy.recoveryMode": "ZOOKEEPER", "spark.deploy.zookeeper.url": "zk1:2181"}
    ).validate()
    with pytest.raises(ConfError, match=r"FILESYSTEM needs spark\.deploy\.recoveryDirectory"):
        Conf({"spark.deploy.recoveryMode": "FILESYSTEM"}).validate()
    Conf(
        {"spark.deploy.recoveryMode": "FILESYSTEM", "spark.deploy.recoveryDirectory": "/var/x"}
    ).validate()


def test_validate_authenticate_needs_secret(tmp_path: Path) -> None:
    with pytest.raises(ConfError, match=r"spark\.authenticate=true needs"):
        Conf({"spark.authenticate": "true"}).validate()
    Conf({"spark.authenticate": "true", "spark.authenticate.secret": "s3cr3t"}).validate()
    missing = tmp_path / "nope"
    with pytest.raises(ConfError, match=r"^spark\.authenticate\.secret\.file: cannot read"):
        Conf(
            {"spark.authenticate": "true", "spark.authenticate.secret.file": str(missing)}
        ).validate()
    # Not enabled: the secret settings are not needed.
    Conf({"spark.authenticate": "false"}).validate()


def test_validate_registration_retries_and_ssl_pairs() -> None:
    with pytest.raises(ConfError, match=r"maxRegistrationRetries: '3' is below"):
        Conf({"spark.worker.maxRegistrationRetries": "3"}).validate()
    with pytest.raises(ConfError, match=r"minispark\.ssl\.keyFile is unset"):
        Conf({"minispark.ssl.certFile": "/c.pem"}).validate()
    Conf({"minispark.ssl.certFile": "/c.pem", "minispark.ssl.keyFile": "/k.pem"}).validate()


def test_secret_sources(tmp_path: Path) -> None:
    assert Conf().secret() is None
    assert Conf({"spark.authenticate.secret": "abc"}).secret() == b"abc"
    path = tmp_path / "secret"
    path.write_bytes(b"  from-file\n")
    assert Conf({"spark.authenticate.secret.file": str(path)}).secret() == b"from-file"
    # The inline secret wins over the file.
    both = {"spark.authenticate.secret": "inline", "spark.authenticate.secret.file": str(path)}
    assert Conf(both).secret() == b"inline"
    empty = tmp_path / "empty"
    empty.write_text("\n")
    with pytest.raises(ConfError, match="is empty"):
        Conf({"spark.authenticate.secret.file": str(empty)}).secret()


def test_redaction() -> None:
    c = Conf(
        {
            "spark.authenticate.secret": "hunter2",
            "my.db.password": "pw",
            "spark.app.name": "app",
        }
    )
    red = c.redacted()
    assert red == {
        "spark.authenticate.secret": REDACTED,
        "my.db.password": REDACTED,
        "spark.app.name": "app",
    }
    assert REDACTED == "*********(redacted)"
    assert "hunter2" not in repr(c)
    assert c.get("spark.authenticate.secret") == "hunter2"

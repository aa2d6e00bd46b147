"""Unit tests for minispark.appconf: how an application's settings reach its processes, in
what order they win, and the one way a cluster-mode driver's description is built."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from minispark import cli
from minispark.appconf import (
    APP_CONF_ENV,
    SECURITY_KEYS,
    cluster_security,
    driver_description,
    launch_env,
    shareable,
    take,
)
from minispark.conf import Conf, ConfError
from minispark.master import rest
from minispark.protocol import DriverDescription
from minispark.rdd import sparkconf
from minispark.rdd.sparkconf import SparkConf
from minispark.worker.drivers import DriverRunner

SECRET = "s3cret-value"
CLUSTER = {"spark.authenticate": "true", "spark.authenticate.secret": SECRET}

# --------------------------------------------------------------------------------------------
# The carrier: one environment variable, written by the launcher, taken by the child
# --------------------------------------------------------------------------------------------

settings_st = st.dictionaries(
    st.text(min_size=1).filter(lambda k: k not in SECURITY_KEYS), st.text(), max_size=8
)


@given(settings_st)
def test_settings_survive_the_trip_through_the_environment(settings: dict[str, str]) -> None:
    env = launch_env({"PATH": "/bin"}, settings, {})
    assert take(env) == settings
    assert env == {"PATH": "/bin"}  # taken out: nothing the child starts inherits it


def test_the_launchers_environment_is_kept_and_not_changed() -> None:
    base = {"HOME": "/home/u", APP_CONF_ENV: '{"stale": "1"}'}
    env = launch_env(base, {"spark.app.name": "a"}, {})
    assert env["HOME"] == "/home/u"
    assert take(env) == {"spark.app.name": "a"}  # a stale value is replaced, not merged
    assert base[APP_CONF_ENV] == '{"stale": "1"}'


def test_nothing_handed_over_reads_as_no_settings() -> None:
    env: dict[str, str] = {}
    assert take(env) == {}


def test_the_clusters_security_wins_over_the_applications() -> None:
    app = {
        "spark.app.name": "job",
        "spark.authenticate.secret": "the-app-guess",
        "minispark.ssl.caFile": "/on/the/submitters/host/ca.pem",
    }
    handed = take(launch_env({}, app, CLUSTER))
    assert handed == {"spark.app.name": "job", **CLUSTER}  # no app security key survives


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not JSON"),
        ('["a", "b"]', "JSON object of strings"),
        ('{"spark.executor.cores": 2}', "JSON object of strings"),
    ],
)
def test_a_malformed_variable_is_a_one_line_error_naming_it(text: str, message: str) -> None:
    with pytest.raises(ConfError, match=message) as err:
        take({APP_CONF_ENV: text})
    assert APP_CONF_ENV in str(err.value) and "\n" not in str(err.value)


def test_a_worker_imposes_only_its_explicit_security_settings() -> None:
    conf = Conf({**CLUSTER, "spark.worker.timeout": "30s", "minispark.ssl.caFile": "/ca.pem"})
    assert cluster_security(conf) == {**CLUSTER, "minispark.ssl.caFile": "/ca.pem"}


def test_what_a_driver_tells_the_master_holds_no_secret() -> None:
    settings = [
        ("spark.app.name", "job"),
        ("spark.executor.memory", "1g"),
        ("myapp.db.Secret", "hunter2"),
        *CLUSTER.items(),
        ("minispark.ssl.enabled", "true"),
    ]
    assert shareable(settings) == {"spark.app.name": "job", "spark.executor.memory": "1g"}


# --------------------------------------------------------------------------------------------
# Precedence: program > flags > --conf > properties file > defaults
# --------------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def no_submitted_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """An empty conf dir, so this host's /etc/minispark cannot leak in; SparkConf's
    submitted settings reset after each test."""
    monkeypatch.setenv("MINISPARK_CONF_DIR", str(tmp_path / "no-conf"))
    yield
    sparkconf.use_submitted({})


def _submit_args(tmp_path: Path, *flags: str) -> tuple[list[str], Path]:
    props = tmp_path / "app.conf"
    props.write_text(
        "spark.master minispark://file:7077\n"
        "spark.executor.memory 3g\n"
        "spark.executor.cores 3\n"
        "spark.cores.max 30\n"
    )
    app = tmp_path / "job.py"
    app.write_text("print('hi')\n")
    return ["submit", "--properties-file", str(props), *flags, str(app)], app


def _resolved(argv: list[str], launched: dict[str, str] | None = None) -> dict[str, str]:
    return cli.submit_conf(cli.build_parser().parse_args(argv), launched or {})


def test_flags_beat_conf_which_beats_the_properties_file(tmp_path: Path) -> None:
    argv, _ = _submit_args(
        tmp_path,
        "--conf",
        "spark.executor.memory=2g",
        "--conf",
        "spark.executor.cores=2",
        "--executor-memory",
        "1g",
    )
    values = _resolved(argv)
    assert values["spark.executor.memory"] == "1g"  # flag over --conf
    assert values["spark.executor.cores"] == "2"  # --conf over the file
    assert values["spark.cores.max"] == "30"  # the file over the defaults
    assert values["spark.app.name"] == "job"  # the default name: the program's file name


def test_settings_handed_over_by_a_worker_beat_its_hosts_properties_file(
    tmp_path: Path,
) -> None:
    argv, _ = _submit_args(tmp_path)
    launched = {"spark.master": "minispark://submitted:7077", "spark.executor.cores": "1"}
    values = _resolved(argv, launched)
    assert values["spark.master"] == "minispark://submitted:7077"
    assert values["spark.executor.cores"] == "1"
    assert values["spark.executor.memory"] == "3g"  # what the submitter left unset


def test_the_program_beats_everything_submit_resolved(tmp_path: Path) -> None:
    argv, _ = _submit_args(tmp_path, "--executor-memory", "1g", "--name", "from-flag")
    sparkconf.use_submitted(_resolved(argv))
    conf = SparkConf().set("spark.executor.memory", "512m")
    assert conf.get("spark.executor.memory") == "512m"
    assert conf.get("spark.app.name") == "from-flag"
    assert SparkConf(loadDefaults=False).get("spark.app.name") is None


# --------------------------------------------------------------------------------------------
# DriverDescription: one builder for the CLI and REST
# --------------------------------------------------------------------------------------------


def test_unset_driver_resources_come_from_the_table() -> None:
    desc = driver_description(
        Conf({"spark.app.name": "job", "spark.master": "minispark://m:7077"}),
        main="job.py",
        args=["x"],
        files={"job.py": b"print(1)\n"},
    )
    assert (desc.cores, desc.memory_mb, desc.supervise, desc.max_attempts) == (1, 1024, False, None)
    assert desc.name == "job" and desc.args == ["x"]


def test_the_description_keeps_the_programs_settings_but_not_the_clusters_security() -> None:
    conf = Conf(
        {
            "spark.app.name": "job",
            "spark.submit.pyFiles": "/submitter/helper.py",
            "myapp.db.secret": "the-programs-own",
            "spark.driver.supervise": "true",
            "minispark.driver.maxAttempts": "3",
            **CLUSTER,
        }
    )
    desc = driver_description(conf, main="job.py", args=[], files={"job.py": b""})
    assert not SECURITY_KEYS & desc.conf.keys() and "spark.submit.pyFiles" not in desc.conf
    assert desc.conf["myapp.db.secret"] == "the-programs-own"
    assert desc.supervise and desc.max_attempts == 3


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"spark.app.name": "job", "spark.driver.cores": "0"}, "spark.driver.cores"),
        ({"spark.app.name": "job", "spark.driver.memory": "lots"}, "spark.driver.memory"),
        ({"spark.driver.cores": "1"}, "spark.app.name"),
    ],
)
def test_a_bad_description_is_refused_naming_the_key(
    settings: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfError, match=message):
        driver_description(Conf(settings), main="job.py", args=[], files={"job.py": b""})


def test_the_cli_and_rest_build_the_same_description(tmp_path: Path) -> None:
    argv, app = _submit_args(
        tmp_path,
        "--deploy-mode",
        "cluster",
        "--supervise",
        "--driver-memory",
        "256m",
        "--conf",
        f"spark.authenticate.secret={SECRET}",
        "--conf",
        "spark.authenticate=true",
    )
    args = cli.build_parser().parse_args([*argv, "arg1"])
    values = cli.submit_conf(args, {})
    from_cli = driver_description(
        Conf(values), main=app.name, args=args.app_args, files={app.name: app.read_bytes()}
    )
    from_rest = rest.description(
        {
            "appResource": app.name,
            "appArgs": ["arg1"],
            "files": {app.name: base64.b64encode(app.read_bytes()).decode()},
            "sparkProperties": values,
        }
    )
    assert from_rest == from_cli
    assert from_cli.supervise and from_cli.memory_mb == 256
    assert SECRET not in repr(from_cli.conf)


# --------------------------------------------------------------------------------------------
# The worker's side: a cluster-mode driver's command line carries no setting
# --------------------------------------------------------------------------------------------


def _runner(tmp_path: Path) -> DriverRunner:
    desc = DriverDescription(
        name="job",
        main="job.py",
        args=["--n", "3"],
        files={"job.py": b"", "helper.py": b""},
        conf={"spark.app.name": "job", "spark.master": "minispark://m:7077"},
        cores=1,
        memory_mb=256,
    )
    return DriverRunner(
        driver_id="driver-1",
        desc=desc,
        work_dir=tmp_path,
        env={"PATH": "/bin"},
        security=CLUSTER,
        on_final=lambda runner, state, message: None,
    )


def test_a_cluster_mode_drivers_settings_travel_beside_its_command(tmp_path: Path) -> None:
    runner = _runner(tmp_path)
    command = runner.command()
    assert "--conf" not in command and not any(SECRET in part for part in command)
    assert command[-3:] == [str(tmp_path / "driver-1" / "job.py"), "--n", "3"]
    handed = take(launch_env({}, runner.settings(), CLUSTER))
    assert handed["spark.submit.pyFiles"] == str(tmp_path / "driver-1" / "helper.py")
    assert handed["spark.master"] == "minispark://m:7077"
    assert handed["spark.authenticate.secret"] == SECRET

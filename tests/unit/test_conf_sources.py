"""Unit tests for the configuration's sources (env file, properties file, -D options, --conf
pairs) and load()'s precedence across them."""

from __future__ import annotations

from pathlib import Path

import pytest

from minispark import conf
from minispark.conf import (
    ConfError,
    conf_dir,
    daemon_environment,
    env_defaults,
    load,
    parse_conf_pairs,
    parse_java_opts,
    read_env_file,
    read_properties_file,
)

# --------------------------------------------------------------------------------------------
# Sources
# --------------------------------------------------------------------------------------------


def test_env_file_forms(tmp_path: Path) -> None:
    path = tmp_path / "minispark-env"
    path.write_text(
        "# comment\n"
        "\n"
        'MINISPARK_MASTER_HOST="10.0.0.1"\n'
        "MINISPARK_MASTER_PORT=7077\n"
        "MINISPARK_WORKER_DIR='/srv/work dir'\n"
        '  MINISPARK_DAEMON_OPTS="-Dspark.deploy.recoveryMode=ZOOKEEPER -Da=\\"b c\\""  \n'
        "MINISPARK_LITERAL='$HOME'\n"
        'MINISPARK_ESCAPED="cost \\$5"\n'
        "EMPTY=\n"
        'EMPTY_QUOTED=""\n'
        "MINISPARK_MASTER_PORT=7078\n"
    )
    assert read_env_file(path) == {
        "MINISPARK_MASTER_HOST": "10.0.0.1",
        "MINISPARK_MASTER_PORT": "7078",  # the last assignment wins, as in systemd
        "MINISPARK_WORKER_DIR": "/srv/work dir",
        "MINISPARK_DAEMON_OPTS": '-Dspark.deploy.recoveryMode=ZOOKEEPER -Da="b c"',
        "MINISPARK_LITERAL": "$HOME",
        "MINISPARK_ESCAPED": "cost $5",
        "EMPTY": "",
        "EMPTY_QUOTED": "",
    }


def test_env_file_missing_is_empty(tmp_path: Path) -> None:
    assert read_env_file(tmp_path / "absent") == {}


@pytest.mark.parametrize(
    "line",
    [
        "export X=1",
        "X=$(hostname)",
        'X="$(hostname)"',
        "X=$HOME/dir",
        'X="${HOME}"',
        "X=`id -u`",
        "X=a b",
        "X = 1",
        'X="unterminated',
        "X='a'b'",
        'X="a\\"',
        "1X=1",
        "just words",
        "X=1; rm -rf /",
    ],
)
def test_env_file_rejects_shell_syntax(tmp_path: Path, line: str) -> None:
    path = tmp_path / "minispark-env"
    path.write_text(f"# header\nOK=1\n{line}\n")
    with pytest.raises(ConfError) as info:
        read_env_file(path)
    message = str(info.value)
    assert message.startswith(f"{path}:3: ")
    assert "not KEY=VALUE" in message


def test_java_opts() -> None:
    text = "-Dspark.deploy.recoveryMode=ZOOKEEPER -Dk2=\"a b\" -Dk3='x=y' -Dempty="
    assert parse_java_opts(text, source="MINISPARK_DAEMON_OPTS") == {
        "spark.deploy.recoveryMode": "ZOOKEEPER",
        "k2": "a b",
        "k3": "x=y",
        "empty": "",
    }
    assert parse_java_opts("", source="X") == {}
    assert parse_java_opts("  \n ", source="X") == {}


@pytest.mark.parametrize("text", ["-Xmx1g", "-Dnovalue", "-D=v", "plain", '-Da="unbalanced'])
def test_java_opts_bad(text: str) -> None:
    with pytest.raises(ConfError, match=r"^MINISPARK_WORKER_OPTS: "):
        parse_java_opts(text, source="MINISPARK_WORKER_OPTS")


def test_properties_file(tmp_path: Path) -> None:
    path = tmp_path / "minispark-defaults.conf"
    path.write_text(
        "# comment\n"
        "! also a comment\n"
        "\n"
        "spark.executor.memory   2g\n"
        "spark.app.name=My App\n"
        "spark.cores.max = 8\n"
        "spark.executor.extraJavaOptions -Dx=y -Dz=w\n"
        "spark.master\tspark://h1:7077,h2:7077\n"
        "spark.local.dir  /a,\\\n"
        "    /b\n"
        "my.win.path C:\\temp\n"
        "bare.key\n"
        "trailing.space value   \n"
    )
    assert read_properties_file(path) == {
        "spark.executor.memory": "2g",
        "spark.app.name": "My App",
        "spark.cores.max": "8",
        "spark.executor.extraJavaOptions": "-Dx=y -Dz=w",
        "spark.master": "spark://h1:7077,h2:7077",
        "spark.local.dir": "/a,/b",
        "my.win.path": "C:\\temp",
        "bare.key": "",
        "trailing.space": "value",
    }


def test_properties_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfError, match="cannot read properties file"):
        read_properties_file(tmp_path / "absent.conf")
    bad = tmp_path / "bad.conf"
    bad.write_text("ok 1\n=value\n")
    with pytest.raises(ConfError, match=rf"^{bad}:2: "):
        read_properties_file(bad)


def test_conf_pairs() -> None:
    assert parse_conf_pairs(["a=1", "b=x=y", "c=", " d =v"]) == {
        "a": "1",
        "b": "x=y",
        "c": "",
        "d": "v",
    }
    with pytest.raises(ConfError, match=r"^--conf expects key=value, got 'spark\.x'$"):
        parse_conf_pairs(["spark.x"])
    with pytest.raises(ConfError, match="--conf expects key=value"):
        parse_conf_pairs(["=v"])


def test_conf_dir() -> None:
    assert conf_dir({}) == Path("/etc/minispark")
    assert conf_dir({"MINISPARK_CONF_DIR": ""}) == Path("/etc/minispark")
    assert conf_dir({"MINISPARK_CONF_DIR": "/opt/ms/conf"}) == Path("/opt/ms/conf")


def test_daemon_environment_real_env_wins(tmp_path: Path) -> None:
    (tmp_path / "minispark-env").write_text(
        "MINISPARK_MASTER_PORT=7077\nMINISPARK_WORKER_CORES=4\nOTHER=file\n"
    )
    env = {
        "MINISPARK_CONF_DIR": str(tmp_path),
        "MINISPARK_MASTER_PORT": "7177",
        "MINISPARK_WORKER_MEMORY": "3g",
        "OTHER": "env",
        "PATH": "/usr/bin",
    }
    assert daemon_environment(env) == {
        "MINISPARK_CONF_DIR": str(tmp_path),
        "MINISPARK_MASTER_PORT": "7177",
        "MINISPARK_WORKER_CORES": "4",
        "MINISPARK_WORKER_MEMORY": "3g",
        "OTHER": "env",
    }


def test_env_defaults(tmp_path: Path) -> None:
    (tmp_path / "minispark-env").write_text(
        'MINISPARK_MASTER_HOST="m1"\n'
        "MINISPARK_MASTER_PORT=7077\n"
        "MINISPARK_WORKER_CORES=4\n"
        "MINISPARK_WORKER_MEMORY=6g\n"
        "MINISPARK_WORKER_PORT=7078\n"
        'MINISPARK_WORKER_WEBUI_PORT=""\n'
        "MINISPARK_WORKER_DIR=/var/lib/minispark/work\n"
        "MINISPARK_LOCAL_DIRS=/tmp/a,/tmp/b\n"
    )
    env = {"MINISPARK_CONF_DIR": str(tmp_path), "MINISPARK_MASTER_WEBUI_PORT": "18080"}
    assert env_defaults("master", env) == {"host": "m1", "port": "7077", "webui_port": "18080"}
    assert env_defaults("worker", env) == {
        "cores": "4",
        "memory": "6g",
        "port": "7078",
        "work_dir": "/var/lib/minispark/work",
        "local_dirs": "/tmp/a,/tmp/b",
    }
    assert env_defaults("driver", env) == {}


@pytest.mark.parametrize(
    ("role", "variable", "value", "pattern"),
    [
        ("master", "MINISPARK_MASTER_PORT", "70000", "is not a port"),
        ("master", "MINISPARK_MASTER_WEBUI_PORT", "http", "is not a port"),
        ("worker", "MINISPARK_WORKER_PORT", "-1", "is not a port"),
        ("worker", "MINISPARK_WORKER_MEMORY", "lots", "is not a size"),
        ("worker", "MINISPARK_WORKER_MEMORY", "0", "positive"),
        ("worker", "MINISPARK_WORKER_CORES", "0", "is not a core count"),
    ],
)
def test_env_defaults_bad(
    tmp_path: Path, role: conf.Role, variable: str, value: str, pattern: str
) -> None:
    env = {"MINISPARK_CONF_DIR": str(tmp_path), variable: value}
    with pytest.raises(ConfError, match=rf"^{variable}: '{value}' .*{pattern}"):
        env_defaults(role, env)


# --------------------------------------------------------------------------------------------
# load(): precedence across all five sources
# --------------------------------------------------------------------------------------------

LEVELS = ("defaults", "file", "daemon", "role", "conf", "cli")


def _setup(tmp_path: Path, present: set[str]) -> tuple[dict[str, str], list[str], dict[str, str]]:
    """Set spark.app.name and spark.executor.memory in every source in ``present``."""
    key = "spark.app.name"
    if "file" in present:
        (tmp_path / "minispark-defaults.conf").write_text(f"{key} file\n")
    env = {"MINISPARK_CONF_DIR": str(tmp_path)}
    env_lines = []
    if "daemon" in present:
        env_lines.append(f'MINISPARK_DAEMON_OPTS="-D{key}=daemon"')
    if "role" in present:
        env_lines.append(f'MINISPARK_MASTER_OPTS="-D{key}=role"')
    (tmp_path / "minispark-env").write_text("\n".join(env_lines) + "\n")
    conf_pairs = [f"{key}=conf"] if "conf" in present else []
    cli = {key: "cli"} if "cli" in present else {}
    return env, conf_pairs, cli


@pytest.mark.parametrize("top", range(1, len(LEVELS)))
def test_precedence_each_source_beats_the_ones_below(tmp_path: Path, top: int) -> None:
    present = set(LEVELS[1 : top + 1])
    env, conf_pairs, cli = _setup(tmp_path, present)
    c = load("master", cli=cli, conf_pairs=conf_pairs, env=env)
    assert c.get("spark.app.name") == LEVELS[top]


def test_precedence_full_stack_with_distinct_keys(tmp_path: Path) -> None:
    props = tmp_path / "custom.conf"
    props.write_text(
        "spark.worker.timeout 20s\n"
        "spark.deploy.retainedDrivers 1\n"
        "spark.deploy.retainedApplications 1\n"
        "spark.task.maxFailures 1\n"
        "spark.cores.max 1\n"
        "user.key from-file\n"
    )
    # The default file exists too but --properties-file replaces it.
    (tmp_path / "minispark-defaults.conf").write_text("spark.app.name from-default-file\n")
    (tmp_path / "minispark-env").write_text(
        'MINISPARK_DAEMON_OPTS="-Dspark.deploy.retainedDrivers=2 '
        '-Dspark.deploy.retainedApplications=2 -Dspark.task.maxFailures=2 -Dspark.cores.max=2"\n'
        'MINISPARK_MASTER_OPTS="-Dspark.deploy.retainedApplications=9"\n'
    )
    env = {
        "MINISPARK_CONF_DIR": str(tmp_path),
        # The real environment overrides the env file for the role opts.
        "MINISPARK_MASTER_OPTS": "-Dspark.deploy.retainedApplications=3 -Dspark.task.maxFailures=3",
        "MINISPARK_WORKER_OPTS": "-Dspark.cores.max=77",  # another role's: ignored
    }
    c = load(
        "master",
        cli={"spark.cores.max": "5"},
        conf_pairs=["spark.task.maxFailures=4", "spark.cores.max=4"],
        properties_file=str(props),
        env=env,
    )
    assert c.get("spark.worker.timeout") == "20s"  # file
    assert c.get("spark.deploy.retainedDrivers") == "2"  # daemon opts
    assert c.get("spark.deploy.retainedApplications") == "3"  # role opts, real env
    assert c.get("spark.task.maxFailures") == "4"  # --conf
    assert c.get("spark.cores.max") == "5"  # cli
    assert c.get("spark.executor.memory") == "1g"  # built-in default
    assert c.get("user.key") == "from-file"  # unknown keys kept
    assert c.get("spark.app.name") is None


def test_load_driver_ignores_daemon_opts(tmp_path: Path) -> None:
    (tmp_path / "minispark-defaults.conf").write_text("spark.executor.memory 3g\n")
    (tmp_path / "minispark-env").write_text(
        'MINISPARK_DAEMON_OPTS="-Dspark.executor.memory=5g"\n'
        'MINISPARK_WORKER_OPTS="-Dspark.executor.memory=6g"\n'
    )
    env = {"MINISPARK_CONF_DIR": str(tmp_path)}
    assert load("driver", env=env).get_size_mb("spark.executor.memory") == 3 * 1024
    assert load("worker", env=env).get_size_mb("spark.executor.memory") == 6 * 1024
    assert load("master", env=env).get_size_mb("spark.executor.memory") == 5 * 1024


def test_load_alias_precedence_across_sources(tmp_path: Path) -> None:
    (tmp_path / "minispark-defaults.conf").write_text("spark.deploy.spreadOut true\n")
    env = {"MINISPARK_CONF_DIR": str(tmp_path)}
    c = load("master", conf_pairs=["spark.deploy.spreadOutApps=false"], env=env)
    assert c.get_bool("spark.deploy.spreadOut") is False


def test_load_without_any_files(tmp_path: Path) -> None:
    c = load("worker", env={"MINISPARK_CONF_DIR": str(tmp_path / "nothing-here")})
    assert c.items() == []
    assert c.get_duration_s("spark.worker.timeout") == 15.0


def test_load_validates(tmp_path: Path) -> None:
    env = {
        "MINISPARK_CONF_DIR": str(tmp_path),
        "MINISPARK_DAEMON_OPTS": "-Dspark.worker.timeout='15 seconds'",
    }
    with pytest.raises(ConfError) as info:
        load("worker", env=env)
    assert str(info.value) == (
        "spark.worker.timeout: '15 seconds' is not a duration (use e.g. 15s, 500ms, 2min)"
    )


def test_load_ha_example_from_spec(tmp_path: Path) -> None:
    (tmp_path / "minispark-env").write_text(
        'MINISPARK_DAEMON_OPTS="-Dspark.deploy.recoveryMode=ZOOKEEPER '
        "-Dspark.deploy.zookeeper.url=zk1:2181,zk2:2181,zk3:2181 "
        '-Dspark.deploy.zookeeper.dir=/spark"\n'
    )
    c = load("master", env={"MINISPARK_CONF_DIR": str(tmp_path)})
    assert c.get_choice("spark.deploy.recoveryMode") == "ZOOKEEPER"
    assert c.get("spark.deploy.zookeeper.url") == "zk1:2181,zk2:2181,zk3:2181"


def test_load_missing_properties_file(tmp_path: Path) -> None:
    with pytest.raises(ConfError, match=r"^--properties-file: .* is not a readable file"):
        load("driver", properties_file=str(tmp_path / "nope.conf"), env={})


def test_load_bad_env_file_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "minispark-env").write_text("OK=1\nexport MINISPARK_MASTER_PORT=7077\n")
    with pytest.raises(ConfError, match=r"minispark-env:2: "):
        load("master", env={"MINISPARK_CONF_DIR": str(tmp_path)})


def test_load_uses_os_environ_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MINISPARK_CONF_DIR", str(tmp_path))
    monkeypatch.setenv("MINISPARK_WORKER_OPTS", "-Dspark.worker.cleanup.interval=10min")
    c = load("worker")
    assert c.get_duration_s("spark.worker.cleanup.interval") == 600.0

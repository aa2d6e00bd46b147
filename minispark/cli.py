"""The ``minispark`` command: daemons, resource detection and client-mode submission.

Every error a user can cause ends in one line on stderr naming the fix and a non-zero exit,
never a traceback (the user's own program is the exception: its traceback is its output).
"""

from __future__ import annotations

import argparse
import json
import os
import runpy
import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import NoReturn

from . import __version__
from .conf import KNOWN, Conf, ConfError, env_defaults, load, parse_size_mb
from .conf.keys import IntKey
from .handshake import HandshakeError
from .masterurl import DEFAULT_MASTER_PORT, MasterUrlError, parse_local_cluster, parse_master_url
from .submitclient import ClientError

EXIT_USAGE = 2


class UsageError(Exception):
    """A mistake on the command line or in the configuration; the message says the fix."""


class OneLineParser(argparse.ArgumentParser):
    """argparse prints its whole usage on a bad flag; we print one line and where help is."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _conf_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--properties-file",
        metavar="FILE",
        help="Spark-style properties file (default: $MINISPARK_CONF_DIR/minispark-defaults.conf)",
    )
    p.add_argument(
        "--conf",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set a configuration property; repeatable; wins over every other source",
    )


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0-65535)")
    return int(text)


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return int(text)


def _size(text: str) -> int:
    try:
        return parse_size_mb(text, key="value")
    except ConfError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _webui_help(role: str) -> str:
    key = _WEBUI_PORT_KEYS[role]
    variable = f"MINISPARK_{role.upper()}_WEBUI_PORT"
    return f"web port (default: ${variable}, else {key}: {KNOWN[key].default})"


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="minispark",
        description="A Python re-creation of Apache Spark's standalone cluster.",
        epilog="Configuration: --conf, then MINISPARK_{MASTER,WORKER,HISTORY}_OPTS, "
        "MINISPARK_DAEMON_OPTS (-Dkey=value), the properties file, then defaults. "
        "$MINISPARK_CONF_DIR (/etc/minispark) holds minispark-env and minispark-defaults.conf.",
    )
    parser.add_argument("--version", action="version", version=f"minispark {__version__}")
    sub = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True, parser_class=OneLineParser
    )

    m = sub.add_parser("master", help="run a master", description="Run a master in the foreground.")
    m.add_argument(
        "--host", help="address to bind (default: $MINISPARK_MASTER_HOST or this host's name)"
    )
    m.add_argument(
        "--port",
        type=_port,
        help=f"RPC port (default: $MINISPARK_MASTER_PORT or {DEFAULT_MASTER_PORT})",
    )
    m.add_argument("--webui-port", type=_port, help=_webui_help("master"))
    _conf_args(m)

    w = sub.add_parser("worker", help="run a worker", description="Run a worker in the foreground.")
    w.add_argument("master_url", metavar="MASTER_URL", help="minispark://host:port[,host:port...]")
    w.add_argument(
        "--host", help="address to bind and advertise (default: $MINISPARK_WORKER_HOST or hostname)"
    )
    w.add_argument(
        "--port", type=_port, help="RPC port (default: $MINISPARK_WORKER_PORT or random)"
    )
    w.add_argument("--webui-port", type=_port, help=_webui_help("worker"))
    w.add_argument("-c", "--cores", type=_positive, help="cores to offer (default: detected)")
    w.add_argument(
        "-m", "--memory", type=_size, help="memory to offer, e.g. 2g (default: detected)"
    )
    w.add_argument(
        "-d",
        "--work-dir",
        help="executor logs and app files (default: $MINISPARK_WORKER_DIR or ./work)",
    )
    _conf_args(w)

    d = sub.add_parser(
        "detect-resources",
        help="show the cores and memory a worker on this host gets",
        description="Detect the cores and memory a worker on this host would offer: "
        "CPU affinity, cgroup quota and memory limits, minus an OS memory reserve.",
    )
    d.add_argument(
        "--reserve-memory",
        type=_size,
        default=1024,
        metavar="SIZE",
        help="memory left to the OS (default 1g)",
    )
    d.add_argument("--json", action="store_true", help="print JSON (what the Ansible roles read)")

    s = sub.add_parser(
        "submit",
        help="run an application (client or cluster deploy mode)",
        description=(
            "Run APP.py as the driver of an application: here (client mode, the default) "
            "or on a worker (--deploy-mode cluster)."
        ),
    )
    s.add_argument("--master", help="minispark://host:port[,...] or local-cluster[N,C,M]")
    s.add_argument("--deploy-mode", choices=["client", "cluster"], default="client")
    s.add_argument(
        "--supervise", action="store_true", help="restart a cluster-mode driver that fails"
    )
    s.add_argument("--name", help="application name (default: the file name)")
    s.add_argument("--executor-memory", metavar="MEM", help="memory per executor, e.g. 1g")
    s.add_argument(
        "--executor-cores", metavar="N", help="cores per executor (default: all of a worker's)"
    )
    s.add_argument("--total-executor-cores", metavar="N", help="cap on the application's cores")
    s.add_argument("--driver-memory", metavar="MEM", help="driver memory (cluster mode)")
    s.add_argument("--driver-cores", metavar="N", help="driver cores (cluster mode)")
    s.add_argument(
        "--py-files", metavar="FILES", help="comma-separated .py/.zip files for the executors"
    )
    _conf_args(s)
    s.add_argument("app", metavar="APP.py")
    s.add_argument("app_args", nargs=argparse.REMAINDER, metavar="ARGS")

    h = sub.add_parser(
        "history-server",
        help="serve finished and running applications' UIs from their event logs",
        description=(
            "Serve the application UI and Spark's REST API (/api/v1) of every application "
            "whose event log is in spark.history.fs.logDirectory (a directory or an fsspec URL "
            "such as s3://bucket/logs; the applications write there with "
            "spark.eventLog.enabled=true and spark.eventLog.dir). The directory is listed "
            "every spark.history.fs.update.interval (10s); logs ending in .inprogress are "
            "running or crashed applications, listed as incomplete; a log that cannot be read "
            "is listed with the reason. An application's log is loaded on its first view and "
            "the last spark.history.retainedApplications (50) viewed stay loaded. "
            "spark.history.fs.cleaner.enabled=true deletes logs older than "
            "spark.history.fs.cleaner.maxAge (7d) and beyond spark.history.fs.cleaner.maxNum. "
            "The web port is spark.history.ui.port (18080; 0 picks a free one)."
        ),
        epilog="Example: minispark history-server --conf "
        "spark.history.fs.logDirectory=/var/lib/minispark/eventlogs",
    )
    h.add_argument(
        "--host", help="address to bind (default: $MINISPARK_HISTORY_HOST or this host's name)"
    )
    _conf_args(h)

    for verb, text in (("kill", "kill a cluster-mode driver"), ("status", "show a driver's state")):
        v = sub.add_parser(verb, help=text, description=f"{text.capitalize()} (asks the leader).")
        v.add_argument("master_url", metavar="MASTER_URL", help="minispark://host:port[,...]")
        v.add_argument("driver_id", metavar="DRIVER_ID", help="driver-YYYYMMDDhhmmss-NNNN")
        _conf_args(v)
    return parser


# --------------------------------------------------------------------------- daemons


def _hostname() -> str:
    return socket.gethostname()


def run_master(args: argparse.Namespace) -> int:
    from . import daemon
    from .master.master import Master

    conf = load("master", conf_pairs=args.conf, properties_file=args.properties_file)
    env = env_defaults("master", os.environ)
    host = args.host or env.get("host") or _hostname()
    port = args.port if args.port is not None else int(env.get("port", DEFAULT_MASTER_PORT))
    webui = webui_port("master", args.webui_port, env, conf)
    daemon.setup_logging()
    daemon.log_settings("master", conf.redacted())
    return daemon.run(lambda: Master(conf, host=host, port=port, webui_port=webui), "master")


_WEBUI_PORT_KEYS: dict[str, IntKey] = {
    "master": "spark.master.ui.port",
    "worker": "spark.worker.ui.port",
}


def webui_port(role: str, flag: int | None, env: Mapping[str, str], conf: Conf) -> int:
    """A daemon's web port: --webui-port, else MINISPARK_<ROLE>_WEBUI_PORT, else the conf key."""
    if flag is not None:
        return flag
    return int(env["webui_port"]) if "webui_port" in env else conf.get_int(_WEBUI_PORT_KEYS[role])


def _worker_size(args: argparse.Namespace, conf: Conf, env: dict[str, str]) -> tuple[int, int]:
    cores = args.cores or _int(env.get("cores")) or conf.get_int_or_none("minispark.worker.cores")
    memory = (
        args.memory
        or _mb(env.get("memory"), "MINISPARK_WORKER_MEMORY")
        or conf.get_size_mb_or_none("minispark.worker.memory")
    )
    if cores and memory:
        return cores, memory
    from .worker.resources import detect

    found = detect()
    return cores or found.cores, memory or found.memory_mb


def _int(text: str | None) -> int | None:
    return int(text) if text else None


def _mb(text: str | None, key: str) -> int | None:
    return parse_size_mb(text, key=key) if text else None


def run_worker(args: argparse.Namespace) -> int:
    from . import daemon
    from .worker.worker import Worker, WorkerOptions

    conf = load("worker", conf_pairs=args.conf, properties_file=args.properties_file)
    env = env_defaults("worker", os.environ)
    masters = parse_master_url(args.master_url)
    cores, memory = _worker_size(args, conf, env)
    work_dir = Path(args.work_dir or env.get("work_dir") or "work").absolute()
    local = env.get("local_dirs") or conf.get("spark.local.dir")
    local_dirs = [Path(p).absolute() for p in local.split(",")] if local else [work_dir / "local"]
    options = WorkerOptions(
        masters=masters,
        host=args.host or env.get("host") or _hostname(),
        port=args.port if args.port is not None else int(env.get("port", 0)),
        webui_port=webui_port("worker", args.webui_port, env, conf),
        cores=cores,
        memory_mb=memory,
        work_dir=work_dir,
        local_dirs=local_dirs,
    )
    daemon.setup_logging()
    daemon.log_settings("worker", conf.redacted())
    return daemon.run(lambda: Worker(conf, options), "worker")


def run_history(args: argparse.Namespace) -> int:
    from . import daemon
    from .history.logdir import LogDir, LogDirError
    from .history.settings import LOG_DIR_KEY, HistorySettings

    conf = load("history", conf_pairs=args.conf, properties_file=args.properties_file)
    settings = HistorySettings.from_conf(conf)
    try:
        logs = LogDir(settings.log_dir)
        logs.check()
    except LogDirError as exc:
        raise UsageError(f"{LOG_DIR_KEY}: {exc}") from exc
    host = args.host or env_defaults("history", os.environ).get("host") or _hostname()
    from .history.server import HistoryServer  # the web stack, once the settings are good

    daemon.setup_logging()
    daemon.log_settings("history server", conf.redacted())
    return daemon.run(lambda: HistoryServer(conf, settings, logs, host), "history server")


def run_detect(args: argparse.Namespace) -> int:
    from .worker.resources import detect

    found = detect(reserve_mb=args.reserve_memory)
    print(json.dumps(found.to_json(), indent=2) if args.json else found.describe())
    return 0


# ---------------------------------------------------------------------------- submit


SUBMIT_FLAGS = {
    "name": "spark.app.name",
    "executor_memory": "spark.executor.memory",
    "executor_cores": "spark.executor.cores",
    "total_executor_cores": "spark.cores.max",
    "driver_memory": "spark.driver.memory",
    "driver_cores": "spark.driver.cores",
    "py_files": "spark.submit.pyFiles",
    "supervise": "spark.driver.supervise",
}


def _flag_text(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def submit_conf(args: argparse.Namespace, launched: Mapping[str, str]) -> dict[str, str]:
    """The application's settings: flags win over --conf, which wins over the file.

    ``launched`` is what a worker hands a cluster-mode driver (appconf.take): the submitter's
    flags, --conf and file, already resolved, so they rank with the flags here; the worker's
    command line carries none of its own.
    """
    flags = {
        key: _flag_text(getattr(args, attr))
        for attr, key in SUBMIT_FLAGS.items()
        if getattr(args, attr)
    }
    if args.master:
        flags["spark.master"] = args.master
    conf = load(
        "driver",
        cli={**launched, **flags},
        conf_pairs=args.conf,
        properties_file=args.properties_file,
    )
    values = dict(conf.items())
    values.setdefault("spark.app.name", Path(args.app).stem)
    master = values.get("spark.master")
    if not master:
        raise UsageError(
            "no master given: use --master minispark://HOST:PORT or local-cluster[N,C,M]"
        )
    if parse_local_cluster(master) is None:
        parse_master_url(master)
    return values


def run_submit(args: argparse.Namespace) -> int:
    from . import appconf
    from .rdd import sparkconf

    # Taken out first, so that nothing the program starts inherits it.
    launched = appconf.take(os.environ)
    if args.deploy_mode == "cluster":
        return submit_cluster(args, launched)
    _exit_with_parent()
    app = Path(args.app)
    if not app.is_file():
        raise UsageError(f"application file {args.app!r} does not exist")
    sparkconf.use_submitted(submit_conf(args, launched))
    sys.argv = [str(app), *args.app_args]
    sys.path.insert(0, str(app.parent.absolute()))
    try:
        runpy.run_path(str(app), run_name="__main__")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except HandshakeError as exc:
        # The cluster refused this driver (a missing secret or CA, a name mismatch): the
        # message names the fix, a traceback through the user's program would only hide it.
        print(f"minispark submit: error: {exc}", file=sys.stderr)
        return 1
    finally:
        _stop_active_context()
    return 0


def submit_cluster(args: argparse.Namespace, launched: Mapping[str, str]) -> int:
    """Hand the program to the cluster: a worker runs it as the driver (Spark's cluster mode)."""
    from . import submitclient
    from .appconf import driver_description

    values = submit_conf(args, launched)
    master = values["spark.master"]
    if parse_local_cluster(master) is not None:
        raise UsageError("cluster deploy mode needs a minispark:// master, not local-cluster")
    conf = Conf(values)
    py_files = [p for p in (values.get("spark.submit.pyFiles") or "").split(",") if p]
    desc = driver_description(
        conf,
        main=Path(args.app).name,
        args=args.app_args,
        files=submitclient.read_files(Path(args.app), py_files),
    )
    wait = conf.get_bool("spark.standalone.submit.waitAppCompletion")
    return submitclient.submit(master, conf, desc, wait)


def run_driver_verb(args: argparse.Namespace) -> int:
    from . import submitclient

    conf = load("driver", conf_pairs=args.conf, properties_file=args.properties_file)
    verb = submitclient.kill if args.command == "kill" else submitclient.status
    return verb(args.master_url, conf, args.driver_id)


def _exit_with_parent() -> None:
    """A driver started by a worker (cluster mode) ends with that worker, like an executor."""
    from .daemon import PARENT_PID_ENV

    parent = os.environ.pop(PARENT_PID_ENV, "")
    if not parent.isdigit():
        return

    def watch() -> None:
        while os.getppid() == int(parent):
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-worker", daemon=True).start()


def _stop_active_context() -> None:
    """A program that forgets sc.stop() still releases its executors (and local cluster)."""
    from .driver.context import SparkContext

    if SparkContext._active is not None:
        SparkContext._active.stop()


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "master": run_master,
    "worker": run_worker,
    "history-server": run_history,
    "detect-resources": run_detect,
    "submit": run_submit,
    "kill": run_driver_verb,
    "status": run_driver_verb,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (ConfError, MasterUrlError, UsageError, ClientError) as exc:
        print(f"minispark {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE

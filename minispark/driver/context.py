"""``SparkContext``: the entry point of a driver program, with PySpark's names.

Creating one registers an application with the cluster named by ``spark.master``; executors
are placed by the master and connect back to this process. ``stop()`` (or leaving a
``with`` block, or the program ending) unregisters it and frees the executors.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import platform
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar

from .. import __version__
from ..appconf import DRIVER_CERT_KEY, shareable
from ..appstatus import events as ev
from ..appstatus.store import store_for_ui
from ..conf import Conf, ConfError
from ..masterurl import LocalCluster, parse_local_cluster, parse_master_url
from ..protocol import UnpersistRdd
from ..rdd import lineage
from ..rdd.contextapi import ContextAPI
from ..rdd.sparkconf import SparkConf
from ..rpc import Security
from ..security import security_from_conf
from . import eventlogconf, tlscert
from .appclient import AppClient, ExecutorHandle
from .eventloop import LoopThread
from .listener import Deferred, EventBus
from .localcluster import LocalClusterProcesses
from .progress import for_console
from .scheduler import JobScheduler
from .ui import DriverUi, start_ui

log = logging.getLogger("minispark.context")


def _driver_logging() -> None:
    """Like PySpark's log4j default: warnings and errors on stderr, unless the program set up
    logging itself."""
    root = logging.getLogger()
    package = logging.getLogger("minispark")
    if not root.handlers and not package.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(
            logging.Formatter(
                "%(asctime)s %(levelname)s %(name)s: %(message)s", "%y/%m/%d %H:%M:%S"
            )
        )
        package.addHandler(handler)
        package.setLevel(logging.WARNING)
        # Off a terminal there is no bar: a line per finished stage says how the job goes.
        logging.getLogger("minispark.progress").setLevel(logging.INFO)
        # The application UI's address, as Spark prints it at start.
        logging.getLogger("minispark.driver.ui").setLevel(logging.INFO)


def _driver_host(conf: Conf, master: tuple[str, int]) -> str:
    """The local address that routes to the master, so executors elsewhere can reach us."""
    configured = conf.get("spark.driver.host")
    if configured:
        return configured
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(master)  # UDP connect sends nothing; it only picks a route
            return str(probe.getsockname()[0])
        except OSError:
            return "127.0.0.1"


def _driver_security(settings: Conf, host: str) -> tuple[Security, dict[str, str]]:
    """The driver's links, and the settings it tells the master. With TLS, our server gets an
    ephemeral certificate that executors pin (see driver/tlscert.py): a driver needs no
    certificate from the cluster's CA, only ca.pem to verify the master."""
    security = security_from_conf(settings)
    shared = shareable(settings.items())
    if security.tls:
        cert = tlscert.make(host)
        security = security.serving(cert.context)
        shared[DRIVER_CERT_KEY] = cert.fingerprint
    return security, shared


async def _post(bus: EventBus, event: dict[str, Any]) -> None:
    bus.post(event)


class SparkContext(ContextAPI):
    _active: ClassVar[SparkContext | None] = None
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(
        self,
        master: str | None = None,
        appName: str | None = None,  # noqa: N803
        conf: SparkConf | None = None,
    ) -> None:
        _driver_logging()
        self._conf = (conf or SparkConf()).copy()
        if master:
            self._conf.setMaster(master)
        if appName:
            self._conf.setAppName(appName)
        self.master = self._required(
            "spark.master", "A master URL must be set in your configuration"
        )
        self.appName = self._required(
            "spark.app.name", "An application name must be set in your configuration"
        )
        with SparkContext._lock:
            if SparkContext._active is not None:
                raise ValueError(
                    "Cannot run multiple SparkContexts at once; existing SparkContext("
                    f"app={SparkContext._active.appName}, master={SparkContext._active.master})"
                )
            SparkContext._active = self
        try:
            self._start()
        except BaseException:
            self._release()
            raise
        atexit.register(self.stop)

    def _required(self, key: str, message: str) -> str:
        value = self._conf.get(key)
        if not value:
            raise ValueError(message)
        return value

    def _start(self) -> None:
        settings = Conf(dict(self._conf.getAll()))
        settings.validate()
        self._local: LocalClusterProcesses | None = None
        self._stopped = False
        self._start_ms = time.time_ns() // 1_000_000
        self._app_started = False
        # Spark's listener bus. Its sinks are attached here, before anything posts: the
        # event log (below) and the application store behind the UI (the UI's address
        # goes to the master with the registration: set self._ui_url before _client.start).
        self._bus = EventBus()
        self._ui_url: str | None = None
        self._ui: DriverUi | None = None
        self._event_log = eventlogconf.from_conf(settings)  # an unusable dir fails here, first
        if self._event_log is not None:
            self._bus.add(self._event_log)
        store = store_for_ui(settings) if settings.get_bool("spark.ui.enabled") else None
        deferred = Deferred(store.apply) if store is not None else None
        if deferred is not None:
            self._bus.add(deferred)
        events = self._bus.post if self._bus.active else None  # nobody listens: no events
        url = self.master
        spec = parse_local_cluster(url)
        if spec is not None:
            settings = self._fit_local_cluster(settings, spec)
            self._local = LocalClusterProcesses(spec, dict(self._conf.getAll()))
            url = self._local.start()
        masters = parse_master_url(url)
        host = _driver_host(settings, masters[0])
        security, shared = _driver_security(settings, host)
        self._loop = LoopThread()
        self._client = AppClient(
            masters=masters,
            security=security,
            host=host,
            name=self.appName,
            memory_per_executor_mb=settings.get_size_mb("spark.executor.memory"),
            cores_per_executor=settings.get_int_or_none("spark.executor.cores"),
            max_cores=settings.get_int_or_none("spark.cores.max"),
            conf=shared,
            events=events,
            on_registered=self._application_started,
        )
        self._scheduler = JobScheduler(
            self._client.ready_executors,
            max_failures=settings.get_int("spark.task.maxFailures"),
            in_flight_per_core=settings.get_int("minispark.task.inFlightPerCore"),
            progress=for_console(settings.get_bool("spark.ui.showConsoleProgress")),
            events=events,
        )
        self._client.listener = self._scheduler
        for path in filter(None, (self._conf.get("spark.submit.pyFiles") or "").split(",")):
            self.addPyFile(path)
        try:
            if store is not None and deferred is not None:
                # On the driver's loop, where the scheduler posts: one thread reads and
                # writes the store. Before registering: the master links to the UI.
                self._ui = self._loop.run(
                    start_ui(settings, store, security, host, catch_up=deferred.drain)
                )
                self._ui_url = self._ui.url if self._ui is not None else None
                self._client.ui_url = self._ui_url or ""
            self._loop.run(self._client.start())
            if self._ui is not None:
                self._ui.announce()
            if spec is not None:  # an embedded cluster is ours alone: wait for all of it
                self.wait_for_executors(spec.workers)
        except BaseException:
            self._shutdown()
            raise

    def _application_started(self, app_id: str) -> None:
        """The master named the application: its first events (on the driver's loop)."""
        if not self._bus.active:
            return
        self._app_started = True
        self._bus.post(ev.log_start(__version__))
        self._bus.post(
            ev.application_start(
                name=self.appName,
                app_id=app_id,
                time_ms=self._start_ms,
                user=self._client.desc.user,
            )
        )
        properties = [*self._conf.getAll(), ("spark.app.id", app_id)]
        system = [
            ("python.version", platform.python_version()),
            ("python.executable", sys.executable),
            ("os.name", platform.system()),
            ("os.version", platform.release()),
        ]
        self._bus.post(ev.environment_update(properties, system))

    def _finish_events(self) -> None:
        if self._app_started:
            self._app_started = False
            end = ev.application_end(time.time_ns() // 1_000_000)
            try:  # on the loop, as every other event, so the UI reads the store on one thread
                self._loop.run(_post(self._bus, end), timeout=5)
            except Exception:  # the loop is gone: nobody reads the store any more
                self._bus.post(end)
        if self._event_log is not None:
            self._event_log.stop()
        if self._ui is not None:
            with contextlib.suppress(Exception):
                self._loop.run(self._ui.stop(), timeout=5)
            self._ui = None

    def _fit_local_cluster(self, settings: Conf, spec: LocalCluster) -> Conf:
        """Executors must fit the embedded workers: default their memory to a worker's, and
        refuse at once (as Spark does) when the program asks for more than that."""
        wanted = settings.get_size_mb("spark.executor.memory")
        if not settings.contains("spark.executor.memory"):
            self._conf.set("spark.executor.memory", f"{spec.memory_mb}m")
            return settings.with_values({"spark.executor.memory": f"{spec.memory_mb}m"})
        if wanted > spec.memory_mb:
            raise ValueError(
                f"Asked to launch cluster with {spec.memory_mb} MiB/worker but requested "
                f"{wanted} MiB/executor: lower spark.executor.memory or raise M in "
                "local-cluster[N,C,M]"
            )
        return settings

    # -------------------------------------------------------------- PySpark surface

    @property
    def applicationId(self) -> str:  # noqa: N802
        return self._client.status.app_id

    @property
    def version(self) -> str:
        return __version__

    @property
    def uiWebUrl(self) -> str | None:  # noqa: N802
        """The application UI's address (PySpark's name); None with the UI off."""
        return self._ui_url

    @property
    def defaultParallelism(self) -> int:  # noqa: N802
        configured = self._conf.get("spark.default.parallelism")
        if configured:
            return int(configured)
        # Cores the master granted, registered or not yet: Spark's "total executor cores".
        return max(2, sum(h.cores for h in self._client.status.executors.values()))

    def getConf(self) -> SparkConf:  # noqa: N802
        return self._conf.copy()

    @classmethod
    def getOrCreate(cls, conf: SparkConf | None = None) -> SparkContext:  # noqa: N802
        return cls._active or cls(conf=conf)

    def __enter__(self) -> SparkContext:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self) -> None:
        if getattr(self, "_stopped", True):
            return
        self._stopped = True
        try:
            self._loop.run(self._client.stop(), timeout=15)
        except Exception as exc:  # stopping must always finish releasing resources
            log.warning("error while stopping the application: %s", exc)
        self._shutdown()

    def _shutdown(self) -> None:
        self._stopped = True
        self._finish_events()
        self._loop.close()
        if self._local is not None:
            self._local.stop()
        self._release()

    def _release(self) -> None:
        with SparkContext._lock:
            if SparkContext._active is self:
                SparkContext._active = None

    def addPyFile(self, path: str) -> None:  # noqa: N802
        """Ship a .py or .zip file to executors that register from now on (PySpark's name)."""
        file = Path(path).expanduser()
        if not file.is_file():
            raise FileNotFoundError(f"--py-files: {path!r} does not exist or is not a file")
        self._client.files[file.name] = file.absolute()

    def _unpersist_rdd(self, rdd_id: int, blocking: bool) -> None:
        """Executors keep cached partitions as files in the app's local dirs; drop them."""
        message = UnpersistRdd(rdd_id=int(rdd_id))  # rdd.id is a callable int subclass
        for handle in self._client.ready_executors():
            self._loop.call(handle.send, message)

    # ---------------------------------------------------------------------- jobs

    def runJob(  # noqa: N802
        self,
        rdd: Any,
        partitionFunc: Callable[..., Any],  # noqa: N803
        partitions: Sequence[int] | None = None,
    ) -> list[Any]:
        """Run ``partitionFunc(context, iterator)`` on each partition; results in order.

        The one primitive every action uses. Blocks the calling thread; the work happens on
        the executors, scheduled from the driver's event loop.
        """
        if self._stopped:
            raise RuntimeError("this SparkContext was stopped; create a new one")
        wanted = list(range(rdd.getNumPartitions())) if partitions is None else list(partitions)
        try:
            job = self._scheduler.run_job(rdd, partitionFunc, wanted, lineage.creation_site())
            return self._loop.run(job)
        except KeyboardInterrupt:
            # The job lives on the driver's loop: fail it there, or it would keep running.
            self._loop.call(self._scheduler.fail_all, "the job was interrupted (Ctrl-C)")
            raise

    # ----------------------------------------------------------- executor lifecycle

    def executors(self) -> list[ExecutorHandle]:
        """Executors registered with this driver and connected now."""
        return list(self._client.ready_executors())

    def wait_for_executors(self, count: int, timeout: float = 60.0) -> list[ExecutorHandle]:
        """Block until ``count`` executors have registered (the cluster grants them async)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._client.status.ended:
                raise RuntimeError(f"application ended: {self._client.status.ended}")
            ready = self.executors()
            if len(ready) >= count:
                return ready
            time.sleep(0.02)
        raise TimeoutError(
            f"only {len(self.executors())} of {count} executors registered within {timeout:g}s"
        )


__all__ = ["ConfError", "SparkConf", "SparkContext"]

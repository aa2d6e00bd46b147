"""Every message exchanged between minispark processes, on one page.

Modelled on Spark's DeployMessages: each message is a small typed struct with a tag, so
that decoding untrusted bytes yields either one of these types or a clear error. User
payloads (pickled closures, partitions) travel as opaque ``bytes`` that the master never
unpickles. Messages that a leading master sends carry its ``epoch`` (bumped by every new
leader) so that workers and drivers can drop orders from a deposed one.

The unions at the bottom say which messages each kind of endpoint accepts.
"""

from __future__ import annotations

from enum import StrEnum

import msgspec

PROTOCOL_VERSION = 1


class Message(msgspec.Struct, tag=True, kw_only=True):
    """Base of every message; the tag is the class name."""


# --------------------------------------------------------------------------- states


class MasterStatus(StrEnum):
    STANDBY = "STANDBY"
    ALIVE = "ALIVE"
    RECOVERING = "RECOVERING"
    COMPLETING_RECOVERY = "COMPLETING_RECOVERY"


class WorkerState(StrEnum):
    ALIVE = "ALIVE"
    DEAD = "DEAD"
    DECOMMISSIONED = "DECOMMISSIONED"
    UNKNOWN = "UNKNOWN"


class ExecutorState(StrEnum):
    LAUNCHING = "LAUNCHING"
    RUNNING = "RUNNING"
    KILLED = "KILLED"
    FAILED = "FAILED"
    LOST = "LOST"
    EXITED = "EXITED"

    @property
    def finished(self) -> bool:
        return self not in (ExecutorState.LAUNCHING, ExecutorState.RUNNING)


class AppState(StrEnum):
    WAITING = "WAITING"
    RUNNING = "RUNNING"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"
    UNKNOWN = "UNKNOWN"


class DriverState(StrEnum):
    SUBMITTED = "SUBMITTED"
    RUNNING = "RUNNING"
    FINISHED = "FINISHED"
    RELAUNCHING = "RELAUNCHING"
    UNKNOWN = "UNKNOWN"
    KILLED = "KILLED"
    FAILED = "FAILED"
    ERROR = "ERROR"


# ------------------------------------------------------------------- descriptions


class ApplicationDescription(msgspec.Struct, kw_only=True, frozen=True):
    """What a driver asks of the cluster (Spark's ApplicationDescription)."""

    name: str
    user: str
    driver_url: str  # host:port of the driver's RPC server; executors connect back to it
    memory_per_executor_mb: int
    cores_per_executor: int | None = None  # None: one executor per worker, all its granted cores
    max_cores: int | None = None  # spark.cores.max
    conf: dict[str, str] = msgspec.field(default_factory=dict)  # passed on to executors


class DriverDescription(msgspec.Struct, kw_only=True, frozen=True):
    """A cluster-mode driver: the program, its files and what it needs.

    The files travel inside the description (there is no shared filesystem), which is why
    their total size is capped (``minispark.driver.maxFilesSize`` in the CLI's docs)."""

    name: str
    main: str  # file name of the program among ``files``
    args: list[str]
    files: dict[str, bytes]  # the program and its --py-files, by file name
    conf: dict[str, str]  # the application's settings, spark.master included
    cores: int
    memory_mb: int
    supervise: bool = False
    max_attempts: int | None = None  # supervised restarts allowed (None: unlimited)


class ExecutorDescription(msgspec.Struct, kw_only=True, frozen=True):
    app_id: str
    exec_id: int
    cores: int
    memory_mb: int
    state: ExecutorState


# ------------------------------------------------------------------ generic replies


class Ack(Message):
    pass


class Failure(Message):
    message: str


# ------------------------------------------------------------ handshake (rpc.py)


class Hello(Message):
    """First frame of every connection, from the connecting side."""

    protocol: str  # always "minispark"; anything else is not one of ours
    version: int
    role: str  # worker, driver, executor, client: for logs only
    nonce: bytes
    # Ids (keyring.key_id) of every secret the client accepts; the server picks one it holds
    # too. Empty from a client without a secret, and from one older than keyrings (which
    # then proves its single secret against the server's current one).
    key_ids: list[bytes] = []


class Challenge(Message):
    version: int
    nonce: bytes
    auth: bool  # whether the server requires a proof of the shared secret
    key_id: bytes = b""  # the id of the secret both sides MAC with; empty without auth


class Proof(Message):
    mac: bytes  # HMAC-SHA256(secret, server nonce + client nonce); empty without auth


class Welcome(Message):
    mac: bytes  # HMAC-SHA256(secret, client nonce + server nonce): the server proves itself too


class Refused(Message):
    reason: str


# ----------------------------------------------------------------- worker -> master


class RegisterWorker(Message):
    worker_id: str
    host: str
    port: int
    cores: int
    memory_mb: int
    webui_url: str
    master_address: str  # the address the worker used to reach this master
    # What runs here, so that a new leader adopts it in the same step as the registration
    # (and never places more executors on cores that are in fact taken).
    executors: list[ExecutorDescription] = msgspec.field(default_factory=list)
    drivers: list[str] = msgspec.field(default_factory=list)  # ids of drivers running here


class Heartbeat(Message):
    worker_id: str


class ExecutorStateChanged(Message):
    app_id: str
    exec_id: int
    state: ExecutorState
    message: str = ""
    exit_status: int | None = None


class WorkerLatestState(Message):
    """Sent after every registration: the master kills what it does not know (SPARK-13604)."""

    worker_id: str
    executors: list[ExecutorDescription]
    driver_ids: list[str] = msgspec.field(default_factory=list)


class WorkerDecommissioning(Message):
    worker_id: str


# ----------------------------------------------------------------- master -> worker


class RegisteredWorker(Message):
    master_url: str
    master_webui_url: str
    duplicate: bool
    epoch: int
    # The master's timeout is the one that judges silence, so it sets the beat: a worker
    # configured with another spark.worker.timeout would otherwise flap between ALIVE and DEAD.
    heartbeat_s: float


class RegisterWorkerFailed(Message):
    message: str


class MasterInStandby(Message):
    pass


class ReconnectWorker(Message):
    master_url: str
    epoch: int


class LaunchExecutor(Message):
    epoch: int
    app_id: str
    exec_id: int
    app: ApplicationDescription
    cores: int
    memory_mb: int


class KillExecutor(Message):
    epoch: int
    app_id: str
    exec_id: int


class ApplicationFinished(Message):
    epoch: int
    app_id: str


class DecommissionWorker(Message):
    epoch: int


class LaunchDriver(Message):
    epoch: int
    driver_id: str
    driver: DriverDescription


class KillDriver(Message):
    epoch: int
    driver_id: str


class DriverStateChanged(Message):
    """A driver ended (FINISHED, FAILED, KILLED, ERROR); asked until acknowledged."""

    driver_id: str
    state: DriverState
    message: str = ""


# Leads a refusal from a master that is not ALIVE: the client tries the next master.
NOT_LEADER = "not the leader: "


class RequestSubmitDriver(Message):
    driver: DriverDescription


class SubmitDriverResponse(Message):
    success: bool
    driver_id: str
    message: str


class RequestKillDriver(Message):
    driver_id: str


class KillDriverResponse(Message):
    success: bool
    message: str


class RequestDriverStatus(Message):
    driver_id: str


class DriverStatusResponse(Message):
    found: bool
    state: str = ""
    worker_id: str = ""
    worker_host_port: str = ""
    message: str = ""
    # The answering leader's epoch: how a client tells apart two masters that both lead.
    epoch: int = 0


class MasterChanged(Message):
    """A newly elected leader announces itself to the workers and drivers it recovered;
    they re-register with it (and drop orders from any lower epoch from then on)."""

    master_url: str
    master_webui_url: str
    epoch: int


# ---------------------------------------------------------------- driver <-> master


class RegisterApplication(Message):
    app: ApplicationDescription
    app_id: str = ""  # set when re-registering with a new leader: keep the same application
    # Executor ids below this were used already: a leader that never heard of the app must
    # not hand them out again (the driver still knows the old executors by those ids).
    next_exec_id: int = 0
    # The application UI's address (http(s)://host:port), which the master's page links to;
    # "" when the driver serves none (spark.ui.enabled=false) or is older than the UI.
    ui_url: str = ""


class UnregisterApplication(Message):
    app_id: str


class RegisteredApplication(Message):
    app_id: str
    master_url: str
    epoch: int


class ExecutorAdded(Message):
    epoch: int
    exec_id: int
    worker_id: str
    host: str
    cores: int
    memory_mb: int
    # The worker's web UI, which serves the executor's stdout and stderr (/logPage/): the
    # driver's UI links there. Empty from a master older than the application UI.
    worker_webui_url: str = ""


class ExecutorUpdated(Message):
    epoch: int
    exec_id: int
    state: ExecutorState
    message: str = ""
    exit_status: int | None = None
    worker_host: str | None = None  # set when the worker was lost: its shuffle output is gone


class ApplicationRemoved(Message):
    epoch: int
    state: AppState
    message: str


class WorkerRemoved(Message):
    epoch: int
    worker_id: str
    host: str
    message: str


# ----------------------------------------------------------- executor <-> worker


class ExecutorAttached(Message):
    """An executor announces itself on its worker connection; it exits when that closes."""

    app_id: str
    exec_id: int
    pid: int


# ----------------------------------------------------------- executor <-> driver


class RegisterExecutor(Message):
    exec_id: int
    host: str
    cores: int
    pid: int
    worker_url: str  # host:port of the worker serving this executor's shuffle output


class RegisteredExecutor(Message):
    app_id: str
    files: list[str] = msgspec.field(default_factory=list)  # --py-files to fetch before tasks


class FetchFile(Message):
    """An executor asks its driver for one of the application's files (--py-files)."""

    name: str


class FileData(Message):
    name: str
    data: bytes


class StopExecutor(Message):
    pass


class UnpersistRdd(Message):
    """The driver no longer wants an RDD's cached partitions: delete them."""

    rdd_id: int


class TaskSpec(msgspec.Struct, kw_only=True, frozen=True):
    task_id: int  # unique per driver: results and failures refer to it
    partition: int
    attempt: int
    inputs: bytes = b""  # pickled data only this task reads (its parallelize slices)


class LaunchTasks(Message):
    """Tasks of one stage attempt. ``binary`` (the pickled RDD chain and function) travels
    only the first time an executor receives tasks of that stage attempt."""

    stage_id: int
    stage_attempt: int
    kind: str  # "result" or "map"
    binary: bytes | None
    # shuffle id -> per map: "worker-host:port/file" of its output (read by this stage)
    locations: dict[int, list[str]]
    tasks: list[TaskSpec]


class ForgetStage(Message):
    """A stage attempt is over: the executor may drop its code and shuffle locations."""

    stage_id: int
    stage_attempt: int


class TaskMetrics(msgspec.Struct, kw_only=True):
    """What one task attempt cost, measured in its task process (Spark's TaskMetrics).

    Mutable on purpose: the task process adds to one instance as the task runs."""

    run_time_ms: int = 0  # wall time from receiving the task to having its result
    cpu_time_ns: int = 0  # the task process's user + system CPU over the same span
    result_bytes: int = 0  # the serialised result sent back
    peak_rss_bytes: int = 0  # the task process's peak resident size during the task
    memory_spilled_bytes: int = 0  # resident bytes held when the task spilled (estimate)
    disk_spilled_bytes: int = 0  # bytes of the spill files written
    input_bytes: int = 0  # bytes read by source partitions (text files, parallelize slices)
    input_records: int = 0
    output_bytes: int = 0
    output_records: int = 0
    shuffle_remote_blocks: int = 0  # shuffle segments fetched from another worker
    shuffle_local_blocks: int = 0  # segments read from this host's files directly
    shuffle_fetch_wait_ms: int = 0  # time spent waiting for segments
    shuffle_remote_bytes: int = 0
    shuffle_local_bytes: int = 0
    shuffle_read_records: int = 0
    shuffle_write_bytes: int = 0  # bytes of the map output's data file
    shuffle_write_time_ns: int = 0
    shuffle_write_records: int = 0


class TaskFinished(Message):
    task_id: int
    result: bytes  # pickled return value (result tasks) or map output location (map tasks)
    accumulators: bytes  # pickled {accumulator id: update}
    spills: int = 0  # times the task spilled to disk for lack of memory
    metrics: TaskMetrics | None = None  # None from an executor older than the event log


class TaskFailed(Message):
    task_id: int
    error: str  # one line: exception type and message
    traceback: str  # the remote traceback, for the driver to show
    fetch_failed_shuffle: int = -1  # a shuffle input was missing: recompute, do not count
    fetch_failed_map: int = -1
    metrics: TaskMetrics | None = None  # None when the task process died, or an old peer
    error_class: str = ""  # the exception's qualified class name, when there was one


class ExecutorExiting(Message):
    """An executor tells its driver why it is about to exit (e.g. over its memory limit)."""

    reason: str


class FetchShuffleBlock(Message):
    app_id: str
    file: str  # shuffle_<shuffle>_<map>_<attempt>
    reduce_id: int


class ShuffleBlock(Message):
    data: bytes


# ------------------------------------------------------------ inbound per endpoint

ToMaster = (
    RegisterWorker
    | Heartbeat
    | ExecutorStateChanged
    | WorkerLatestState
    | WorkerDecommissioning
    | RegisterApplication
    | UnregisterApplication
    | DriverStateChanged
    | RequestSubmitDriver
    | RequestKillDriver
    | RequestDriverStatus
    | Ack
    | Failure
)

ToWorker = (
    RegisteredWorker
    | RegisterWorkerFailed
    | MasterInStandby
    | ReconnectWorker
    | LaunchExecutor
    | KillExecutor
    | LaunchDriver
    | KillDriver
    | ApplicationFinished
    | DecommissionWorker
    | ExecutorAttached
    | FetchShuffleBlock
    | MasterChanged
    | Ack
    | Failure
)

ToDriver = (
    RegisteredApplication
    | ExecutorAdded
    | ExecutorUpdated
    | ApplicationRemoved
    | WorkerRemoved
    | MasterInStandby
    | MasterChanged
    | RegisterExecutor
    | FetchFile
    | TaskFinished
    | TaskFailed
    | ExecutorExiting
    | Ack
    | Failure
)

ToExecutor = (
    RegisteredExecutor
    | StopExecutor
    | LaunchTasks
    | ForgetStage
    | UnpersistRdd
    | ShuffleBlock
    | FileData
    | Ack
    | Failure
)

Handshake = Hello | Challenge | Proof | Welcome | Refused

# The `minispark submit/kill/status` client talks to masters.
ToSubmitClient = (
    SubmitDriverResponse
    | KillDriverResponse
    | DriverStatusResponse
    | MasterInStandby
    | Ack
    | Failure
)

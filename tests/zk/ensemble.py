"""A real ZooKeeper ensemble on loopback ports, for tests: start, stop, kill, ask who leads."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

from tests.zk import launch

POLL_SECONDS = 0.2
# Hang guards only; nothing here asserts how fast anything is.
QUORUM_TIMEOUT = 60.0
STOP_GRACE = 10.0


class EnsembleError(RuntimeError):
    """The ensemble did not reach the state asked for; the message says where its logs are."""


def srvr_mode(port: int) -> str | None:
    """The "Mode:" that the `srvr` four-letter word reports on `port`.

    None if nothing answers, or if the member answers but is not serving (it is looking for
    a leader, or has no quorum).
    """
    try:
        with socket.create_connection((launch.LOOPBACK, port), timeout=2.0) as sock:
            sock.sendall(b"srvr")
            reply = b"".join(iter(lambda: sock.recv(4096), b""))
    except OSError:
        return None
    for line in reply.decode(errors="replace").splitlines():
        if line.startswith("Mode:"):
            return line.removeprefix("Mode:").strip()
    return None


class Member:
    """One server of the ensemble: its files live in `directory`, its JVM is ours to control."""

    def __init__(self, index: int, directory: Path, ports: launch.Ports) -> None:
        self.index = index
        self.myid = index + 1
        self.directory = directory
        self.ports = ports
        self.log_file = directory / "zookeeper.log"
        # What the JVM itself prints (crashes, bad options) rather than logs through log4j.
        self.console_file = directory / "console.out"
        self._proc: subprocess.Popen[bytes] | None = None
        self._terminating = False
        self.sasl = False  # whether its JVM is started with the JAAS file

    def __repr__(self) -> str:
        return f"<zk member {self.index} (myid {self.myid}) pid={self.pid} dir={self.directory}>"

    @property
    def address(self) -> str:
        return f"{launch.LOOPBACK}:{self.ports.client}"

    @property
    def pid(self) -> int | None:
        proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def exit_status(self) -> int | None:
        """The exit status of a JVM that exited although nobody stopped it; else None."""
        return None if self._proc is None else self._proc.poll()

    def start(self) -> None:
        """Launch the JVM if it is not running; returns without waiting for it to serve."""
        if self.running:
            return
        self._terminating = False
        with self.console_file.open("ab") as console:
            self._proc = subprocess.Popen(
                launch.argv(self.directory, sasl=self.sasl),
                stdin=subprocess.DEVNULL,
                stdout=console,
                stderr=subprocess.STDOUT,
                # A Ctrl-C at the terminal reaches pytest only; its teardown stops the members.
                start_new_session=True,
            )

    def terminate(self) -> None:
        """Send SIGTERM without waiting, so that several members shut down in parallel."""
        if self._proc is not None and not self._terminating:
            self._proc.terminate()
            self._terminating = True

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after a grace period; does nothing if the member is down."""
        self._end(graceful=True)

    def kill(self) -> None:
        """SIGKILL at once, as a crash would; does nothing if the member is down."""
        self._end(graceful=False)

    def restart(self) -> None:
        self.stop()
        self.start()

    def mode(self) -> str | None:
        """What `srvr` reports: leader, follower or standalone; None if down or not serving."""
        return srvr_mode(self.ports.client) if self.running else None

    def _end(self, graceful: bool) -> None:
        proc = self._proc
        if proc is None:
            return
        # Popen signals only a child it has not reaped yet, so a reused pid is never hit.
        if graceful:
            self.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(STOP_GRACE)
        proc.kill()
        proc.wait(STOP_GRACE)
        # Forgotten only once reaped: an interrupted stop() can be repeated.
        self._proc = None


class Ensemble:
    """`size` members under `root` (root/zk1, root/zk2, ...), on loopback ports free at creation.

    Members are indexed from 0; member i has myid i + 1. Use as a context manager, or call
    start() and, always, stop().
    """

    def __init__(self, root: Path, size: int = 3, sasl: launch.Sasl | None = None) -> None:
        if size < 1:
            raise ValueError(f"an ensemble needs at least one member, not {size}")
        numbers = launch.free_ports(3 * size)
        ports = [launch.Ports(*numbers[i : i + 3]) for i in range(0, len(numbers), 3)]
        self.root = root
        self.members = tuple(
            Member(i, root / f"zk{i + 1}", member_ports) for i, member_ports in enumerate(ports)
        )
        for member in self.members:
            data_dir = member.directory / "data"
            data_dir.mkdir(parents=True, exist_ok=True)
            (data_dir / "myid").write_text(f"{member.myid}\n")
            (member.directory / "log4j.properties").write_text(
                launch.log4j_properties(member.log_file)
            )
            self.configure(member.index, sasl)

    def configure(self, index: int, sasl: launch.Sasl | None) -> None:
        """(Re)write member `index`'s zoo.cfg and JAAS file; a running member sees the change
        when it restarts, as with the role's rolling restart."""
        member = self.members[index]
        servers = [m.ports for m in self.members]
        cfg = launch.zoo_cfg(member.directory / "data", member.ports.client, servers, sasl)
        (member.directory / "zoo.cfg").write_text(cfg)
        jaas = member.directory / "jaas.conf"
        jaas.unlink(missing_ok=True)
        if sasl is not None:
            # Passwords: readable by the member alone, as the role's 0600 file.
            jaas.touch(mode=0o600)
            jaas.write_text(launch.jaas_conf(sasl))
        member.sasl = sasl is not None

    def __enter__(self) -> Ensemble:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def size(self) -> int:
        return len(self.members)

    @property
    def majority(self) -> int:
        return self.size // 2 + 1

    @property
    def connect_string(self) -> str:
        return ",".join(member.address for member in self.members)

    def member(self, index: int) -> Member:
        return self.members[index]

    def start(self, timeout: float = QUORUM_TIMEOUT) -> int:
        """Start every member that is down and wait for all to serve; returns the leader."""
        for member in self.members:
            member.start()
        return self.wait_for_quorum(timeout)

    def stop(self) -> None:
        """Stop every member; a failure to stop one does not keep the others running."""
        errors: list[Exception] = []
        for member in self.members:
            member.terminate()
        for member in self.members:
            try:
                member.stop()
            except Exception as error:
                errors.append(error)
        if errors:
            raise EnsembleError(f"could not stop every member: {errors}")

    def restart(self, timeout: float = QUORUM_TIMEOUT) -> int:
        self.stop()
        return self.start(timeout)

    def modes(self) -> list[str | None]:
        return [member.mode() for member in self.members]

    def leader(self) -> int:
        """The index of the member that leads now; EnsembleError if there is not exactly one."""
        modes = self.modes()
        leaders = [i for i, mode in enumerate(modes) if mode == "leader"]
        if len(leaders) != 1:
            raise EnsembleError(f"no single leader: modes {modes}")
        return leaders[0]

    def wait_for_quorum(self, timeout: float = QUORUM_TIMEOUT) -> int:
        """Wait until every running member serves under one leader; returns the leader.

        Fails at once if fewer than a majority are running or a member's JVM has died.
        """
        deadline = time.monotonic() + timeout
        while True:
            self._check_can_serve()
            running = [m for m in self.members if m.running]
            modes = {m.index: m.mode() for m in running}
            leaders = [i for i, mode in modes.items() if mode in ("leader", "standalone")]
            if len(leaders) == 1 and all(mode is not None for mode in modes.values()):
                return leaders[0]
            if time.monotonic() > deadline:
                raise EnsembleError(
                    f"no quorum after {timeout:.0f}s: modes {self.modes()}; logs in {self.root}"
                )
            time.sleep(POLL_SECONDS)

    def stop_majority(self) -> list[int]:
        """Stop running members until fewer than a majority run; returns their indexes."""
        running = [m for m in self.members if m.running]
        doomed = running[: max(0, len(running) - self.majority + 1)]
        for member in doomed:
            member.terminate()
        for member in doomed:
            member.stop()
        return [member.index for member in doomed]

    def _check_can_serve(self) -> None:
        for member in self.members:
            if member.exit_status is not None:
                raise EnsembleError(
                    f"member {member.index} exited on its own with status {member.exit_status}; "
                    f"see {member.log_file} and {member.console_file}"
                )
        running = sum(member.running for member in self.members)
        if running < self.majority:
            raise EnsembleError(
                f"only {running} of {self.size} members run; a quorum needs {self.majority}"
            )

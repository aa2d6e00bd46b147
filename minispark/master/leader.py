"""Leader election: who among the masters is ALIVE.

Without ZooKeeper a master leads from the start (Spark's "monarchy"). With ZooKeeper, kazoo's
``Election`` recipe runs in its own thread: the first contender holds the lock node and
leads; the others block in the election until the leader's node goes away, which happens at
once when it stops cleanly and after its session timeout when it dies. Connection states
come back to the master's loop: SUSPENDED stops scheduling at once, LOST ends the process
(a supervisor restarts it as a standby), as the issue's safety rules ask. ZooKeeper refusing
the master's SASL login, or its tree belonging to another account, ends it the same way
after one line that says what to fix.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

from .zkauth import ZooKeeperAuthError

log = logging.getLogger("minispark.master.leader")

CONNECT_RETRY_S = 2.0
REFUSAL_GRACE_S = 2.0


class Candidate(Protocol):
    """What the master offers the election (all called on its event loop)."""

    def elected(self) -> None: ...
    def suspended(self) -> None: ...
    def reconnected(self) -> None: ...
    def session_lost(self) -> None: ...


class Monarchy:
    def __init__(self, candidate: Candidate) -> None:
        self.candidate = candidate

    def start(self) -> None:
        asyncio.get_running_loop().call_soon(self.candidate.elected)

    def stop(self) -> None:
        pass


class ZooKeeperElection:
    def __init__(
        self,
        candidate: Candidate,
        *,
        client: Any,
        root: str,
        identifier: str,
        on_connected: Callable[[], None],
        refusal: str | None = None,
    ) -> None:
        self.candidate = candidate
        self.client = client
        self.root = root
        self.identifier = identifier
        self.on_connected = on_connected  # runs in the election thread once connected
        self.refusal = refusal  # what a refused SASL login means; None without SASL
        self._ended = threading.Event()  # session_lost sent: once is enough
        self._lost_as: Any = None  # kazoo's KeeperState when the session was lost
        self.loop = asyncio.get_running_loop()
        self.release = threading.Event()
        self.thread = threading.Thread(target=self._run, name="zk-election", daemon=True)
        self.election: Any = None

    def start(self) -> None:
        self.client.add_listener(self._state)
        self.thread.start()

    def _connect(self) -> bool:
        """Keep trying until the ensemble answers: a standby that waits, not a crash loop."""
        while not self.release.is_set():
            try:
                self.client.start(timeout=CONNECT_RETRY_S * 5)
                return True
            except Exception as exc:  # kazoo raises its own timeout type
                if self._ended.is_set():
                    return False  # refused while connecting: retrying cannot help
                log.warning("waiting for ZooKeeper at %s: %s", self.client.hosts, exc)
                self.release.wait(CONNECT_RETRY_S)
        return False

    def _run(self) -> None:
        if not self._connect():
            return
        try:
            self.on_connected()
            self.election = self.client.Election(f"{self.root}/leader_election", self.identifier)
            self.election.run(self._lead)
        except ZooKeeperAuthError as exc:
            # A request can be answered as an anonymous one just before the server refuses
            # the login; that refusal, not a foreign owner, is then the problem to report.
            self._ended.wait(REFUSAL_GRACE_S)
            self._end(str(exc))
        except Exception:
            if self.release.is_set():
                return
            refused = self._refused()
            if refused:
                self._end(refused)
            else:
                log.exception("leader election failed")
                self._end(None)

    def _refused(self) -> str | None:
        """The refusal line when the session ended because the SASL login was refused.

        kazoo reports CONNECTED before it authenticates; a refusal then ends the session in
        AUTH_FAILED, or CLOSED when the server enforces SASL (kazoo's connection loop stops
        on the error it answers with). Either is final: no retry can fix a password.
        """
        from kazoo.protocol.states import KeeperState

        if self.refusal is None:
            return None
        state = self._lost_as
        if state == KeeperState.AUTH_FAILED or (
            state == KeeperState.CLOSED and not self.release.is_set()
        ):
            return self.refusal
        return None

    def _end(self, reason: str | None) -> None:
        """Tell the master once that its session is over, after the reason if there is one."""
        if self._ended.is_set():
            return
        self._ended.set()
        if reason is not None:
            log.error("%s", reason)
        self.loop.call_soon_threadsafe(self.candidate.session_lost)

    def _lead(self) -> None:
        """Runs while we hold leadership; returning releases it."""
        self.loop.call_soon_threadsafe(self.candidate.elected)
        self.release.wait()

    def _state(self, state: str) -> None:
        """kazoo's listener runs on kazoo's thread and must not block: hand over to the loop."""
        from kazoo.client import KazooState

        if self.release.is_set():
            return
        if state == KazooState.SUSPENDED:
            self.loop.call_soon_threadsafe(self.candidate.suspended)
        elif state == KazooState.LOST:
            self._lost_as = self.client.client_state
            self._end(self._refused())
        elif state == KazooState.CONNECTED:
            self.loop.call_soon_threadsafe(self.candidate.reconnected)

    def stop(self) -> None:
        """Release leadership (a standby takes over at once) and close the session."""
        self.release.set()
        if self.election is not None:
            self.election.cancel()
        self.thread.join(timeout=5)
        try:
            self.client.stop()
            self.client.close()
        except Exception as exc:
            log.warning("closing the ZooKeeper session: %s", exc)

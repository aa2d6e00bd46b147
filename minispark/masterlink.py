"""The link to the leading master, and the one way to find and follow it.

Workers, drivers and the cluster-mode submit client all hold a master URL that may list
several masters, of which one leads. A search asks every master at once and registers through
the caller's callback: standbys decline, the leader accepts and gives its epoch. Two masters
that both accept share no election (split brain), so the higher epoch is followed and the
split is reported; a master below an epoch already seen is a deposed leader that has not yet
noticed, and is not followed. Once linked, a closed link or a new leader announcing itself
(``MasterChanged``) starts a new search on the caller's retry schedule, and the caller hears
when a search gives up.

Named after what callers hold, a link to the master, beside ``masterurl`` that it reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from . import rpc
from .protocol import MasterChanged

Address = tuple[str, int]


class Claim(Protocol):
    """A master's acceptance of a registration: it leads at ``epoch``."""

    epoch: int


C = TypeVar("C", bound=Claim)

# The caller's registration: ask the master, answer its Claim or why it is not our leader.
Register = Callable[[rpc.Connection, Address], Awaitable[C | str]]


# ---------------------------------------------------------------------- pure parts


@dataclass(frozen=True)
class Retries:
    """How many searches, and the waits between them (Spark's two-phase registration
    backoff: ``quick`` short waits first, long ones after; None means every wait is short)."""

    attempts: int
    short_s: float = 1.0
    long_s: float = 30.0
    quick: int | None = None
    jitter: float = 0.0  # each search scales its waits by one factor in 1 ± jitter

    def waits(self, scale: float = 1.0) -> list[float]:
        """The pause after each failed attempt but the last, which gives up at once."""
        quick = self.attempts if self.quick is None else self.quick
        return [
            (self.short_s if n < quick else self.long_s) * scale for n in range(1, self.attempts)
        ]

    def scale(self) -> float:
        """Drawn once per search, so that many processes do not retry in lockstep."""
        return random.uniform(1.0 - self.jitter, 1.0 + self.jitter)


class Verdict(enum.Enum):
    FOLLOW = "follow"  # no leader yet: this one is it
    SWITCH = "switch"  # a second claimant with a higher epoch deposes the one followed
    STAY = "stay"  # a second claimant, not newer than the one followed: turned away
    STALE = "stale"  # below an epoch already seen: a deposed leader


@dataclass
class Leadership:
    """Which claimant to follow, decided one answer at a time, in the order answers come.

    While a leader is followed its epoch is ``epoch``: following takes the claimant's epoch,
    and only claims at or above the highest epoch seen are followed."""

    epoch: int = 0  # the highest epoch seen, claimed or announced
    following: bool = False

    def judge(self, epoch: int) -> Verdict:
        if not self.following:
            return Verdict.FOLLOW if epoch >= self.epoch else Verdict.STALE
        return Verdict.SWITCH if epoch > self.epoch else Verdict.STAY

    def follow(self, epoch: int) -> None:
        self.epoch = max(self.epoch, epoch)
        self.following = True

    def announced(self, epoch: int) -> bool:
        """A leader says it took over at ``epoch``: True when that is news (search again)."""
        if epoch <= self.epoch:
            return False
        self.epoch = epoch
        self.following = False
        return True

    def current(self, message: object) -> bool:
        """Orders carry their leader's epoch; one below the highest seen comes from a
        deposed leader and is dropped."""
        epoch = getattr(message, "epoch", None)
        return not isinstance(epoch, int) or epoch >= self.epoch


def _where(address: Address) -> str:
    return f"{address[0]}:{address[1]}"


class NoLeader(ConnectionError):
    """Every attempt of a search ended without a leader; ``outcomes`` holds what each master
    answered to the last one."""

    def __init__(self, subject: str, attempts: int, outcomes: dict[Address, str]) -> None:
        self.attempts = attempts
        self.outcomes = outcomes
        super().__init__(
            f"no master accepted the {subject} after {attempts} attempts: {self.tried}"
        )

    @property
    def tried(self) -> str:
        return "; ".join(f"{_where(a)} ({why})" for a, why in self.outcomes.items())


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    return str(exc) or type(exc).__name__


# ------------------------------------------------------------------------ the link


@dataclass(frozen=True)
class Endpoint:
    """Our side of a master link: what it accepts, how it proves itself, who it says it is."""

    inbound: Any
    handler: rpc.Handler
    security: rpc.Security
    role: str
    timeout_s: float = 5.0  # to connect and shake hands


def _nothing(*_: object) -> None:
    pass


class MasterLink(Generic[C]):
    """Finds the leader, keeps the link to it, and follows leadership as it moves."""

    def __init__(
        self,
        masters: Sequence[Address],
        endpoint: Endpoint,
        *,
        subject: str,
        register: Register[C],
        retries: Retries,
        log: logging.Logger,
        on_leader: Callable[[rpc.Connection, C], None] = _nothing,
        on_lost: Callable[[], None] = _nothing,
        on_give_up: Callable[[Exception], None] = _nothing,
        fatal: tuple[type[Exception], ...] = (),
    ) -> None:
        """``subject`` names what registers, for the logs; ``on_lost`` runs when the leader's
        link closes (a search follows); ``fatal`` errors end a search at once instead of
        counting as an unreachable master."""
        self.masters = list(masters)
        self.endpoint = endpoint
        self.subject = subject
        self.retries = retries
        self.log = log
        self._register = register
        self._on_leader = on_leader
        self._on_lost = on_lost
        self._on_give_up = on_give_up
        self._fatal = fatal
        self._state = Leadership()
        self._leader: rpc.Connection | None = None
        self._address: Address | None = None
        self._search: asyncio.Task[None] | None = None
        self._settled = False

    @property
    def leader(self) -> rpc.Connection | None:
        return self._leader

    @property
    def epoch(self) -> int:
        return self._state.epoch

    def current(self, message: object) -> bool:
        return self._state.current(message)

    # ------------------------------------------------------------------ searching

    async def find(self) -> rpc.Connection:
        """Search until a leader accepts us; NoLeader when the attempts run out."""
        waits = self.retries.waits(self.retries.scale())
        outcomes: dict[Address, str] = {}
        for attempt in range(1, self.retries.attempts + 1):
            outcomes = dict(await asyncio.gather(*(self._ask(a) for a in self.masters)))
            if self._leader is not None:
                return self._leader
            if attempt == self.retries.attempts:
                break
            wait = waits[attempt - 1]
            self.log.info(
                "no master accepted the %s (attempt %d/%d); retrying in %.1fs",
                self.subject,
                attempt,
                self.retries.attempts,
                wait,
            )
            await asyncio.sleep(wait)
        raise NoLeader(self.subject, self.retries.attempts, outcomes)

    def follow(self, *, now: bool = False) -> None:
        """Search in the background unless a search runs; ``now`` restarts one that may be
        asleep in its backoff (a new leader just announced itself: waiting out a 30 s
        backoff would stall the failover)."""
        if self._settled:
            return
        running = self._search
        if running is not None and not running.done():
            if not now:
                return
            running.cancel()
        self._search = asyncio.ensure_future(self._search_in_background())

    async def _search_in_background(self) -> None:
        try:
            await self.find()
        except NoLeader as exc:
            self._on_give_up(exc)
        except self._fatal as exc:
            self._on_give_up(exc)

    async def _ask(self, address: Address) -> tuple[Address, str]:
        """One master's answer, as the words that explain a failed search."""
        host, port = address
        try:
            conn = await rpc.connect(
                host,
                port,
                inbound=self.endpoint.inbound,
                handler=self.endpoint.handler,
                security=self.endpoint.security,
                role=self.endpoint.role,
                on_close=self._closed,
                timeout=self.endpoint.timeout_s,
            )
        except self._fatal:
            raise
        # ValueError: a malformed handshake frame; EOFError: closed during the handshake.
        except (OSError, TimeoutError, ValueError, EOFError) as exc:
            self.log.info("cannot reach master %s:%d: %s", host, port, exc)
            return address, _reason(exc)
        try:
            answer = await self._register(conn, address)
        except (rpc.ConnectionClosed, TimeoutError, rpc.RpcError) as exc:
            conn.close(f"registration failed: {exc}")
            return address, f"registration failed: {_reason(exc)}"
        except BaseException:  # cancelled by a restarted search: leave no link behind
            conn.close()
            raise
        if isinstance(answer, str):
            conn.close()
            return address, answer
        return address, self._claimed(conn, address, answer)

    def _claimed(self, conn: rpc.Connection, address: Address, claim: C) -> str:
        verdict = self._state.judge(claim.epoch)
        if verdict is Verdict.STALE:
            self.log.warning(
                "master %s claims to lead at epoch %d, below epoch %d already seen: "
                "a deposed leader; not following it",
                _where(address),
                claim.epoch,
                self._state.epoch,
            )
            conn.close()
            return "a deposed leader"
        if verdict is not Verdict.FOLLOW:
            self._split_brain(address)
        if verdict is Verdict.STAY:
            conn.close()
            return "a second leader"
        old, self._leader = self._leader, None
        if old is not None:
            old.close()
        self._state.follow(claim.epoch)
        self._leader, self._address = conn, address
        self._on_leader(conn, claim)
        return "the leader"

    def _split_brain(self, address: Address) -> None:
        held = _where(self._address) if self._address else "?"
        self.log.error(
            "two masters accept this %s as leaders: minispark://%s and minispark://%s; they "
            "must share spark.deploy.recoveryMode=ZOOKEEPER to elect one. Following the "
            "higher epoch.",
            self.subject,
            held,
            _where(address),
        )

    # ------------------------------------------------------------------ following

    def _closed(self, conn: rpc.Connection) -> None:
        if conn is not self._leader:
            return  # a standby, a turned-away claimant or a replaced leader
        self._leader = None
        self._state.following = False  # the next claimant at the highest epoch is followed
        if self._settled:
            return
        self._on_lost()
        with contextlib.suppress(RuntimeError):  # no running loop: the process is ending
            self.follow()

    def announce(self, m: MasterChanged) -> None:
        """A newly elected leader recovered us: search again (standbys will decline)."""
        if self._settled:
            return
        if not self._state.announced(m.epoch):
            self.log.log(
                logging.WARNING if m.epoch < self._state.epoch else logging.INFO,
                "ignoring MasterChanged from %s: epoch %d is not newer than %d",
                m.master_url,
                m.epoch,
                self._state.epoch,
            )
            return
        self.log.info("master changed to %s (epoch %d); re-registering", m.master_url, m.epoch)
        old, self._leader = self._leader, None
        if old is not None:
            old.close("a new leader took over")
        self.follow(now=True)

    def reconnect(self, reason: str) -> None:
        """Drop the link (its closing starts the search) and register anew."""
        if self._leader is not None:
            self._leader.close(reason)
        self.follow()

    def settle(self) -> None:
        """Stop following: no search from now on. The link, if any, stays open."""
        self._settled = True
        if self._search is not None:
            self._search.cancel()

    def close(self, reason: str = "") -> None:
        self.settle()
        if self._leader is not None:
            self._leader.close(reason)

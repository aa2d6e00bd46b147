"""One look at the live cluster from the operator's machine: ZooKeeper members and masters.

Standard library only (see the package docstring). Every failure is a ``ProbeError`` whose
message is one line naming the daemon and what went wrong, because it ends up verbatim in
Ansible's and Fabric's output.
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import socket
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from .tls import CA_ENV, Tls, ssl_reason

T = TypeVar("T")

DEFAULT_TIMEOUT = 3.0
ZK_MODES = ("leader", "follower", "standalone", "observer")
ZK_NOT_SERVING = "This ZooKeeper instance is not currently serving requests"
# Master statuses as /json reports them, plus ours for a master that did not answer.
ALIVE = "ALIVE"
STANDBY = "STANDBY"
# A history server that has listed its log directory (ops/history.py's readings).
HISTORY_UP = "UP"
UNREACHABLE = "UNREACHABLE"
ZK_ERROR = "ERROR"
# A ZooKeeper answer is a few hundred bytes; anything far larger is not ZooKeeper.
MAX_REPLY = 64 * 1024
MAX_REASON = 200

# The probes must see the daemon itself: through an HTTP proxy (http_proxy in the operator's
# environment) a proxy's own error page would read as the master's answer.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class ProbeError(Exception):
    """A probe could not tell; the message is one line naming the daemon and the reason."""


def one_line(text: str, limit: int = MAX_REASON) -> str:
    """Whatever a daemon said, as one short line fit for an error message."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


# ---- addresses -------------------------------------------------------------------------


def split_address(text: str) -> tuple[str, int]:
    """``host:port`` or ``[v6-address]:port`` as (host, port); ValueError says what is wrong."""
    host, sep, port_text = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not sep or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"{text!r} is not HOST:PORT (e.g. 10.0.0.1:2181, [::1]:8080)")
    return host, int(port_text)


def web_url(address: str, path: str, default_scheme: str = "http") -> str:
    """The URL of ``path`` on a web port given as ``host:port`` or with its scheme."""
    scheme, sep, rest = address.partition("://")
    if not sep:
        scheme, rest = default_scheme, address
    if scheme not in ("http", "https"):
        raise ValueError(f"{address!r}: only http:// and https:// web addresses are supported")
    split_address(rest.rstrip("/"))
    return f"{scheme}://{rest.rstrip('/')}{path}"


def os_reason(exc: BaseException | str) -> str:
    """ "Connection refused" rather than "[Errno 111] Connection refused"."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return one_line(str(exc)) or type(exc).__name__


# ---- ZooKeeper -------------------------------------------------------------------------


def zookeeper_mode(address: str, timeout: float = DEFAULT_TIMEOUT) -> str:
    """What ``srvr`` says member ``address`` is: leader, follower, standalone or observer.

    ProbeError if it cannot be reached, does not answer, or answers that it does not serve
    (no quorum, still electing).
    """
    return parse_srvr(address, four_letter_word(address, "srvr", timeout))


def four_letter_word(address: str, word: str, timeout: float = DEFAULT_TIMEOUT) -> str:
    """Send ZooKeeper's ``word`` to ``address`` and return the whole answer."""
    try:
        host, port = split_address(address)
    except ValueError as exc:
        raise ProbeError(f"zookeeper {exc}") from None
    deadline = time.monotonic() + timeout
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except TimeoutError:
        raise ProbeError(f"zookeeper {address}: no connection within {timeout:g}s") from None
    except OSError as exc:
        raise ProbeError(f"zookeeper {address}: cannot connect: {os_reason(exc)}") from None
    with sock:
        try:
            sock.sendall(word.encode())
            return _read_to_end(sock, deadline).decode(errors="replace")
        except TimeoutError:
            raise ProbeError(f"zookeeper {address}: no answer within {timeout:g}s") from None
        except OSError as exc:
            raise ProbeError(f"zookeeper {address}: connection lost: {os_reason(exc)}") from None


def _read_to_end(sock: socket.socket, deadline: float) -> bytes:
    # ZooKeeper closes the connection after its answer; the deadline bounds a server that
    # trickles bytes, which a per-call socket timeout alone would not.
    chunks: list[bytes] = []
    size = 0
    while size < MAX_REPLY:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        sock.settimeout(remaining)
        chunk = sock.recv(4096)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def parse_srvr(member: str, reply: str) -> str:
    """The mode in member's answer to ``srvr``; ProbeError quoting the answer if none."""
    text = reply.strip()
    if not text:
        raise ProbeError(f"zookeeper {member}: closed the connection without answering srvr")
    if ZK_NOT_SERVING in text:
        raise ProbeError(f"zookeeper {member} is not serving: {ZK_NOT_SERVING}")
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() == "Mode":
            mode = value.strip()
            if mode in ZK_MODES:
                return mode
            raise ProbeError(f"zookeeper {member} reports Mode: {one_line(mode)}")
    raise ProbeError(f"zookeeper {member} answered srvr without a Mode: {one_line(text)}")


# ---- masters over HTTP -----------------------------------------------------------------


def _opener(tls: Tls | None) -> urllib.request.OpenerDirector:
    if tls is None:
        return _OPENER
    return urllib.request.build_opener(
        urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=tls.context)
    )


def _request(
    url: str, what: str, *, method: str, secret: str | None, timeout: float, tls: Tls | None
) -> tuple[int, bytes]:
    """(HTTP status, body) of one request; ProbeError if there is no HTTP answer at all."""
    headers = {"Authorization": f"Bearer {secret}"} if secret else {}
    data = b"" if method == "POST" else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with _opener(tls).open(request, timeout=timeout) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as err:
        with err:
            return err.code, err.read()
    except urllib.error.URLError as err:
        if isinstance(err.reason, ssl.SSLCertVerificationError):
            if tls is None:
                raise ProbeError(
                    f"{what}: TLS certificate refused ({err.reason.verify_message}): "
                    f"give the cluster's ca.pem ({CA_ENV})"
                ) from None
            raise ProbeError(f"{what}: {tls.refused(err.reason)}") from None
        if isinstance(err.reason, ssl.SSLError):
            raise ProbeError(f"{what}: {ssl_reason(err.reason)}") from None
        if isinstance(err.reason, TimeoutError):
            raise ProbeError(f"{what}: no answer within {timeout:g}s") from None
        raise ProbeError(f"{what}: cannot connect: {os_reason(err.reason)}") from None
    except TimeoutError:
        raise ProbeError(f"{what}: no answer within {timeout:g}s") from None
    except (OSError, http.client.HTTPException) as exc:
        hint = "" if url.startswith("https:") else " (does it serve HTTPS? then give its CA)"
        raise ProbeError(f"{what}: broken HTTP answer: {os_reason(exc)}{hint}") from None


def web_call(
    address: str,
    path: str,
    *,
    what: str,
    method: str = "GET",
    secret: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    tls: Tls | None = None,
) -> tuple[int, bytes]:
    """(status, body) of ``path`` on a web port: https when ``tls`` is given, with the secret
    as a bearer token; ProbeError naming ``what`` if there is no HTTP answer."""
    try:
        url = web_url(address, path, "https" if tls else "http")
    except ValueError as exc:
        raise ProbeError(f"{what.split(maxsplit=1)[0]} {exc}") from None
    return _request(url, what, method=method, secret=secret, timeout=timeout, tls=tls)


def _call(
    address: str,
    path: str,
    *,
    method: str = "GET",
    secret: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    tls: Tls | None = None,
) -> tuple[int, bytes]:
    what = f"master {address}"
    status, body = web_call(
        address, path, what=what, method=method, secret=secret, timeout=timeout, tls=tls
    )
    if status == 401 and secret:
        raise ProbeError(
            f"{what}: {method} {path.partition('?')[0]} refused the secret sent (HTTP 401): "
            "give the cluster's current one (a rotation may have replaced it)"
        )
    if status == 401:
        raise ProbeError(
            f"{what}: {method} {path.partition('?')[0]} needs the cluster secret "
            "(spark.authenticate is on): give it as the web bearer secret"
        )
    return status, body


def _unexpected(address: str, path: str, status: int, body: bytes) -> ProbeError:
    said = one_line(body.decode(errors="replace")) or "(no body)"
    return ProbeError(f"master {address}: {path} answered HTTP {status}: {said}")


def master_state(
    address: str,
    timeout: float = DEFAULT_TIMEOUT,
    *,
    secret: str | None = None,
    tls: Tls | None = None,
) -> dict[str, Any]:
    """The master's ``/json``: status, workers, activeapps, activedrivers, ... (Spark's keys)."""
    status, body = _call(address, "/json", secret=secret, timeout=timeout, tls=tls)
    if status != 200:
        raise _unexpected(address, "/json", status, body)
    try:
        state = json.loads(body)
    except ValueError:
        raise ProbeError(
            f"master {address}: /json is not JSON: {one_line(body.decode(errors='replace'))}"
        ) from None
    if not isinstance(state, dict) or not isinstance(state.get("status"), str):
        raise ProbeError(f"master {address}: /json has no status; is this a minispark master?")
    return state


def master_ready(
    address: str,
    timeout: float = DEFAULT_TIMEOUT,
    *,
    secret: str | None = None,
    tls: Tls | None = None,
) -> bool:
    """``/readyz``: True when the master leads (ALIVE), False while it stands by or recovers."""
    status, body = _call(address, "/readyz", secret=secret, timeout=timeout, tls=tls)
    if status not in (200, 503):
        raise _unexpected(address, "/readyz", status, body)
    return status == 200


def probe_master(
    address: str,
    timeout: float = DEFAULT_TIMEOUT,
    *,
    secret: str | None = None,
    tls: Tls | None = None,
) -> dict[str, Any]:
    """``master_state``, or ``{"status": "UNREACHABLE", "reason": ...}``; never raises.

    Deployments sort masters into leader and standbys: one that does not answer is no leader.
    """
    try:
        return master_state(address, timeout, secret=secret, tls=tls)
    except ProbeError as exc:
        return {"status": UNREACHABLE, "reason": str(exc)}


def in_parallel(fn: Callable[[str], T], addresses: Iterable[str]) -> dict[str, T]:
    """``fn`` of every address at once: one silent host costs one timeout, not one each."""
    unique = list(dict.fromkeys(addresses))
    if not unique:
        return {}
    with ThreadPoolExecutor(max_workers=len(unique)) as pool:
        return dict(zip(unique, pool.map(fn, unique), strict=True))


def probe_masters(
    masters: Iterable[str],
    timeout: float = DEFAULT_TIMEOUT,
    *,
    secret: str | None = None,
    tls: Tls | None = None,
) -> dict[str, dict[str, Any]]:
    """``probe_master`` of each master, queried in parallel, in the order given."""
    return in_parallel(lambda m: probe_master(m, timeout, secret=secret, tls=tls), masters)


def leader_of(states: dict[str, dict[str, Any]]) -> str | None:
    """The one master whose state is ALIVE; None if none is; ProbeError if several are."""
    alive = [address for address, state in states.items() if state["status"] == ALIVE]
    if len(alive) > 1:
        raise ProbeError(
            f"{len(alive)} masters are ALIVE at once ({', '.join(alive)}): they must share "
            "spark.deploy.recoveryMode=ZOOKEEPER"
        )
    return alive[0] if alive else None


def describe_masters(states: dict[str, dict[str, Any]]) -> str:
    """``m1 STANDBY, m2 UNREACHABLE (why)``: for messages that say why there is no leader."""
    parts = []
    for address, state in states.items():
        reason = str(state.get("reason", "")).removeprefix(f"master {address}: ")
        parts.append(f"{address} {state['status']}" + (f" ({reason})" if reason else ""))
    return ", ".join(parts) or "no masters given"


def leading_state(
    masters: Iterable[str],
    timeout: float = DEFAULT_TIMEOUT,
    *,
    secret: str | None = None,
    tls: Tls | None = None,
) -> tuple[str, dict[str, Any]]:
    """The leader's address and ``/json``; ProbeError with every master's status if none leads."""
    states = probe_masters(masters, timeout, secret=secret, tls=tls)
    name = leader_of(states)
    if name is None:
        raise ProbeError(f"no master is ALIVE: {describe_masters(states)}")
    return name, states[name]


def leader(
    masters: Iterable[str],
    timeout: float = DEFAULT_TIMEOUT,
    *,
    secret: str | None = None,
    tls: Tls | None = None,
) -> str | None:
    """The address of the master that reports ALIVE, None if none does.

    A master that cannot be reached is not the leader. Several ALIVE masters (a cluster
    without ZooKeeper) are a ProbeError: no single one of them can be trusted with orders.
    """
    return leader_of(probe_masters(masters, timeout, secret=secret, tls=tls))


def alive_workers(state: dict[str, Any], host: str) -> list[dict[str, Any]]:
    """The ALIVE entries of ``state["workers"]`` whose host is ``host``."""
    return [
        worker
        for worker in state.get("workers", [])
        if worker.get("host") == host and worker.get("state") == ALIVE
    ]


def worker_registered(
    masters: Iterable[str],
    host: str,
    timeout: float = DEFAULT_TIMEOUT,
    *,
    secret: str | None = None,
    tls: Tls | None = None,
) -> dict[str, Any] | None:
    """The leader's entry for the ALIVE worker on ``host``; None if the leader has none.

    ProbeError if no master leads: then nobody can say whether the worker is registered.
    """
    found = alive_workers(leading_state(masters, timeout, secret=secret, tls=tls)[1], host)
    return found[0] if found else None


def decommission_worker(
    master_web: str,
    host: str,
    *,
    secret: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    tls: Tls | None = None,
) -> list[str]:
    """Decommission the ALIVE workers on ``host`` through ``POST /workers/kill?host=``.

    Returns the ids of the workers decommissioned; an empty list when there was none (already
    decommissioned, dead, or never registered), so that running it twice is harmless. Ask the
    leader: a standby knows no live workers.
    """
    path = "/workers/kill?" + urllib.parse.urlencode({"host": host})
    status, body = _call(master_web, path, method="POST", secret=secret, timeout=timeout, tls=tls)
    if status not in (200, 404):
        raise _unexpected(master_web, "/workers/kill", status, body)
    try:
        ids = json.loads(body)["decommissioned"]
    except (ValueError, KeyError, TypeError):
        raise _unexpected(master_web, "/workers/kill", status, body) from None
    return [str(worker_id) for worker_id in ids]


# ---- the whole cluster at once ---------------------------------------------------------


@dataclass(frozen=True)
class Reading:
    """One daemon as a probe saw it: its mode or status, or why there is none."""

    address: str
    state: str
    reason: str = ""


@dataclass(frozen=True)
class Snapshot:
    """The cluster at one moment. Workers, apps and drivers are the leader's (none without)."""

    zookeepers: list[Reading]
    masters: list[Reading]
    leader: str | None
    workers: list[dict[str, Any]]
    apps: list[dict[str, Any]]
    drivers: list[dict[str, Any]]
    # The history servers (``history.probe_history`` readings as dicts); none when not asked.
    history: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def problems(self, expected_workers: int | None = None) -> list[str]:
        """What keeps this cluster from being healthy, one sentence each (empty: healthy)."""
        found = [
            f"ZooKeeper {z.address} does not serve ({z.reason or z.state})"
            for z in self.zookeepers
            if z.state not in ("leader", "follower", "observer")
        ]
        if self.zookeepers and sum(z.state == "leader" for z in self.zookeepers) != 1:
            found.append("the ZooKeeper ensemble has no single leader")
        if self.masters and self.leader is None:
            found.append("no single master is ALIVE (" + describe(self.masters) + ")")
        alive = [w for w in self.workers if w.get("state") == ALIVE]
        if expected_workers is not None and self.leader and len(alive) != expected_workers:
            found.append(f"{len(alive)} of {expected_workers} workers are ALIVE")
        found += [
            f"history server {h['address']} is {h['state']} ({h['reason']})"
            for h in self.history
            if h.get("state") != HISTORY_UP
        ]
        return found


def describe(readings: Iterable[Reading]) -> str:
    return ", ".join(f"{r.address} {r.state}" for r in readings)


def _zookeeper_reading(address: str, timeout: float) -> Reading:
    try:
        return Reading(address, zookeeper_mode(address, timeout))
    except ProbeError as exc:
        return Reading(address, ZK_ERROR, str(exc))


def cluster_snapshot(
    masters: Iterable[str],
    zookeepers: Iterable[str],
    timeout: float = DEFAULT_TIMEOUT,
    *,
    secret: str | None = None,
    tls: Tls | None = None,
) -> Snapshot:
    """Every ZooKeeper member's mode and every master's status, and what the leader knows."""
    modes = in_parallel(lambda z: _zookeeper_reading(z, timeout), zookeepers)
    states = probe_masters(masters, timeout, secret=secret, tls=tls)
    alive = [address for address, state in states.items() if state["status"] == ALIVE]
    # With several ALIVE masters none is the leader: the table shows them all as ALIVE.
    lead = states[alive[0]] if len(alive) == 1 else {}
    return Snapshot(
        zookeepers=list(modes.values()),
        masters=[Reading(a, s["status"], s.get("reason", "")) for a, s in states.items()],
        leader=alive[0] if len(alive) == 1 else None,
        workers=list(lead.get("workers", [])),
        apps=list(lead.get("activeapps", [])),
        drivers=list(lead.get("activedrivers", [])),
    )

"""Master URLs: ``minispark://h1:7077,h2:7077`` (``spark://`` too) and ``local-cluster[N,C,M]``."""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_MASTER_PORT = 7077
_SCHEMES = ("minispark://", "spark://")
_LOCAL_CLUSTER = re.compile(r"local-cluster\[\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*\]")


class MasterUrlError(ValueError):
    """A master URL that cannot be understood; the message shows the accepted forms."""


@dataclass(frozen=True)
class LocalCluster:
    workers: int
    cores: int
    memory_mb: int


def _hint(url: str) -> str:
    return (
        f"invalid master URL {url!r}: use minispark://HOST:PORT[,HOST:PORT...] "
        "(spark:// also works) or local-cluster[WORKERS,CORES,MEMORY_MB]"
    )


def parse_local_cluster(url: str) -> LocalCluster | None:
    """The ``local-cluster[N,C,M]`` form, or None when the URL is not of that form."""
    match = _LOCAL_CLUSTER.fullmatch(url.strip())
    if not match:
        return None
    workers, cores, memory = (int(g) for g in match.groups())
    if workers < 1 or cores < 1 or memory < 1:
        raise MasterUrlError(f"{url!r}: workers, cores and memory must each be at least 1")
    return LocalCluster(workers, cores, memory)


def parse_master_url(url: str) -> list[tuple[str, int]]:
    """Every master address in a ``minispark://`` URL, in the order given."""
    text = url.strip()
    scheme = next((s for s in _SCHEMES if text.startswith(s)), None)
    if scheme is None:
        raise MasterUrlError(_hint(url))
    addresses = [_parse_address(part, url) for part in text[len(scheme) :].split(",")]
    if len(set(addresses)) != len(addresses):
        raise MasterUrlError(f"master URL {url!r} lists the same master twice")
    return addresses


def _parse_address(part: str, url: str) -> tuple[str, int]:
    host, sep, port_text = part.strip().rstrip("/").rpartition(":")
    if not sep:
        host, port_text = port_text, str(DEFAULT_MASTER_PORT)
    if not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise MasterUrlError(_hint(url))
    return host, int(port_text)


def format_master_url(addresses: list[tuple[str, int]]) -> str:
    return "minispark://" + ",".join(f"{h}:{p}" for h, p in addresses)


def parse_host_port(text: str) -> tuple[str, int]:
    """``host:port`` as used for driver and worker RPC addresses."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError(f"expected HOST:PORT, got {text!r}")
    return host, int(port)

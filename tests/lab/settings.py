"""Where the lab keeps its files and which network it uses."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

DEFAULT_CACHE = Path("/var/cache/minispark-lab")
LAB_NETWORK = IPv4Network("10.77.0.0/24")
LAB_GATEWAY = IPv4Address("10.77.0.1")


@dataclass(frozen=True)
class Settings:
    """Paths and network of one machine's lab.

    The cache (image, SSH key) outlives labs; the state dir describes the lab that is up now,
    so that `down` works from any process.
    """

    cache_dir: Path = DEFAULT_CACHE
    state_dir: Path = DEFAULT_CACHE / "run"
    bridge: str = "mslab0"
    network: IPv4Network = LAB_NETWORK
    gateway: IPv4Address = LAB_GATEWAY
    # Prefix of the cgroups made for hosts, so a person can tell them apart from others.
    cgroup_prefix: str = "minispark-lab-"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        """Settings with MINISPARK_LAB_CACHE / MINISPARK_LAB_STATE applied."""
        cache = Path(environ.get("MINISPARK_LAB_CACHE", str(DEFAULT_CACHE)))
        state = Path(environ.get("MINISPARK_LAB_STATE", str(cache / "run")))
        return cls(cache_dir=cache.absolute(), state_dir=state.absolute())

    @property
    def images_dir(self) -> Path:
        return self.cache_dir / "images"

    @property
    def key_file(self) -> Path:
        return self.cache_dir / "ssh" / "id_ed25519"

    @property
    def state_file(self) -> Path:
        return self.state_dir / "lab.json"

    @property
    def lock_file(self) -> Path:
        return self.state_dir / "lab.lock"

    @property
    def hosts_dir(self) -> Path:
        return self.state_dir / "hosts"

    @property
    def inventory_file(self) -> Path:
        return self.state_dir / "inventory.yml"

    def cgroup_name(self, host: str) -> str:
        return f"{self.cgroup_prefix}{host}"

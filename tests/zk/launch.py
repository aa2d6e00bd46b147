"""How one ensemble member is launched: Debian's jars, its JVM command line and its files.

Nothing under /etc/zookeeper or /var/lib/zookeeper is read or written: every member gets its
own zoo.cfg, log4j.properties and data directory, and runs QuorumPeerMain in the foreground.
"""

from __future__ import annotations

import random
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path

LOOPBACK = "127.0.0.1"
INSTALL_HINT = "apt-get update && apt-get install -y zookeeper"
MAIN_CLASS = "org.apache.zookeeper.server.quorum.QuorumPeerMain"

_JARS = Path("/usr/share/java")
# Debian's zkEnv.sh runs the server with only zookeeper.jar (plus /etc/zookeeper/conf); the
# jar's manifest Class-Path names the rest (jute, netty, jetty, slf4j-api, ...). It names no
# SLF4J binding, so the packaged server logs nothing. The binding and log4j 1.2, both
# dependencies of libzookeeper-java, are added so that each member writes a log file.
CLASSPATH = (_JARS / "zookeeper.jar", _JARS / "slf4j-log4j12.jar", _JARS / "log4j-1.2.jar")

# Milliseconds. A short tick makes elections and the detection of a lost leader or a lost
# quorum take about a second; initLimit and syncLimit count ticks.
TICK_MS = 200
INIT_LIMIT = 10
SYNC_LIMIT = 5
# The server clamps a client's session timeout into this range. The defaults (2 and 20
# ticks) would cap sessions at 4 s; HA tests use 2-6 s sessions to see expiry quickly, and
# 20-30 s ones to show that a takeover did not wait for an expiry.
MIN_SESSION_MS = 1000
MAX_SESSION_MS = 60000

JVM_OPTIONS = (
    # Three JVMs share two cores: a small serial-GC heap, and C1 only, which starts faster
    # and is plenty for a test workload.
    "-Xmx128m",
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
    # No /tmp/hsperfdata_* file, which a SIGKILL would leave behind.
    "-XX:-UsePerfData",
    "-Djava.net.preferIPv4Stack=true",
    # Transaction logs are preallocated in 64 MB steps by default; 1 MB is plenty here.
    "-Dzookeeper.preAllocSize=1024",
)


@dataclass(frozen=True)
class Ports:
    client: int
    peer: int
    election: int


QUORUM_USER = "zkquorum"


@dataclass(frozen=True)
class Sasl:
    """DIGEST-MD5 for clients (`clients`: name -> password) and between members.

    `learner_required` and `server_required` are the two halves of the quorum switch: the
    documented rolling upgrade turns on enableSasl everywhere first, then requires it.
    `enforce` refuses every request from a client session that did not authenticate.
    """

    clients: dict[str, str]
    quorum_password: str
    learner_required: bool = True
    server_required: bool = True
    enforce: bool = False


def problem() -> str | None:
    """Why members cannot be launched on this machine, in one line; None if they can."""
    missing = [tool for tool in ("java", "setpriv") if shutil.which(tool) is None]
    missing += [str(jar) for jar in CLASSPATH if not jar.is_file()]
    if not missing:
        return None
    return (
        f"a ZooKeeper ensemble needs Java and Debian's zookeeper package "
        f"(missing: {', '.join(missing)}); install them with `{INSTALL_HINT}`"
    )


def argv(member_dir: Path, sasl: bool = False) -> list[str]:
    """The command that runs the member whose files are in `member_dir`, in the foreground.

    With `sasl`, the JVM reads the member's jaas.conf (written by `jaas_conf`).
    """
    jaas = [f"-Djava.security.auth.login.config={member_dir / 'jaas.conf'}"] if sasl else []
    return [
        # The JVM is killed if the thread that started it dies, so a test run that is itself
        # killed (SIGKILL, os._exit on a hard timeout) leaves no JVM behind holding ports.
        "setpriv",
        "--pdeathsig",
        "KILL",
        "java",
        *JVM_OPTIONS,
        *jaas,
        f"-Dlog4j.configuration={(member_dir / 'log4j.properties').as_uri()}",
        "-cp",
        ":".join(str(jar) for jar in CLASSPATH),
        MAIN_CLASS,
        str(member_dir / "zoo.cfg"),
    ]


def zoo_cfg(
    data_dir: Path, client_port: int, servers: list[Ports], sasl: Sasl | None = None
) -> str:
    """The zoo.cfg of one member; `servers[i]` are the ports of the member with myid i + 1."""
    lines = [
        f"tickTime={TICK_MS}",
        f"initLimit={INIT_LIMIT}",
        f"syncLimit={SYNC_LIMIT}",
        f"minSessionTimeout={MIN_SESSION_MS}",
        f"maxSessionTimeout={MAX_SESSION_MS}",
        f"dataDir={data_dir}",
        f"clientPort={client_port}",
        f"clientPortAddress={LOOPBACK}",
        "admin.enableServer=false",
        "4lw.commands.whitelist=srvr,ruok,mntr,stat",
        # Even a one-member ensemble runs as a quorum, so its mode is "leader" as in production.
        "standaloneEnabled=false",
        # An fsync per write only adds latency here: a killed JVM's writes are in the page cache.
        "forceSync=no",
    ]
    if sasl is not None:
        lines += sasl_cfg(sasl)
    lines += [
        f"server.{myid}={LOOPBACK}:{ports.peer}:{ports.election}"
        for myid, ports in enumerate(servers, start=1)
    ]
    return "\n".join(lines) + "\n"


def sasl_cfg(sasl: Sasl) -> list[str]:
    """The zoo.cfg lines that turn on SASL, as the zookeeper role writes them."""
    lines = [
        "authProvider.sasl=org.apache.zookeeper.server.auth.SASLAuthenticationProvider",
        "quorum.auth.enableSasl=true",
        f"quorum.auth.learnerRequireSasl={str(sasl.learner_required).lower()}",
        f"quorum.auth.serverRequireSasl={str(sasl.server_required).lower()}",
    ]
    if sasl.enforce:
        lines += ["enforce.auth.enabled=true", "enforce.auth.schemes=sasl"]
    return lines


def jaas_conf(sasl: Sasl) -> str:
    """Server: the clients' accounts; QuorumServer/QuorumLearner: the members' account."""
    users = "".join(f'\n    user_{name}="{password}"' for name, password in sasl.clients.items())
    digest = "org.apache.zookeeper.server.auth.DigestLoginModule required"
    return (
        f"Server {{\n  {digest}{users};\n}};\n"
        f'QuorumServer {{\n  {digest}\n    user_{QUORUM_USER}="{sasl.quorum_password}";\n}};\n'
        f'QuorumLearner {{\n  {digest}\n    username="{QUORUM_USER}"\n'
        f'    password="{sasl.quorum_password}";\n}};\n'
    )


def log4j_properties(log_file: Path) -> str:
    # log4j 1.2 treats a backslash as an escape in .properties files; paths here have none.
    return (
        "log4j.rootLogger=INFO, FILE\n"
        "log4j.appender.FILE=org.apache.log4j.FileAppender\n"
        f"log4j.appender.FILE.File={log_file}\n"
        "log4j.appender.FILE.Append=true\n"
        "log4j.appender.FILE.layout=org.apache.log4j.PatternLayout\n"
        "log4j.appender.FILE.layout.ConversionPattern=%d{ISO8601} %-5p [%t] %c{1} - %m%n\n"
    )


def free_ports(count: int) -> list[int]:
    """`count` distinct loopback ports that are free now, outside the ephemeral range.

    A member's ports stay unbound while it is stopped; a port from the ephemeral range could
    meanwhile become the local end of some outgoing connection (the members' own reconnect
    attempts included) and make the restart fail to bind.
    """
    low, high = (int(n) for n in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    candidates = [port for port in range(10000, 65536) if not low <= port <= high]
    random.SystemRandom().shuffle(candidates)
    chosen: list[int] = []
    for port in candidates:
        if len(chosen) == count:
            break
        with socket.socket() as sock:
            try:
                sock.bind((LOOPBACK, port))
            except OSError:
                continue
        chosen.append(port)
    if len(chosen) < count:
        raise RuntimeError(f"found only {len(chosen)} of {count} free loopback ports")
    return chosen

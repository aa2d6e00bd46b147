"""Which event log ``spark.eventLog.*`` asks for: a file through fsspec, or one sent to a
history server when ``spark.eventLog.dir`` is an http(s) URL.

fsspec's HTTP filesystem is read-only, so such a URL cannot mean a directory to write
into; it means the history server itself, which a driver can reach from anywhere with the
secret and ca.pem it already has (see remotelog.py).
"""

from __future__ import annotations

from ..conf import Conf, ConfError
from ..security import security_from_conf
from .eventlog import EventLogWriter
from .ingestclient import IngestClient
from .remotelog import RemoteEventLog

EventLog = EventLogWriter | RemoteEventLog


def from_conf(conf: Conf) -> EventLog | None:
    """The writer ``spark.eventLog.*`` asks for (its destination checked), or None."""
    if not conf.get_bool("spark.eventLog.enabled"):
        return None
    directory = (conf.get("spark.eventLog.dir") or "").strip()
    if not directory:
        raise ConfError(
            "spark.eventLog.enabled is true but spark.eventLog.dir is not set: set it to a "
            "directory path, an fsspec URL (s3://bucket/prefix) or a history server's "
            "http(s)://host:port"
        )
    compress = conf.get_bool("spark.eventLog.compress")
    if directory.lower().startswith(("http://", "https://")):
        return _remote(conf, directory, compress)
    writer = EventLogWriter(directory, compress=compress)
    writer.check()
    return writer


def _remote(conf: Conf, url: str, compress: bool) -> RemoteEventLog:
    security = security_from_conf(conf)  # the secret and CA the driver uses for the master
    try:
        client = IngestClient(url, security.keyring, security.client_ssl)
    except ValueError as exc:
        raise ConfError(f"spark.eventLog.dir: {exc}") from None
    writer = RemoteEventLog(client, compress=compress)
    writer.check()  # a refusal is a warning: the job runs without its log
    return writer

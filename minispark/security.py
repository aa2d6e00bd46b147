"""Turn the authentication and TLS settings into what the transport needs."""

from __future__ import annotations

from .conf import Conf, ConfError
from .rpc import Security, tls_contexts, web_tls_context


def security_from_conf(conf: Conf) -> Security:
    secret = conf.secret() if conf.get_bool("spark.authenticate") else None
    if not conf.get_bool("minispark.ssl.enabled"):
        return Security(secret=secret)
    cert = conf.get("minispark.ssl.certFile")
    key = conf.get("minispark.ssl.keyFile")
    if not cert or not key:
        raise ConfError(
            "minispark.ssl.enabled is true but minispark.ssl.certFile or minispark.ssl.keyFile "
            "is missing: set both to PEM files"
        )
    try:
        server, client = tls_contexts(cert, key, conf.get("minispark.ssl.caFile"))
        web = web_tls_context(cert, key)
    except (OSError, ValueError) as exc:
        raise ConfError(f"minispark.ssl: cannot load the PEM files ({exc})") from exc
    return Security(secret=secret, server_ssl=server, client_ssl=client, web_ssl=web)

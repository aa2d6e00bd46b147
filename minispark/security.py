"""Turn the authentication and TLS settings into what the transport needs.

Clients are easy to set up: a process with a secret configured authenticates unless
``spark.authenticate`` says otherwise, and one with ``minispark.ssl.caFile`` set speaks TLS
unless ``minispark.ssl.enabled`` says otherwise. So a driver outside the cluster needs the
secret file and ``ca.pem`` and nothing else. Daemons also need their certificate and key
with TLS on (``rpc.Server.start`` says so); a driver serves with an ephemeral one.
"""

from __future__ import annotations

from . import tls
from .conf import Conf, ConfError
from .keyring import Keyring
from .rpc import Security


def auth_enabled(conf: Conf) -> bool:
    if conf.contains("spark.authenticate"):
        return conf.get_bool("spark.authenticate")
    return bool(conf.get("spark.authenticate.secret") or conf.get("spark.authenticate.secret.file"))


def tls_enabled(conf: Conf) -> bool:
    if conf.contains("minispark.ssl.enabled"):
        return conf.get_bool("minispark.ssl.enabled")
    return bool((conf.get("minispark.ssl.caFile") or "").strip())


def keyring_from_conf(conf: Conf) -> Keyring | None:
    if not auth_enabled(conf):
        return None
    keyring = conf.keyring()
    if keyring is None:
        raise ConfError(
            "spark.authenticate=true needs spark.authenticate.secret or "
            "spark.authenticate.secret.file"
        )
    return keyring


def security_from_conf(conf: Conf) -> Security:
    keyring = keyring_from_conf(conf)
    if not tls_enabled(conf):
        return Security(keyring=keyring)
    cert = (conf.get("minispark.ssl.certFile") or "").strip() or None
    key = (conf.get("minispark.ssl.keyFile") or "").strip() or None
    ca = (conf.get("minispark.ssl.caFile") or "").strip() or None
    if ca is None:
        raise ConfError(
            "minispark.ssl.enabled is true but minispark.ssl.caFile is unset: set it to the "
            "cluster's ca.pem, which servers' certificates are verified against"
        )
    if (cert is None) != (key is None):
        missing = "minispark.ssl.keyFile" if cert else "minispark.ssl.certFile"
        raise ConfError(
            f"{missing} is unset: minispark.ssl.certFile and minispark.ssl.keyFile go together"
        )
    client = tls.client_context()
    server = tls.server_context() if cert else None
    web = tls.web_context() if cert else None
    files = tls.CertFiles(
        cert,
        key,
        ca,
        identity=[c for c in (server, web) if c is not None],
        trust=[c for c in (server, client) if c is not None],
    )
    try:
        files.load()
    except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
        raise ConfError(f"minispark.ssl: cannot load the PEM files ({exc})") from exc
    if web is not None:
        web.sni_callback = files.sni_refresh
    return Security(keyring=keyring, server_ssl=server, client_ssl=client, web_ssl=web, files=files)


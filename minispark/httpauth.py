"""Who may use the web ports: the cluster secret, as a Bearer token or a Basic password.

With ``spark.authenticate`` on, every page needs the secret (the JSON and the log pages show
user data, the forms and the REST API act), except the probes that load balancers and
Prometheus poll, which ``minispark.ui.authenticate=true`` closes too. Scripts send
``Authorization: Bearer <secret>``; a browser, asked by the ``WWW-Authenticate`` header of a
401, sends HTTP Basic with the secret as the password (the user name is ignored). A secret in
a URL is never looked at: URLs end up in logs, histories and Referer headers.

Because a browser replays Basic credentials on its own, a form posted from another site
would carry them too; a POST authenticated by Basic must therefore come from our own pages.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from aiohttp import hdrs, web
from aiohttp.typedefs import Middleware

from .conf import Conf
from .keyring import Keyring
from .security import auth_enabled
from .webport import RefusalLog, peer_name

PROBES = frozenset({"/healthz", "/readyz", "/metrics"})
CHALLENGE = 'Basic realm="minispark"'
HOW = "send the cluster secret as 'Authorization: Bearer <secret>' or as the HTTP Basic password"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class HttpAuth:
    """What the web port asks of a request: nothing, or one of the keyring's secrets."""

    enabled: bool = False
    keyring: Keyring | None = None  # None with ``enabled``: no secret set, nobody gets in
    probes_open: bool = True

    @classmethod
    def from_conf(cls, conf: Conf) -> HttpAuth:
        if not auth_enabled(conf):  # the same rule as RPC: a secret alone turns it on
            return cls()
        return cls(
            enabled=True,
            keyring=conf.keyring(),
            probes_open=not conf.get_bool("minispark.ui.authenticate"),
        )


@dataclass(frozen=True)
class Credentials:
    secret: bytes
    basic: bool  # sent by a browser on its own: may not post from another site


def credentials(header: str | None) -> Credentials | None:
    """The secret an ``Authorization`` header carries; None when it carries none we take."""
    scheme, _, value = (header or "").strip().partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return Credentials(value.strip().encode("utf-8"), basic=False)
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True)
        except (binascii.Error, ValueError):
            return None
        _, colon, password = decoded.partition(b":")
        return Credentials(password, basic=True) if colon and password else None
    return None


def accepted(keyring: Keyring, secret: bytes) -> bool:
    """Whether ``secret`` is one of ours, comparing against each in constant time."""
    found = False
    for ours in keyring.secrets():
        found |= hmac.compare_digest(ours, secret)  # no early exit: time says nothing
    return found


def refusal(auth: HttpAuth, request: web.Request) -> tuple[int, str] | None:
    """(status, reason) to turn ``request`` away with, or None to let it through."""
    if not auth.enabled or (auth.probes_open and request.path in PROBES):
        return None
    if auth.keyring is None:
        return 401, "spark.authenticate is on but this daemon has no secret set"
    given = credentials(request.headers.get(hdrs.AUTHORIZATION))
    if given is None:
        malformed = hdrs.AUTHORIZATION in request.headers
        return 401, "unusable Authorization header" if malformed else "no credentials"
    if not accepted(auth.keyring, given.secret):
        return 401, "wrong secret"
    if given.basic and request.method not in SAFE_METHODS and _cross_site(request):
        return 403, "a browser's form post from another site"
    return None


def _cross_site(request: web.Request) -> bool:
    """Browsers name the page a POST comes from (Origin, Sec-Fetch-Site); ours is ours."""
    origin = request.headers.get(hdrs.ORIGIN)
    if origin is not None:
        return origin == "null" or urlsplit(origin).netloc.lower() != request.host.lower()
    return request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none")


def _refused(request: web.Request, status: int, reason: str) -> web.Response:
    text = f"{reason}: {HOW}"
    headers = {hdrs.WWW_AUTHENTICATE: CHALLENGE} if status == 401 else {}
    if request.path.startswith("/v1/"):  # Spark's REST clients read an ErrorResponse
        body = {"action": "ErrorResponse", "success": False, "message": text}
        return web.json_response(body, status=status, headers=headers)
    return web.Response(status=status, text=text + "\n", headers=headers)


def middleware(auth: HttpAuth, refusals: RefusalLog | None = None) -> Middleware:
    """The check as aiohttp middleware: one place for every route of a web port."""
    log = refusals or RefusalLog()

    @web.middleware
    async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
        refused = refusal(auth, request)
        if refused is None:
            return await handler(request)
        status, reason = refused
        peer = peer_name(
            request.transport.get_extra_info("peername") if request.transport else None
        )
        log.refused(peer, reason, f" ({request.method} {request.path})")
        return _refused(request, status, reason)

    return authenticate

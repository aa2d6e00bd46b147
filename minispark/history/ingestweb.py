"""The ingest API on the history server's web port (behind its auth and TLS, as every page):

- ``GET /eventlogs`` says whether this server takes logs (a driver checks it at start);
- ``POST /eventlogs/<name>?offset=N`` appends the body at byte N of ``<logDirectory>/<name>``:
  200 with the new size, or 409 with the current size when N is not it;
- ``POST /eventlogs/<name>/complete`` gives an ``.inprogress`` log its final name.

Every answer is JSON with a one-line ``message`` when something is refused.
"""

from __future__ import annotations

from aiohttp import web

from .ingest import Ingest, IngestError

INGEST_KEY = web.AppKey("history-ingest", Ingest)
MAX_BODY = 16 << 20  # a driver sends at most a few MiB at once; more is not a driver


def _error(exc: IngestError) -> web.Response:
    body: dict[str, object] = {"message": str(exc)}
    if exc.size is not None:
        body["size"] = exc.size
    return web.json_response(body, status=exc.status)


def _offset(request: web.Request) -> int:
    raw = request.query.get("offset")
    if raw is None or not raw.isdigit():
        shown = "missing" if raw is None else repr(raw[:40])
        raise IngestError(400, f"offset is {shown}: pass ?offset=<the log's size in bytes>")
    return int(raw)


async def _body(request: web.Request) -> bytes:
    """The request body, refused past MAX_BODY before it is read when the length says so."""
    too_big = IngestError(
        413, f"a chunk of an event log is at most {MAX_BODY} bytes: send it in smaller chunks"
    )
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise too_big
    data = bytearray()
    async for chunk in request.content.iter_chunked(1 << 16):
        data += chunk
        if len(data) > MAX_BODY:
            raise too_big
    return bytes(data)


async def status(request: web.Request) -> web.Response:
    ingest = request.app[INGEST_KEY]
    if ingest.root is None:
        return _error(IngestError(400, ingest.refused or "this server takes no event logs"))
    return web.json_response({"ingest": True, "maxBody": MAX_BODY})


async def append(request: web.Request) -> web.Response:
    try:
        offset = _offset(request)
        data = await _body(request)
        done = await request.app[INGEST_KEY].append(request.match_info["name"], offset, data)
    except IngestError as exc:
        return _error(exc)
    return web.json_response({"size": done.size})


async def complete(request: web.Request) -> web.Response:
    try:
        await request.app[INGEST_KEY].complete(request.match_info["name"])
    except IngestError as exc:
        return _error(exc)
    return web.json_response({"complete": True})


def ingest_routes() -> list[web.RouteDef]:
    return [
        web.get("/eventlogs", status),
        web.post("/eventlogs/{name}", append),
        web.post("/eventlogs/{name}/complete", complete),
    ]

"""Spark's REST submission protocol on the master's web port: /v1/submissions/...

``create`` takes Spark's ``CreateSubmissionRequest`` (``appResource``, ``appArgs``,
``sparkProperties``) plus ``files``, the program and helpers as base64 (there is no shared
filesystem to name them in). Unlike Spark's REST server, which has no authentication, it
requires the cluster secret whenever ``spark.authenticate`` is on (the web port's middleware,
httpauth.py, checks it before any of these handlers runs).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from aiohttp import web

from .. import __version__
from ..appconf import driver_description
from ..conf import Conf
from ..protocol import DriverDescription
from .view import MasterActions

ACTIONS_KEY = web.AppKey("rest-actions", MasterActions)


def _reply(action: str, status: int = 200, **fields: Any) -> web.Response:
    body = {"action": action, "serverSparkVersion": __version__, **fields}
    return web.json_response(body, status=status)


def _error(message: str, status: int = 400) -> web.Response:
    return _reply(
        "ErrorResponse", status, success=False, message=message, highestProtocolVersion="v1"
    )


def description(body: dict[str, Any]) -> DriverDescription:
    """Spark's request, validated the way Spark validates it; ValueError names the field."""
    props = body.get("sparkProperties") or {}
    if not isinstance(props, dict) or not props.get("spark.app.name"):
        raise ValueError("sparkProperties must include spark.app.name")
    main = str(body.get("appResource") or "")
    files_in = body.get("files") or {}
    try:
        files = {str(k): base64.b64decode(v, validate=True) for k, v in dict(files_in).items()}
    except (binascii.Error, TypeError, ValueError) as exc:
        raise ValueError(f"files must map names to base64 contents ({exc})") from exc
    if main not in files:
        raise ValueError("appResource must name one of the uploaded files")
    conf = Conf({str(k): str(v) for k, v in props.items()})
    args = [str(a) for a in body.get("appArgs") or []]
    return driver_description(conf, main=main, args=args, files=files)  # ConfError: ValueError


async def create(request: web.Request) -> web.Response:
    try:
        body = await request.json()
        desc = description(body if isinstance(body, dict) else {})
    except ValueError as exc:  # also malformed JSON
        return _error(f"malformed request: {exc}")
    reply = request.app[ACTIONS_KEY].submit_driver(desc)
    return _reply(
        "CreateSubmissionResponse",
        success=reply.success,
        message=reply.message,
        submissionId=reply.driver_id,
    )


async def kill(request: web.Request) -> web.Response:
    driver_id = request.match_info["id"]
    reply = request.app[ACTIONS_KEY].kill_driver(driver_id)
    return _reply(
        "KillSubmissionResponse",
        success=reply.success,
        message=reply.message,
        submissionId=driver_id,
    )


async def status(request: web.Request) -> web.Response:
    driver_id = request.match_info["id"]
    reply = request.app[ACTIONS_KEY].driver_status(driver_id)
    return _reply(
        "SubmissionStatusResponse",
        success=reply.found,
        submissionId=driver_id,
        driverState=reply.state,
        workerId=reply.worker_id,
        workerHostPort=reply.worker_host_port,
        message=reply.message,
    )


def routes(app: web.Application, actions: MasterActions) -> list[web.RouteDef]:
    app[ACTIONS_KEY] = actions
    return [
        web.post("/v1/submissions/create", create),
        web.post("/v1/submissions/kill/{id}", kill),
        web.get("/v1/submissions/status/{id}", status),
    ]

"""Errors as JSON: the one place where domain errors and HTTP errors become the envelope.

Every error leaves the API as ``{"error": {"code", "message", "field"?}}`` with a fitting
status: never an HTML page, never a traceback. The WebSocket endpoint is skipped (a
middleware cannot change a WebSocket response once it is prepared).
"""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Awaitable, Callable

from aiohttp import web

from backend.domain.errors import DomainError
from backend.keys import REQUEST_ID

log = logging.getLogger(__name__)

# Request ids: a random per-process prefix and a counter (uuid4 per request costs a
# getrandom syscall on the webhook hot path); 16 hex characters, unique per process.
_REQUEST_ID_PREFIX = os.urandom(4).hex()
_request_numbers = itertools.count(1)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

HTTP_CODES = {
    400: ("malformed", "The request could not be read."),
    401: ("unauthorized", "A valid agent token is required (Authorization: Bearer …)."),
    403: ("forbidden", "You are not allowed to do this."),
    404: ("not_found", "There is nothing at this address."),
    405: ("method_not_allowed", "This address does not accept that method."),
    409: ("conflict", "That cannot be done in the current state."),
    413: ("too_large", "The request body is too large."),
    415: ("unsupported_media_type", "The request body has an unsupported content type."),
    422: ("invalid_field", "A field has an invalid value."),
    429: ("limit_reached", "A limit has been reached."),
}


def error_response(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


@web.middleware
async def request_id_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    request_id = request.headers.get("X-Request-Id") or (
        f"{_REQUEST_ID_PREFIX}{next(_request_numbers) & 0xFFFFFFFF:08x}"
    )
    request[REQUEST_ID] = request_id
    response = await handler(request)
    if not response.prepared:
        response.headers["X-Request-Id"] = request_id
    return response


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except DomainError as exc:
        return web.json_response({"error": exc.to_dict()}, status=exc.status)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        if exc.content_type == "application/json":
            raise
        code, message = HTTP_CODES.get(exc.status, ("http_error", exc.reason))
        if exc.status == 413:
            message = f"The request body is too large (limit {request.app._client_max_size} bytes)."  # noqa: SLF001
        return error_response(exc.status, code, message)
    except ConnectionResetError:
        # the client hung up before its request was read: no one is left to answer
        log.debug("client gone during %s %s", request.method, request.path)
        return error_response(400, "client_gone", "The connection was closed mid-request.")
    except Exception:
        log.exception("unhandled error in %s %s", request.method, request.path)
        return error_response(
            500,
            "internal_error",
            "Something went wrong on the server; it has been logged "
            f"(request {request.get(REQUEST_ID, '?')}).",
        )

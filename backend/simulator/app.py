"""`create_simulator_app(config)`: the simulator as an aiohttp application."""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import AsyncIterator

from aiohttp import web
from aiohttp.typedefs import Handler

from . import control, graph
from .config import SimulatorConfig
from .errors import GraphError, token_error, unknown_object, unknown_path
from .keys import SIMULATOR
from .simulator import Simulator

GRAPH_PATH = re.compile(r"^/v\d+\.\d+/")
MEDIA_DOWNLOAD_PATH = "/whatsapp_business/attachments/"
MAX_UPLOAD_BYTES = 101 * 1024 * 1024


def _is_graph_call(path: str) -> bool:
    return bool(GRAPH_PATH.match(path)) or path == MEDIA_DOWNLOAD_PATH


def _bearer_token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.query.get("access_token")


def _unmatched(request: web.Request, exc: web.HTTPException) -> GraphError:
    """Meta's answer to a path it does not serve: an unknown edge is code 2500, a method
    an object does not support is the GraphMethodException of an unknown object."""
    parts = [p for p in GRAPH_PATH.sub("/", request.path).split("/") if p]
    if isinstance(exc, web.HTTPMethodNotAllowed) and parts:
        return unknown_object(parts[0], request.method)
    rest = "/" + "/".join(parts[1:]) if len(parts) > 1 else request.path
    return unknown_path(rest)


@web.middleware
async def graph_api(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Token check, injected faults and Meta's error shape for every Graph API call."""
    if request.path.startswith("/_sim/"):
        return await handler(request)
    if not _is_graph_call(request.path):
        try:
            return await handler(request)
        except (web.HTTPNotFound, web.HTTPMethodNotAllowed) as exc:
            return _unmatched(request, exc).response()
    sim = request.app[SIMULATOR]
    faults = sim.state.faults
    try:
        if faults.token_expired:
            raise token_error(expired=True)
        if _bearer_token(request) != sim.config.access_token:
            raise token_error(expired=False)
        if faults.latency_ms:
            await asyncio.sleep(faults.latency_ms / 1000)
        hang = sim.roll(faults.timeout_rate)
        scripted = sim.take_scripted_failure(request)
        if scripted is not None:
            if scripted.kind == "timeout":
                hang = True
            elif scripted.kind == "token_expired":
                raise token_error(expired=True)
            elif scripted.kind == "rate_limit":
                raise GraphError(130429, scripted.details, http_status=429)
            elif scripted.kind == "5xx":
                status = scripted.http_status if scripted.http_status >= 500 else 500
                raise GraphError(scripted.code, scripted.details, http_status=status)
            else:
                raise GraphError(scripted.code, scripted.details, http_status=scripted.http_status)
        if sim.roll(faults.rate_limit_rate):
            raise GraphError(130429, "Cloud API message throughput has been reached.")
        if sim.roll(faults.error_rate_5xx):
            raise GraphError(131000, "Something went wrong (simulated fault).", http_status=500)
        try:
            response = await handler(request)
        except (web.HTTPNotFound, web.HTTPMethodNotAllowed) as exc:
            raise _unmatched(request, exc) from exc
        if hang:
            # The call took effect (a send is accepted and its statuses follow); the
            # answer comes too late for the client, which sees an ambiguous timeout.
            await asyncio.sleep(faults.timeout_hang_s)
        return response
    except GraphError as exc:
        return exc.response()


async def simulator_context(app: web.Application) -> AsyncIterator[None]:
    sim = app[SIMULATOR]
    await sim.start()
    yield
    await sim.stop()


def create_simulator_app(config: SimulatorConfig | None = None) -> web.Application:
    config = config or SimulatorConfig()
    app = web.Application(
        middlewares=[graph_api, control.control_errors], client_max_size=MAX_UPLOAD_BYTES
    )
    app[SIMULATOR] = Simulator(config)
    app.add_routes(graph.routes)
    app.add_routes(control.routes)
    app.cleanup_ctx.append(simulator_context)
    return app


def run_simulator(config: SimulatorConfig, sock: socket.socket | None = None) -> None:
    """Serve until interrupted (the CLI's `ttydesk simulator`), on ``sock`` if given."""
    if sock is not None:
        web.run_app(create_simulator_app(config), sock=sock, print=None)
        return
    web.run_app(create_simulator_app(config), host=config.host, port=config.port, print=None)

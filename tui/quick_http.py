"""A plain HTTP/1.1 GET over asyncio streams, for the inbox's first requests.

httpx (with httpcore, anyio and idna) costs the inbox's start some 100 ms of CPU before its
first request leaves: loading it, making its client and its first request's lazy imports.
The first frame needs only a few GETs (the agent, the agents, the views, the first page of
the list), so ``ApiClient`` sends those with this module and loads httpx after the first
frame. One connection per request (``Connection: close``), no redirects followed (httpx
follows none either), no proxy, plain ``http`` only: where httpx would do more (``https``, a
proxy in the environment), ``usable`` says no and httpx is used from the start.
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

PROXY_VARIABLES = ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY")
MAX_HEADER_BYTES = 64 * 1024


class QuickHttpError(Exception):
    """The server was not reached, or what came back is not HTTP (``timeout`` says which)."""

    def __init__(self, reason: str, *, timeout: bool = False) -> None:
        super().__init__(reason)
        self.timeout = timeout


@dataclass(frozen=True)
class QuickResponse:
    """What ``ApiClient`` reads of a response: the status, the body, the body as JSON, the
    headers (names in lower case)."""

    status_code: int
    content: bytes
    headers: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.content)


def usable(base_url: str, token: str) -> bool:
    """Whether a GET to ``base_url`` is one this module sends as httpx would."""
    if urlsplit(base_url).scheme != "http" or any(os.environ.get(v) for v in PROXY_VARIABLES):
        return False
    return token.isascii() and token.isprintable()  # httpx refuses others in a header


async def get(
    base_url: str, path: str, params: dict[str, Any], token: str, timeout: float
) -> QuickResponse:
    """``GET base_url + path?params``; raises ``QuickHttpError`` when no response comes."""
    parts = urlsplit(base_url)
    host, port = parts.hostname or "", parts.port or 80
    target = parts.path + path + (f"?{urlencode(params)}" if params else "")
    head = (
        f"GET {target} HTTP/1.1\r\nHost: {parts.netloc}\r\nAuthorization: Bearer {token}\r\n"
        "User-Agent: ttydesk-tui\r\nAccept: */*\r\nAccept-Encoding: identity\r\n"
        "Connection: close\r\n\r\n"
    )
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(head.encode("ascii"))
            return await _read_response(reader)
    except TimeoutError as exc:
        raise QuickHttpError("timed out", timeout=True) from exc
    except (OSError, ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
        raise QuickHttpError(str(exc).strip() or type(exc).__name__) from exc
    finally:
        if writer is not None:
            writer.close()


async def _read_response(reader: asyncio.StreamReader) -> QuickResponse:
    head = await reader.readuntil(b"\r\n\r\n")
    if len(head) > MAX_HEADER_BYTES:
        raise ValueError("response headers too large")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    version, _, rest = status_line.partition(" ")
    if not version.startswith("HTTP/1.") or not rest[:3].isdigit():
        raise ValueError(f"not an HTTP response: {status_line[:40]!r}")
    headers: dict[str, str] = {}
    for line in lines:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    if headers.get("content-encoding", "identity").lower() != "identity":
        raise ValueError(f"unasked-for content encoding {headers['content-encoding']!r}")
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = await _read_chunked(reader)
    elif "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    else:
        body = await reader.read()  # until the server closes the connection
    return QuickResponse(int(rest[:3]), body, headers)


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    body = bytearray()
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0].strip(), 16)
        if size == 0:
            while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers
                pass
            return bytes(body)
        body += await reader.readexactly(size)
        await reader.readexactly(2)

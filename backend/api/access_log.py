"""The request log of ``ttydesk serve``: every request at INFO, but for Meta's webhooks
answered 2xx.

A help desk takes a webhook for every message and every status, thousands a minute at
peak, and each line of aiohttp's access log costs its loop more CPU than the rest of the
webhook's handling on it together (+135 µs a webhook, ~+35 % of the whole server's CPU
per message: tests/bench/ingest_cpu.py with ``--access-log``). The stored message is the
record of an accepted webhook; a refused or failed one (4xx, 5xx) is still logged.
"""

from __future__ import annotations

from aiohttp.abc import BaseRequest
from aiohttp.web import StreamResponse
from aiohttp.web_log import AccessLogger

WEBHOOK_PREFIX = "/webhooks/"


class RequestLog(AccessLogger):
    """aiohttp's access log, without the accepted webhooks."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        if response.status < 300 and request.path.startswith(WEBHOOK_PREFIX):
            return
        super().log(request, response, time)

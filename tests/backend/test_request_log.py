"""The request log ``ttydesk serve`` keeps (``backend/api/access_log.py``): every request,
but for Meta's webhooks it accepted."""

from __future__ import annotations

import asyncio
import logging

import httpx
from aiohttp import web

from backend import cli
from backend.api.access_log import RequestLog
from backend.app import create_app
from backend.whatsapp.webhook import sign
from tests.support import LiveBackend, listening_socket

EMPTY_NOTIFICATION = b'{"object":"whatsapp_business_account","entry":[]}'


def access_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "aiohttp.access"]


async def test_the_log_leaves_out_accepted_webhooks_and_keeps_everything_else(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="aiohttp.access")
    listener = listening_socket()
    backend = LiveBackend(tmp_path, port=listener.getsockname()[1])
    # serve's runner: as LiveBackend.start, with serve's request log
    app = create_app(backend.settings)
    runner = web.AppRunner(app, handle_signals=False, access_log_class=RequestLog)
    await runner.setup()
    await web.SockSite(runner, listener).start()
    secret = backend.settings.whatsapp_app_secret.get_secret_value()
    try:
        async with httpx.AsyncClient(base_url=backend.url, timeout=10.0) as client:
            accepted = await client.post(
                "/webhooks/whatsapp",
                content=EMPTY_NOTIFICATION,
                headers={"X-Hub-Signature-256": sign(secret, EMPTY_NOTIFICATION)},
            )
            refused = await client.post(
                "/webhooks/whatsapp",
                content=EMPTY_NOTIFICATION,
                headers={"X-Hub-Signature-256": "sha256=" + "0" * 64},
            )
            health = await client.get("/healthz")
            assert (accepted.status_code, refused.status_code, health.status_code) == (
                200,
                401,
                200,
            )
            # each line is written once its response is: wait for the last request's
            async with asyncio.timeout(10):
                while not any("/healthz" in line for line in access_lines(caplog)):
                    await asyncio.sleep(0.01)
    finally:
        await runner.cleanup()
    webhook_lines = [line for line in access_lines(caplog) if "/webhooks/whatsapp" in line]
    assert len(webhook_lines) == 1 and '" 401 ' in webhook_lines[0]
    assert any('"GET /healthz' in line and '" 200 ' in line for line in access_lines(caplog))


def test_serve_logs_requests_with_that_log(monkeypatch, tmp_path):
    served = []
    monkeypatch.setattr(web, "run_app", lambda app, **kw: served.append(kw))
    monkeypatch.setenv("TTYDESK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TTYDESK_WHATSAPP_APP_SECRET", "s3cr3t")
    assert cli.main(["serve"]) == 0
    assert served[0]["access_log_class"] is RequestLog

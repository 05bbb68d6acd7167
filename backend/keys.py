"""Typed keys for what the application and each request carry."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from backend.config import Settings
    from backend.hub import Hub
    from backend.schemas import Agent
    from backend.store import Store

SETTINGS: web.AppKey[Settings] = web.AppKey("settings")
STORE: web.AppKey[Store] = web.AppKey("store")
HUB: web.AppKey[Hub] = web.AppKey("hub")
WEBSOCKETS: web.AppKey[set[web.WebSocketResponse]] = web.AppKey("websockets")
# services added by the WhatsApp channel (graph client, outbox, media fetcher) live here
SERVICES: web.AppKey[dict[str, Any]] = web.AppKey("services")

AGENT: web.RequestKey[Agent] = web.RequestKey("agent")
REQUEST_ID: web.RequestKey[str] = web.RequestKey("request_id")

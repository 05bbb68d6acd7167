"""WhatsApp as a channel (``backend/channels.py``): the inbound and outbound workers."""

from __future__ import annotations

from aiohttp import web

from backend.schemas import ChannelType
from backend.whatsapp.outbound_service import setup_outbound
from backend.whatsapp.service import setup_inbound


class WhatsAppChannel:
    type = ChannelType.whatsapp

    def attach(self, app: web.Application) -> None:
        setup_inbound(app)  # the ingestor, the media fetcher, pruning early statuses
        setup_outbound(app)  # the Graph API client, the outbox worker

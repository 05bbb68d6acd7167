"""The channel boundary: what a way of reaching customers implements.

WhatsApp (``backend/whatsapp/``) is the one channel today; e-mail (issue 18) is to be a
second implementation of this boundary, not branches inside WhatsApp's code. A channel:

- **receives**: turns what arrives (a signed webhook; a forwarded or fetched mail) into
  the store's changes (``backend.store``: ``InboundRecord``, ``StatusRecord``, …) and
  hands them to ``Store.ingest``. Everything that needs no database (the kind, the
  content policy, the subject) is decided before, on the event loop; a channel never
  writes SQL nor imports more of the store than its face.
- **sends**: ``Store.send_message`` checks the rules and queues what an agent asked in the
  outbox, as a channel-neutral ``OutboundRequest`` (``backend.store``); the channel's
  worker claims due jobs (``Store.claim_outbox``), builds its provider's request from
  each (WhatsApp: ``whatsapp/graph_bodies.py``), delivers them, and says what happened
  (``outbox_sent``, ``outbox_retry_later``, ``outbox_ambiguous``, ``outbox_failed``):
  each message at most once, an unknown outcome flagged for the agent, never resent on
  its own.
- **runs** its workers for the app's lifetime (``attach``). Its HTTP endpoints (a
  webhook) are handlers in ``backend/api/``, registered in ``backend/app.py``: a channel
  never imports the API (import-linter checks it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from aiohttp import web

    from backend.schemas import ChannelType


@runtime_checkable
class Channel(Protocol):
    @property
    def type(self) -> ChannelType:
        """The channel type its threads and views carry."""
        ...

    def attach(self, app: web.Application) -> None:
        """Add the channel's workers to the app (cleanup contexts: started after the
        store opens, stopped before it closes)."""
        ...

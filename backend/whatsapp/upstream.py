"""Graph API failures of interactive calls (wizard, template sync) as API errors."""

from __future__ import annotations

from backend.domain.errors import DomainError, Upstream, UpstreamTimeout
from backend.store import Store
from backend.whatsapp.errors import plain_error
from backend.whatsapp.graph import GraphError, GraphTimeout, GraphUnreachable


async def upstream_error(
    store: Store | None,
    exc: GraphError | GraphTimeout | GraphUnreachable,
    *,
    channel_id: int | None = None,
) -> DomainError:
    """The error to answer with; a token error (190) also marks the channel unhealthy."""
    if isinstance(exc, GraphTimeout):
        return UpstreamTimeout("WhatsApp did not answer in time; try again.")
    if isinstance(exc, GraphUnreachable):
        return Upstream("WhatsApp's Graph API cannot be reached; try again later.")
    if exc.code == 190 and store is not None and channel_id is not None:
        await store.mark_channel_unhealthy(channel_id, plain_error(190))
    return Upstream(plain_error(exc.code, exc.details or exc.message), code="upstream_error")

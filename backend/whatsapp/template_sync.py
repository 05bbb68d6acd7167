"""Templates synced from every connected WABA (all pages of ``message_templates``)."""

from __future__ import annotations

import logging
from typing import Any

from backend import schemas
from backend.domain.errors import Upstream
from backend.store import Store, TemplateDefinition
from backend.whatsapp.graph import GraphClient, GraphError, GraphTimeout, GraphUnreachable
from backend.whatsapp.upstream import upstream_error

log = logging.getLogger(__name__)


def template_definition(item: dict[str, Any]) -> TemplateDefinition | None:
    """A template as ``message_templates`` lists it; None without a name and language."""
    name, language = item.get("name"), item.get("language")
    if not name or not language:
        return None
    return TemplateDefinition(
        name=name,
        language=language,
        external_id=str(item.get("id") or "") or None,
        status=str(item.get("status") or "UNKNOWN").upper(),
        category=item.get("category"),
        parameter_format=str(item.get("parameter_format") or "POSITIONAL").upper(),
        parts=[c for c in item.get("components") or [] if isinstance(c, dict)],
    )


async def sync_templates(
    store: Store, graph: GraphClient, *, channel_id: int | None = None
) -> schemas.TemplateSyncResult:
    """Fetch and store the templates of one channel, or of all of them."""
    secrets = await store.channel_secrets()
    if channel_id is not None:
        secrets = [s for s in secrets if s.channel_id == channel_id]
    templates: list[schemas.Template] = []
    for secret in secrets:
        try:
            items = await graph.message_templates(secret.access_token, secret.waba_id)
        except (GraphError, GraphTimeout, GraphUnreachable) as exc:
            error = await upstream_error(store, exc, channel_id=secret.channel_id)
            if isinstance(error, Upstream):
                raise error from None
            raise
        definitions = [d for d in map(template_definition, items) if d is not None]
        templates.extend(await store.replace_templates(secret.waba_id, definitions))
        log.info("synced %d templates of WABA %s", len(items), secret.waba_id)
    return schemas.TemplateSyncResult(synced=len(templates), templates=templates)

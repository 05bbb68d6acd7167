"""Blue ticks for the customer: when an agent opens a thread, mark the contact's newest
message read on WhatsApp (``POST /{phone_number_id}/messages`` with ``status: read``).

Best effort and off the request path: a failure is logged, never shown to the agent,
and never retried (a later read marks everything before it as read anyway).
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from backend.keys import SERVICES, STORE
from backend.whatsapp.graph import GraphClient

log = logging.getLogger(__name__)

_TASKS = "whatsapp.read_receipt_tasks"


def schedule_read_receipt(app: web.Application, thread_id: int) -> None:
    tasks: set[asyncio.Task[None]] = app[SERVICES].setdefault(_TASKS, set())
    task = asyncio.create_task(send_read_receipt(app, thread_id), name="read-receipt")
    tasks.add(task)
    task.add_done_callback(tasks.discard)


async def send_read_receipt(app: web.Application, thread_id: int) -> bool:
    store = app[STORE]
    graph: GraphClient | None = app[SERVICES].get("graph")
    if graph is None:
        return False
    try:
        target = await store.last_inbound_wamid(thread_id)
        if target is None:
            return False
        wamid, phone_number_id = target
        number = await store.phone_number_by_external_id(phone_number_id)
        if number is None:
            return False
        secret = await store.channel_secret(number.channel_id)
        return await graph.mark_read(secret.access_token, phone_number_id, wamid)
    except Exception as exc:  # noqa: BLE001 - best effort: the agent's action already succeeded
        log.info("marking thread %s read on WhatsApp failed: %s", thread_id, type(exc).__name__)
        return False

"""Rows the store tests seed by hand: a connected WhatsApp number and contacts' threads."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from backend.store.conversations import create_thread
from backend.store.engine import iso

PNID = "900000000000001"


def connect_number(tx: Any, *, verified: bool = True, template: bool = True) -> None:
    """A connected channel and number (``PNID``), with an approved ``hello`` template."""
    channel = tx.insert(
        "channels",
        {
            "waba_id": "w1",
            "access_token": "secret-token",
            "legal_name": "Acme",
            "display_name": "Acme",
            "verified_business": int(verified),
            "status": "connected",
            "created_at": tx.now_iso,
            "updated_at": tx.now_iso,
        },
    )
    tx.insert(
        "phone_numbers",
        {
            "channel_id": channel,
            "phone_number_id": PNID,
            "display_phone_number": "15550001111",
            "status": "connected",
            "connected_at": tx.now_iso,
            "created_at": tx.now_iso,
        },
    )
    if template:
        tx.insert(
            "templates",
            {
                "name": "hello",
                "language": "en_US",
                "status": "APPROVED",
                "components": '[{"type": "BODY", "text": "Hello!"}]',
                "updated_at": tx.now_iso,
            },
        )


def contact_thread(tx: Any, n: int, *, session_until: datetime | None) -> int:
    """Contact number ``n`` and a thread with them on ``PNID``, its session open until
    ``session_until``."""
    contact = tx.insert(
        "contacts",
        {
            "first_name": f"C{n}",
            "wa_id": f"3460000{n:04d}",
            "created_at": tx.now_iso,
            "updated_at": tx.now_iso,
        },
    )
    thread_id, _ = create_thread(
        tx,
        contact_id=contact,
        phone_number_id=PNID,
        business_number="15550001111",
        subject="s",
        owner_id=None,
    )
    tx.execute(
        "UPDATE threads SET session_expires_at = ? WHERE id = ?", (iso(session_until), thread_id)
    )
    return thread_id

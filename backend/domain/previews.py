"""What a message shows in one line: the thread list's preview, a quote, a fallback subject."""

from __future__ import annotations

from backend import schemas

PREVIEW_LENGTH = 140
QUARANTINED_PREVIEW = "Quarantined message"
UNSUPPORTED_PREVIEW = "Unsupported message"
CALL_PREVIEW = "Phone call"  # the preview and subject of a conversation a call started


def preview_of(kind: str, text: str | None, caption: str | None = None) -> str:
    """The one-line preview of a message for lists and quotes (plain text)."""
    if kind == schemas.MessageKind.quarantined:
        return QUARANTINED_PREVIEW
    if kind == schemas.MessageKind.unsupported:
        return UNSUPPORTED_PREVIEW
    body = text or caption
    if kind in schemas.MEDIA_KINDS:
        label = {"voice": "Voice message"}.get(kind, kind.capitalize())
        body = f"[{label}] {body}" if body else f"[{label}]"
    elif kind == schemas.MessageKind.location:
        body = f"[Location] {body}" if body else "[Location]"
    elif kind == schemas.MessageKind.contacts:
        body = f"[Contact] {body}" if body else "[Contact]"
    body = " ".join((body or "").split())
    if len(body) > PREVIEW_LENGTH:
        body = body[: PREVIEW_LENGTH - 1] + "…"
    return body

"""Which files WhatsApp sends, and as which message type (WHATSAPP.md "Supported media").

The one table: the send path checks an upload against it, the upload sniffer names a
file's kind by it, and the webhook parser keeps inbound media of another type only as an
unsupported-attachment placeholder (ttydesk's policy, not Meta's).
"""

from __future__ import annotations

DOCUMENT_MIME: frozenset[str] = frozenset(
    {
        "text/plain",
        "application/pdf",
        "application/msword",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.ms-excel",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.ms-powerpoint",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    }
)
SENDABLE_MIME: dict[str, frozenset[str]] = {
    "image": frozenset({"image/jpeg", "image/png"}),
    "video": frozenset({"video/mp4", "video/3gp", "video/3gpp"}),
    "audio": frozenset({"audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"}),
    "document": DOCUMENT_MIME,
    "sticker": frozenset({"image/webp"}),
}
_KIND_OF = {mime: kind for kind, mimes in SENDABLE_MIME.items() for mime in mimes}


def media_kind(mime_type: str) -> str | None:
    """The WhatsApp message type an outbound file of this MIME type is sent as."""
    return _KIND_OF.get(mime_type.split(";")[0].strip().lower())

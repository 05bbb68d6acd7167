"""Attachments to send: ``POST /api/v1/media`` (multipart, field ``file``).

The type is sniffed from the content (``filetype``; plain text by decoding it), never
taken from the name or the declared type, and checked with its size against what
WhatsApp accepts (WHATSAPP.md media table). The file is kept under the media dir; the
Graph API upload happens when the message is sent.
"""

from __future__ import annotations

import codecs
import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import filetype
from aiohttp import BodyPartReader, web

from backend import schemas
from backend.api.wire import operation, respond
from backend.domain.errors import DomainError, InvalidField, Malformed
from backend.domain.media_types import media_kind
from backend.keys import SETTINGS, STORE
from backend.private_files import open_private, private_dir
from backend.whatsapp.media import extension_for

routes = web.RouteTableDef()

KB = 1024
MB = 1024 * 1024
SNIFF_BYTES = 64 * KB
CHUNK = 256 * KB
MAX_UPLOAD = 100 * MB
OUTBOUND_DIR = "outbound"

LIMITS = {"image": 5 * MB, "video": 16 * MB, "audio": 16 * MB, "document": 100 * MB}
STICKER_STATIC = 100 * KB
STICKER_ANIMATED = 500 * KB

SUPPORTED = (
    "images JPEG or PNG up to 5 MB; videos MP4 or 3GPP up to 16 MB; audio AAC, AMR, MP3, "
    "M4A or OGG (Opus) up to 16 MB; documents PDF, Word, Excel, PowerPoint or plain text "
    "up to 100 MB; stickers WebP up to 100 KB (500 KB animated)"
)


class FileTooLarge(DomainError):
    status = 413
    default_code = "file_too_large"


@dataclass(frozen=True, slots=True)
class Sniffed:
    mime_type: str
    kind: str
    animated: bool = False


def _is_text(head: bytes, complete: bool) -> bool:
    if not head or b"\x00" in head:
        return False
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(head, final=complete)
    except UnicodeDecodeError:
        return False
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\n\r\f")
    return controls == 0


def sniff(head: bytes, *, complete: bool) -> Sniffed | None:
    """What the file is, from its first bytes; None when WhatsApp cannot send it."""
    guess = filetype.guess(head)
    if guess is not None:
        mime = guess.mime
        if mime == "audio/ogg" and b"OpusHead" not in head[:512]:
            return None  # Ogg Vorbis/FLAC: WhatsApp takes Opus only
        if mime == "video/3gpp":
            mime = "video/3gpp"
        kind = media_kind(mime)
        if kind is None:
            return None
        animated = kind == "sticker" and head[12:16] == b"VP8X" and bool(head[20] & 0x02)
        return Sniffed(mime, kind, animated)
    if _is_text(head, complete):
        return Sniffed("text/plain", "document")
    return None


def _limit_of(found: Sniffed) -> int:
    if found.kind == "sticker":
        return STICKER_ANIMATED if found.animated else STICKER_STATIC
    return LIMITS[found.kind]


def _human(size: int) -> str:
    return f"{size // MB} MB" if size >= MB else f"{size // KB} KB"


def _safe_name(name: str | None) -> str | None:
    if not name:
        return None
    base = os.path.basename(name.replace("\\", "/")).strip()
    cleaned = "".join(ch for ch in base if ch.isprintable() and ch not in '<>:"|?*')
    return cleaned[:200] or None


@operation(
    routes,
    "POST",
    "/api/v1/media",
    summary="Upload an attachment to send (multipart field 'file'); type and size checked",
    response=schemas.UploadedMedia,
    status=201,
)
async def upload(request: web.Request) -> web.Response:
    if not request.content_type.startswith("multipart/"):
        raise Malformed("Upload the file as multipart/form-data in a field named 'file'.")
    reader = await request.multipart()
    part = None
    while True:
        candidate = await reader.next()
        if candidate is None:
            break
        if isinstance(candidate, BodyPartReader) and candidate.name == "file":
            part = candidate
            break
        if isinstance(candidate, BodyPartReader):
            await candidate.release()
    if part is None:
        raise InvalidField("Attach the file in a multipart field named 'file'.", field="file")
    folder = private_dir(request.app[SETTINGS].media_dir / OUTBOUND_DIR)
    name = secrets.token_hex(16)
    temporary = folder / f".{name}.part"
    digest = hashlib.sha256()
    size = 0
    head = b""
    found: Sniffed | None = None
    try:
        with open_private(temporary) as sink:
            while True:
                chunk = await part.read_chunk(CHUNK)
                if not chunk:
                    break
                if len(head) < SNIFF_BYTES:
                    head += chunk[: SNIFF_BYTES - len(head)]
                size += len(chunk)
                if found is None and len(head) >= SNIFF_BYTES:
                    found = _checked(sniff(head, complete=False))
                limit = _limit_of(found) if found is not None else MAX_UPLOAD
                if size > limit:
                    raise _too_large(found, limit)
                digest.update(chunk)
                sink.write(chunk)
        if size == 0:
            raise InvalidField("The file is empty.", field="file")
        if found is None:
            found = _checked(sniff(head, complete=True))
        if size > _limit_of(found):
            raise _too_large(found, _limit_of(found))
        # a file extension, as inbound media have: the folder stays readable by file tools
        name += extension_for(found.mime_type, part.filename)
        final = folder / name
        temporary.replace(final)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    filename = _safe_name(part.filename)
    media_id = await request.app[STORE].record_upload(
        path=str(Path(OUTBOUND_DIR) / name),
        mime_type=found.mime_type,
        filename=filename,
        size=size,
        sha256=digest.hexdigest(),
    )
    uploaded = schemas.UploadedMedia(
        id=media_id,
        mime_type=found.mime_type,
        kind=schemas.MessageKind(found.kind),
        filename=filename,
        size=size,
        sha256=digest.hexdigest(),
    )
    return respond(uploaded, status=201)


def _checked(found: Sniffed | None) -> Sniffed:
    if found is None:
        raise InvalidField(
            f"WhatsApp cannot send this kind of file. Supported: {SUPPORTED}.",
            field="file",
            code="unsupported_media_type",
        )
    return found


def _too_large(found: Sniffed | None, limit: int) -> FileTooLarge:
    what = f"{found.kind} ({found.mime_type})" if found is not None else "file"
    return FileTooLarge(
        f"This {what} is larger than WhatsApp's limit of {_human(limit)}. Supported: {SUPPORTED}."
    )

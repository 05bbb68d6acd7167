"""Serving media files: ``GET /api/v1/media/{id}`` (received and sent attachments).

Files are always served as attachments with their MIME type and a safe file name;
nothing is rendered inline. Media of a quarantined message is served to admins only.
Uploads (``POST /api/v1/media``) live with the sending side.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

from aiohttp import web

from backend import schemas
from backend.api.auth import current_agent
from backend.api.wire import operation, path_int, respond
from backend.domain.errors import NotFound
from backend.keys import SERVICES, SETTINGS, STORE
from backend.whatsapp.media import FETCHER, extension_for, resolve_media_path

routes = web.RouteTableDef()

_UNSAFE = re.compile(r'[\x00-\x1f\x7f"\\/:*?<>|;]+')
_DOTS = re.compile(r"\.{2,}")
FILENAME_MAX = 120


def safe_filename(name: str | None, fallback: str) -> str:
    """A file name with no path, control or quoting characters, never empty or dotted."""
    if not name:
        return fallback
    text = unicodedata.normalize("NFC", name)
    text = "".join(c for c in text if unicodedata.category(c)[0] != "C")  # bidi, controls
    text = _DOTS.sub(".", _UNSAFE.sub("_", text)).strip().lstrip(".").strip()
    if not text:
        return fallback
    if len(text) > FILENAME_MAX:
        stem, dot, ext = text.rpartition(".")
        if dot and len(ext) <= 10:
            text = stem[: FILENAME_MAX - len(ext) - 1] + "." + ext
        else:
            text = text[:FILENAME_MAX]
    return text


def content_disposition(filename: str) -> str:
    ascii_name = filename.encode("ascii", "replace").decode("ascii").replace("?", "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


@operation(
    routes,
    "GET",
    "/api/v1/media/{id}",
    summary="Download a received or sent attachment",
)
async def get_media(request: web.Request) -> web.StreamResponse:
    media_id = path_int(request, "id")
    agent = current_agent(request)
    found = await request.app[STORE].media_file(media_id, admin=agent.role == schemas.Role.admin)
    if found is None or found.hidden:
        raise NotFound("There is no such media.", code="media_not_found")
    if found.state != schemas.MediaState.ready or not found.path:
        raise NotFound(f"That media is not available ({found.state}).", code="media_not_ready")
    path = resolve_media_path(request.app[SETTINGS].media_dir, found.path)
    if not path.is_file():
        raise NotFound("The media file is missing on the server.", code="media_missing")
    mime = found.mime_type or "application/octet-stream"
    fallback = f"media-{found.id}{extension_for(found.mime_type, None)}"
    return web.FileResponse(
        path,
        headers={
            "Content-Type": mime,
            "Content-Disposition": content_disposition(safe_filename(found.filename, fallback)),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, max-age=3600",
        },
    )


@operation(
    routes,
    "POST",
    "/api/v1/media/{id}/retry",
    summary="Fetch a received attachment again after its download failed",
    response=schemas.Media,
    status=202,
)
async def retry(request: web.Request) -> web.Response:
    media_id = path_int(request, "id")
    store = request.app[STORE]
    await store.retry_media(media_id)
    fetcher = request.app[SERVICES].get(FETCHER)
    if fetcher is not None:
        fetcher.wake()
    found = await store.media_file(media_id, admin=True)
    assert found is not None
    return respond(
        schemas.Media(
            id=found.id,
            mime_type=found.mime_type,
            filename=found.filename,
            size=found.size,
            state=found.state,
        ),
        status=202,
    )

"""The Graph API body of a send (``POST /{phone_number_id}/messages``), built at send time
from what the store kept (``OutboundRequest``). The one place that knows Meta's shapes
for a message we send; ``tests/whatsapp/test_graph_bodies.py`` holds every kind to the
bytes Meta received before the bodies moved here.
"""

from __future__ import annotations

from typing import Any

from backend.store import FilledTemplate, OutboundRequest, Recipient, TemplateValue


def _addressing(recipient: Recipient) -> dict[str, str]:
    """``to`` a number or a group, ``recipient`` a user id (BSUID)."""
    if recipient.by == "group":
        return {"recipient_type": "group", "to": recipient.address}
    key = "recipient" if recipient.by == "user_id" else "to"
    return {"recipient_type": "individual", key: recipient.address}


def _context(request: OutboundRequest) -> dict[str, Any]:
    return {"context": {"message_id": request.reply_to}} if request.reply_to else {}


def _text_parameters(values: tuple[TemplateValue, ...], by_name: bool) -> list[dict[str, Any]]:
    parameters = []
    for value in values:
        parameter: dict[str, Any] = {"type": "text", "text": value.value}
        if by_name:
            parameter["parameter_name"] = value.name
        parameters.append(parameter)
    return parameters


def template_object(template: FilledTemplate) -> dict[str, Any]:
    components: list[dict[str, Any]] = []
    if template.header_media is not None:
        kind = template.header_media
        components.append(
            {
                "type": "header",
                "parameters": [{"type": kind, kind: {"link": template.header_link}}],
            }
        )
    elif template.header:
        components.append(
            {"type": "header", "parameters": _text_parameters(template.header, template.by_name)}
        )
    if template.body:
        components.append(
            {"type": "body", "parameters": _text_parameters(template.body, template.by_name)}
        )
    for button in template.url_buttons:
        components.append(
            {
                "type": "button",
                "sub_type": "url",
                "index": button.name,
                "parameters": [{"type": "text", "text": button.value}],
            }
        )
    built: dict[str, Any] = {"name": template.name, "language": {"code": template.language}}
    if components:
        built["components"] = components
    return built


def _content(request: OutboundRequest, media_external_id: str | None) -> dict[str, Any]:
    if request.kind == "text":
        text = {"body": request.text, "preview_url": request.link_preview}
        return {"type": "text", "text": text, **_context(request)}
    if request.kind == "media":
        assert request.media is not None
        kind = request.media.kind
        media: dict[str, Any] = {"id": media_external_id}
        if request.text:
            media["caption"] = request.text
        if kind == "document" and request.media.filename:
            media["filename"] = request.media.filename
        return {"type": kind, kind: media, **_context(request)}
    if request.kind == "template":
        assert request.template is not None
        return {"type": "template", "template": template_object(request.template)}
    if request.kind == "reaction":
        reaction = {"message_id": request.reacts_to, "emoji": request.emoji}
        return {"type": "reaction", "reaction": reaction}
    raise ValueError(f"WhatsApp cannot send a {request.kind!r} request")


def graph_body(request: OutboundRequest, media_external_id: str | None = None) -> dict[str, Any]:
    """The body to send; ``media_external_id`` is Meta's id of the uploaded file (media)."""
    return {
        "messaging_product": "whatsapp",
        **_addressing(request.recipient),
        "biz_opaque_callback_data": request.reference,
        **_content(request, media_external_id),
    }


def legacy_graph_body(body: dict[str, Any], media_external_id: str | None) -> dict[str, Any]:
    """A body queued before the store kept requests (migration 0024): sent as it was
    built, with Meta's id of its uploaded file put in (as the worker always did)."""
    if media_external_id is None:
        return body
    sent = dict(body)
    kind = str(sent.get("type"))
    sent[kind] = {**sent.get(kind, {}), "id": media_external_id}
    return sent

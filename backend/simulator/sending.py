"""Validation of `POST /{phone_number_id}/messages` bodies, with Meta's error codes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .errors import GraphError
from .state import SimState, Template
from .templates import placeholders

TEXT_MAX_CHARS = 4096
CAPTION_MAX_CHARS = 1024
CALLBACK_DATA_MAX_CHARS = 512
MEDIA_KINDS = ("image", "video", "audio", "document", "sticker")
SENDABLE_TYPES = (
    *MEDIA_KINDS,
    "text",
    "template",
    "reaction",
    "interactive",
    "location",
    "contacts",
)
BSUID_PATTERN = re.compile(r"^[A-Z]{2}\.(ENT\.)?[A-Za-z0-9]{1,128}$")
HEADER_MEDIA_FORMATS = {"IMAGE": "image", "VIDEO": "video", "DOCUMENT": "document"}


@dataclass
class ValidatedSend:
    type: str
    recipient: str
    addressed_by: str  # "to" | "recipient" | "group"
    template: Template | None
    missing_media_id: str | None
    biz_opaque_callback_data: str | None


def normalise_phone(value: str) -> str | None:
    digits = re.sub(r"[\s\-().]", "", value).lstrip("+")
    if not digits.isdigit() or not 6 <= len(digits) <= 20:
        return None
    return digits


def validate_send(state: SimState, body: dict[str, Any]) -> ValidatedSend:
    if body.get("messaging_product") != "whatsapp":
        raise GraphError(100, "The parameter messaging_product is required and must be whatsapp.")
    recipient_type = body.get("recipient_type", "individual")
    if recipient_type not in ("individual", "group"):
        raise GraphError(100, "Param recipient_type must be one of {individual, group}.")

    to, recipient = body.get("to"), body.get("recipient")
    if recipient_type == "group":
        # a group the business is in: the simulator knows those its customers wrote in
        if not to or str(to) not in state.group_last_inbound:
            raise GraphError(131009, f"Parameter 'to' ({to}) is not a group of this number.")
        target, addressed_by = str(to), "group"
    elif to:
        normalised = normalise_phone(str(to))
        if normalised is None:
            raise GraphError(131009, f"Parameter 'to' ({to}) is not a valid WhatsApp number.")
        target, addressed_by = normalised, "to"
    elif recipient:
        if not BSUID_PATTERN.match(str(recipient)):
            raise GraphError(131009, f"Parameter 'recipient' ({recipient}) is not a valid BSUID.")
        target, addressed_by = str(recipient), "recipient"
    else:
        raise GraphError(131008, "The parameter to (or recipient) is required.")

    kind = body.get("type", "text")
    if kind not in SENDABLE_TYPES:
        raise GraphError(100, f"Param type must be one of {{{', '.join(SENDABLE_TYPES)}}}")
    payload = body.get(kind)
    if not isinstance(payload, dict) and not (kind == "contacts" and isinstance(payload, list)):
        raise GraphError(131008, f"The parameter {kind} is required.")

    callback_data = body.get("biz_opaque_callback_data")
    if callback_data is not None and len(str(callback_data)) > CALLBACK_DATA_MAX_CHARS:
        raise GraphError(
            131009, f"biz_opaque_callback_data must be at most {CALLBACK_DATA_MAX_CHARS} chars"
        )
    context = body.get("context")
    if context is not None and not (isinstance(context, dict) and context.get("message_id")):
        raise GraphError(131008, "The parameter context.message_id is required.")

    template = None
    missing_media_id = None
    if kind == "text":
        _check_text(payload)
    elif kind in MEDIA_KINDS:
        missing_media_id = _check_media(state, kind, payload)
    elif kind == "template":
        template = check_template(state, payload)
    elif kind == "reaction":
        if not payload.get("message_id"):
            raise GraphError(131008, "The parameter reaction.message_id is required.")
        if "emoji" not in payload:
            raise GraphError(131008, "The parameter reaction.emoji is required.")
    elif kind == "interactive":
        _check_interactive(payload)
    elif kind == "location":
        for key in ("latitude", "longitude"):
            if payload.get(key) is None:
                raise GraphError(131008, f"The parameter location.{key} is required.")
    return ValidatedSend(
        type=kind,
        recipient=target,
        addressed_by=addressed_by,
        template=template,
        missing_media_id=missing_media_id,
        biz_opaque_callback_data=str(callback_data) if callback_data is not None else None,
    )


def _check_text(payload: dict[str, Any]) -> None:
    text = payload.get("body")
    if not isinstance(text, str) or not text:
        raise GraphError(131008, "The parameter text.body is required.")
    if len(text) > TEXT_MAX_CHARS:
        raise GraphError(
            100, f"Param text['body'] must be at most {TEXT_MAX_CHARS} characters long."
        )


def _check_media(state: SimState, kind: str, payload: dict[str, Any]) -> str | None:
    media_id, link = payload.get("id"), payload.get("link")
    if media_id and link:
        raise GraphError(100, f"Only one of {kind}['id'] or {kind}['link'] may be given.")
    if not media_id and not link:
        raise GraphError(131008, f"The parameter {kind}['id'] or {kind}['link'] is required.")
    if "caption" in payload:
        if kind in ("audio", "sticker"):
            raise GraphError(100, f"Param {kind}['caption'] is not a valid parameter.")
        if len(str(payload["caption"])) > CAPTION_MAX_CHARS:
            raise GraphError(100, f"Param {kind}['caption'] is too long.")
    if link:
        if not re.match(r"^https?://", str(link)):
            raise GraphError(131009, f"Parameter {kind}['link'] is not a valid URL.")
        return None
    item = state.media.get(str(media_id))
    if item is None or item.deleted:
        return str(media_id)
    return None


def _check_interactive(payload: dict[str, Any]) -> None:
    kind = payload.get("type")
    if not kind:
        raise GraphError(131008, "The parameter interactive.type is required.")
    action = payload.get("action")
    if not isinstance(action, dict):
        raise GraphError(131008, "The parameter interactive.action is required.")
    if kind in ("button", "list") and not (payload.get("body") or {}).get("text"):
        raise GraphError(131008, "The parameter interactive.body.text is required.")
    if kind == "button":
        buttons = action.get("buttons")
        if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
            raise GraphError(131009, "interactive.action.buttons must hold 1 to 3 buttons.")
        for button in buttons:
            reply = button.get("reply") if isinstance(button, dict) else None
            if not isinstance(reply, dict) or not reply.get("id") or not reply.get("title"):
                raise GraphError(131008, "Each button needs reply.id and reply.title.")
            if len(str(reply["title"])) > 20:
                raise GraphError(131009, "Button title length is more than 20 characters.")
    elif kind == "list":
        sections = action.get("sections")
        if not action.get("button") or not isinstance(sections, list) or not sections:
            raise GraphError(131008, "interactive.action needs button and sections.")
        rows = sum(len(s.get("rows", [])) for s in sections if isinstance(s, dict))
        if not 1 <= rows <= 10:
            raise GraphError(131009, "A list message holds 1 to 10 rows in total.")


# ---- templates ----------------------------------------------------------------------


def check_template(state: SimState, payload: dict[str, Any]) -> Template:
    name = payload.get("name")
    language = (payload.get("language") or {}).get("code")
    if not name or not language:
        raise GraphError(
            131008, "The parameters template.name and template.language.code are required."
        )
    template = next((t for t in state.find_templates(str(name)) if t.language == language), None)
    if template is None:
        raise GraphError(132001, f"template name ({name}) does not exist in {language}")
    if template.status == "PAUSED":
        raise GraphError(132015, f"Template {name} is paused.")
    if template.status == "DISABLED":
        raise GraphError(132016, f"Template {name} is disabled.")
    if template.status != "APPROVED":
        raise GraphError(
            132001,
            f"template name ({name}) is not approved in {language} (status {template.status})",
        )
    # Meta matches component types in any case: its own examples send "HEADER"/"BODY".
    supplied = {
        str(c.get("type", "")).lower(): c
        for c in payload.get("components") or []
        if isinstance(c, dict) and str(c.get("type", "")).lower() in ("header", "body")
    }
    for component in template.components:
        component_type = str(component.get("type", "")).lower()
        if component_type not in ("header", "body"):
            continue
        parameters = (supplied.get(component_type) or {}).get("parameters") or []
        _check_component_parameters(template, component, component_type, parameters)
    return template


def _check_component_parameters(
    template: Template,
    component: dict[str, Any],
    component_type: str,
    parameters: list[dict[str, Any]],
) -> None:
    media_format = HEADER_MEDIA_FORMATS.get(str(component.get("format", "")).upper())
    if component_type == "header" and media_format:
        if len(parameters) != 1:
            raise GraphError(
                132000,
                f"header: number of parameters ({len(parameters)}) does not match the expected number of params (1)",
            )
        if str(parameters[0].get("type", "")).lower() != media_format:
            raise GraphError(132012, f"header parameter must be of type {media_format}")
        return
    expected = placeholders(str(component.get("text", "")))
    if len(parameters) != len(expected):
        raise GraphError(
            132000,
            f"{component_type}: number of localizable_params ({len(parameters)}) does not match "
            f"the expected number of params ({len(expected)})",
        )
    for parameter in parameters:
        if (
            str(parameter.get("type", "")).lower() == "text"
            and not str(parameter.get("text", "")).strip()
        ):
            raise GraphError(131008, f"{component_type}: a text parameter needs a non-empty text.")
    if template.parameter_format == "NAMED":
        names = [p.get("parameter_name") for p in parameters]
        if sorted(str(n) for n in names) != sorted(expected) or None in names:
            raise GraphError(
                132000,
                f"{component_type}: parameter names {names} do not match the template's "
                f"named params {expected}",
            )

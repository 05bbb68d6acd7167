"""The Graph API paths the backend calls: `/{version}/…` (any `vNN.N`)."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import aiohttp
from aiohttp import web

from .errors import NUMBER_CONNECTED_ELSEWHERE_SUBCODE, GraphError, unknown_object
from .keys import SIMULATOR
from .simulator import Simulator
from .state import PhoneNumber, Waba
from .templates import (
    MESSAGE_TEMPLATE_LIMIT,
    MESSAGE_TEMPLATE_LIMIT_VERIFIED,
    template_summary,
    translations_complete,
)

routes = web.RouteTableDef()

V = r"{version:v\d+\.\d+}"

# What may be uploaded (WHATSAPP.md): MIME type -> max bytes.
_MB = 1024 * 1024
UPLOAD_LIMITS: dict[str, int] = {
    "image/jpeg": 5 * _MB,
    "image/png": 5 * _MB,
    "video/mp4": 16 * _MB,
    "video/3gp": 16 * _MB,
    "video/3gpp": 16 * _MB,
    "audio/aac": 16 * _MB,
    "audio/amr": 16 * _MB,
    "audio/mpeg": 16 * _MB,
    "audio/mp4": 16 * _MB,
    "audio/ogg": 16 * _MB,
    "text/plain": 100 * _MB,
    "application/pdf": 100 * _MB,
    "application/msword": 100 * _MB,
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": 100 * _MB,
    "application/vnd.ms-excel": 100 * _MB,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": 100 * _MB,
    "application/vnd.ms-powerpoint": 100 * _MB,
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": 100 * _MB,
    "image/webp": 500 * 1024,
}

BUSINESS_VERTICALS = {
    "UNDEFINED", "OTHER", "AUTO", "BEAUTY", "APPAREL", "EDU", "ENTERTAIN", "EVENT_PLAN",
    "FINANCE", "GROCERY", "GOVT", "HOTEL", "HEALTH", "NONPROFIT", "PROF_SERVICES", "RETAIL",
    "TRAVEL", "RESTAURANT", "ALCOHOL", "ONLINE_GAMBLING", "PHYSICAL_GAMBLING", "OTC_DRUGS",
}  # fmt: skip
PROFILE_FIELDS = ("about", "address", "description", "email", "websites", "vertical")


def _sim(request: web.Request) -> Simulator:
    return request.app[SIMULATOR]


async def read_params(request: web.Request) -> dict[str, Any]:
    """Meta accepts parameters as JSON, as a form, or in the query string."""
    params: dict[str, Any] = {k: v for k, v in request.query.items() if k != "access_token"}
    if not request.body_exists:
        return params
    if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()
        params.update({k: v for k, v in form.items() if isinstance(v, str)})
        return params
    raw = await request.read()
    if not raw.strip():
        return params
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise GraphError(100, "The request body is not valid JSON.") from exc
    if not isinstance(body, dict):
        raise GraphError(100, "The request body must be a JSON object.")
    params.update(body)
    return params


def _phone(sim: Simulator, object_id: str, method: str) -> PhoneNumber:
    phone = sim.state.phone_number(object_id)
    if phone is None:
        raise unknown_object(object_id, method)
    return phone


def _waba(sim: Simulator, object_id: str, method: str) -> Waba:
    waba = sim.state.wabas.get(object_id)
    if waba is None:
        raise unknown_object(object_id, method)
    return waba


# ---- messages ---------------------------------------------------------------------------


@routes.post(f"/{V}/{{object_id}}/messages")
async def send_message(request: web.Request) -> web.Response:
    sim = _sim(request)
    phone = _phone(sim, request.match_info["object_id"], "post")
    body = await read_params(request)
    if body.get("status") == "read":
        if body.get("messaging_product") != "whatsapp":
            raise GraphError(100, "The parameter messaging_product is required.")
        return web.json_response(sim.mark_read(phone, body))
    if not phone.registered:
        raise GraphError(133010, "The phone number is not registered for the Cloud API.")
    return web.json_response(sim.accept_send(phone, body))


# ---- media ------------------------------------------------------------------------------


@routes.post(f"/{V}/{{object_id}}/media")
async def upload_media(request: web.Request) -> web.Response:
    sim = _sim(request)
    phone = _phone(sim, request.match_info["object_id"], "post")
    if request.content_type != "multipart/form-data":
        raise GraphError(100, "Media must be uploaded as multipart/form-data.")
    form = await request.post()
    if form.get("messaging_product") != "whatsapp":
        raise GraphError(100, "The parameter messaging_product is required.")
    upload = form.get("file")
    if not isinstance(upload, web.FileField):
        raise GraphError(131008, "The parameter file is required.")
    declared = form.get("type")
    mime_type = str(declared) if isinstance(declared, str) and declared else upload.content_type
    base_type = mime_type.split(";")[0].strip().lower()
    data = upload.file.read()
    limit = UPLOAD_LIMITS.get(base_type)
    if limit is None:
        raise GraphError(
            100,
            f"Param file must be a file with one of the following types: "
            f"{', '.join(sorted(UPLOAD_LIMITS))}. Received file of type '{mime_type}'.",
        )
    if len(data) > limit:
        raise GraphError(100, f"Param file is too large for {base_type} (max {limit} bytes).")
    item = sim.state.add_media(
        data, mime_type, filename=upload.filename or None, phone_number_id=phone.id
    )
    return web.json_response({"id": item.id})


@routes.get("/whatsapp_business/attachments/")
async def download_media(request: web.Request) -> web.StreamResponse:
    sim = _sim(request)
    media_id = request.query.get("mid", "")
    item = sim.state.media.get(media_id)
    valid = sim.media_url_valid(
        media_id, request.query.get("ext", ""), request.query.get("hash", "")
    )
    if item is None or item.deleted or not valid:
        return web.Response(status=404, text="URL signature expired or media not found")
    return web.Response(
        body=item.data,
        content_type=item.mime_type.split(";")[0],
        headers={"Content-Disposition": f"attachment; filename={item.filename or item.id}"},
    )


# ---- objects by id: WABA, phone number, media ----------------------------------------------


@routes.get(f"/{V}/{{object_id}}")
async def get_object(request: web.Request) -> web.Response:
    sim = _sim(request)
    object_id = request.match_info["object_id"]
    if object_id in sim.state.wabas:
        return web.json_response(sim.state.wabas[object_id].graph_json())
    phone = sim.state.phone_number(object_id)
    if phone is not None:
        return web.json_response(phone.graph_json())
    template = sim.state.template(object_id)
    if template is not None:
        return web.json_response(template.graph_json())
    item = sim.state.media.get(object_id)
    if item is None or item.deleted:
        raise unknown_object(object_id, "get")
    return web.json_response(
        {
            "url": sim.media_url(item, base_url=str(request.url.origin())),
            "mime_type": item.mime_type,
            "sha256": item.sha256,
            "file_size": item.file_size,
            "id": item.id,
            "messaging_product": "whatsapp",
        }
    )


@routes.delete(f"/{V}/{{object_id}}")
async def delete_object(request: web.Request) -> web.Response:
    sim = _sim(request)
    object_id = request.match_info["object_id"]
    item = sim.state.media.get(object_id)
    if item is None or item.deleted:
        raise unknown_object(object_id, "delete")
    item.deleted = True
    item.data = b""
    return web.json_response({"success": True})


# ---- templates --------------------------------------------------------------------------


def _cursor(index: int) -> str:
    return base64.urlsafe_b64encode(f"idx:{index}".encode()).decode()


def _cursor_index(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        return int(text.removeprefix("idx:"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise GraphError(100, f"Invalid cursor {cursor!r}.") from exc


@routes.get(f"/{V}/{{object_id}}/message_templates")
async def list_templates(request: web.Request) -> web.Response:
    sim = _sim(request)
    waba = _waba(sim, request.match_info["object_id"], "get")
    query = request.query
    templates = waba.templates
    if query.get("status"):
        wanted = {s.strip().upper() for s in query["status"].split(",")}
        templates = [t for t in templates if t.status in wanted]
    if query.get("name"):
        templates = [t for t in templates if query["name"].lower() in t.name.lower()]
    try:
        limit = max(1, min(int(query.get("limit", "25")), 1000))
    except ValueError as exc:
        raise GraphError(100, "Param limit must be an integer.") from exc
    if query.get("after"):
        start = _cursor_index(query["after"]) + 1
    elif query.get("before"):
        start = max(0, _cursor_index(query["before"]) - limit)
    else:
        start = 0
    page = templates[start : start + limit]
    body: dict[str, Any] = {"data": [t.graph_json() for t in page]}
    if page:
        paging: dict[str, Any] = {
            "cursors": {"before": _cursor(start), "after": _cursor(start + len(page) - 1)}
        }
        base_query = {k: v for k, v in query.items() if k not in ("after", "before")}
        if start + len(page) < len(templates):
            next_query = base_query | {"after": paging["cursors"]["after"]}
            paging["next"] = str(request.url.with_query(next_query))
        if start > 0:
            previous_query = base_query | {"before": paging["cursors"]["before"]}
            paging["previous"] = str(request.url.with_query(previous_query))
        body["paging"] = paging
    if query.get("summary"):
        body["summary"] = template_summary(
            query["summary"],
            matching=len(templates),
            total=len(waba.templates),
            limit=MESSAGE_TEMPLATE_LIMIT_VERIFIED
            if waba.business_verified
            else MESSAGE_TEMPLATE_LIMIT,
            translations_complete=translations_complete(waba.templates),
        )
    return web.json_response(body)


# ---- phone numbers and registration --------------------------------------------------------


@routes.get(f"/{V}/{{object_id}}/phone_numbers")
async def list_phone_numbers(request: web.Request) -> web.Response:
    sim = _sim(request)
    waba = _waba(sim, request.match_info["object_id"], "get")
    data = [p.graph_json() for p in waba.phone_numbers.values()]
    body: dict[str, Any] = {"data": data}
    if data:
        body["paging"] = {"cursors": {"before": _cursor(0), "after": _cursor(len(data) - 1)}}
    return web.json_response(body)


@routes.post(f"/{V}/{{object_id}}/phone_numbers")
async def create_phone_number(request: web.Request) -> web.Response:
    sim = _sim(request)
    waba = _waba(sim, request.match_info["object_id"], "post")
    params = await read_params(request)
    for key in ("cc", "phone_number", "verified_name"):
        if not params.get(key):
            raise GraphError(131008, f"The parameter {key} is required.")
    digits = re.sub(r"\D", "", f"{params['cc']}{params['phone_number']}")
    if not 8 <= len(digits) <= 15:
        raise GraphError(100, f"Invalid phone number {params['cc']} {params['phone_number']}.")
    if any(p.display_phone_number == digits for p in sim.state.all_phone_numbers()):
        raise GraphError(100, f"The phone number {digits} already exists.")
    if len(waba.phone_numbers) >= sim.config.max_phone_numbers_per_waba:
        raise GraphError(
            100,
            f"This account already has {len(waba.phone_numbers)} phone numbers, the maximum.",
        )
    phone = PhoneNumber(
        id=sim.state.ids.numeric_id(),
        waba_id=waba.id,
        display_phone_number=digits,
        verified_name=str(params["verified_name"]),
        code_verification_status="NOT_VERIFIED",
        quality_rating="UNKNOWN",
        registered=False,
        connected_elsewhere=digits in sim.config.numbers_connected_elsewhere,
        two_step_pin=None,
    )
    waba.phone_numbers[phone.id] = phone
    return web.json_response({"id": phone.id})


@routes.post(f"/{V}/{{object_id}}/request_code")
async def request_code(request: web.Request) -> web.Response:
    sim = _sim(request)
    phone = _phone(sim, request.match_info["object_id"], "post")
    params = await read_params(request)
    method = str(params.get("code_method", ""))
    if method not in ("SMS", "VOICE"):
        raise GraphError(100, "Param code_method must be one of {SMS, VOICE}.")
    if not params.get("language"):
        raise GraphError(131008, "The parameter language is required.")
    phone.pending_code = sim.state.ids.verification_code(phone.id)
    phone.code_method = method
    return web.json_response({"success": True})


@routes.post(f"/{V}/{{object_id}}/verify_code")
async def verify_code(request: web.Request) -> web.Response:
    sim = _sim(request)
    phone = _phone(sim, request.match_info["object_id"], "post")
    params = await read_params(request)
    code = str(params.get("code", "")).replace("-", "").strip()
    if not code:
        raise GraphError(131008, "The parameter code is required.")
    if phone.pending_code is None or code != phone.pending_code:
        raise GraphError(136025, "The verification code is incorrect or was not requested.")
    phone.code_verification_status = "VERIFIED"
    phone.pending_code = None
    return web.json_response({"success": True})


@routes.post(f"/{V}/{{object_id}}/register")
async def register(request: web.Request) -> web.Response:
    sim = _sim(request)
    phone = _phone(sim, request.match_info["object_id"], "post")
    params = await read_params(request)
    if params.get("messaging_product") != "whatsapp":
        raise GraphError(100, "The parameter messaging_product is required.")
    pin = str(params.get("pin", ""))
    if not re.fullmatch(r"\d{6}", pin):
        raise GraphError(100, "Param pin must be a 6-digit number.")
    if phone.connected_elsewhere:
        raise GraphError(
            100,
            f"The phone number {phone.display_phone_number} is connected to another WhatsApp "
            "account, app or integration. It must be disconnected there first, then registered "
            "here.",
            subcode=NUMBER_CONNECTED_ELSEWHERE_SUBCODE,
        )
    if phone.code_verification_status != "VERIFIED":
        raise GraphError(133006, "Verify the phone number with request_code and verify_code first.")
    if phone.two_step_pin is not None and pin != phone.two_step_pin:
        phone.failed_pin_attempts += 1
        if phone.failed_pin_attempts >= 10:
            raise GraphError(133008, "Too many PIN attempts: try again in 72 hours.")
        raise GraphError(133005, "The two-step verification PIN does not match.")
    phone.two_step_pin = pin
    phone.failed_pin_attempts = 0
    phone.registered = True
    if phone.quality_rating == "UNKNOWN":
        phone.quality_rating = "GREEN"
    return web.json_response({"success": True})


@routes.post(f"/{V}/{{object_id}}/deregister")
async def deregister(request: web.Request) -> web.Response:
    phone = _phone(_sim(request), request.match_info["object_id"], "post")
    phone.registered = False
    return web.json_response({"success": True})


@routes.get(f"/{V}/{{object_id}}/whatsapp_business_profile")
async def get_business_profile(request: web.Request) -> web.Response:
    phone = _phone(_sim(request), request.match_info["object_id"], "get")
    profile = {"messaging_product": "whatsapp", "vertical": "UNDEFINED"} | phone.business_profile
    return web.json_response({"data": [profile]})


@routes.post(f"/{V}/{{object_id}}/whatsapp_business_profile")
async def update_business_profile(request: web.Request) -> web.Response:
    phone = _phone(_sim(request), request.match_info["object_id"], "post")
    params = await read_params(request)
    if params.get("messaging_product") != "whatsapp":
        raise GraphError(100, "The parameter messaging_product is required.")
    if "vertical" in params and params["vertical"] not in BUSINESS_VERTICALS:
        raise GraphError(100, f"Param vertical must be one of {sorted(BUSINESS_VERTICALS)}.")
    if len(str(params.get("description", ""))) > 512:
        raise GraphError(100, "Param description must be at most 512 characters long.")
    if len(str(params.get("about", ""))) > 139:
        raise GraphError(100, "Param about must be at most 139 characters long.")
    phone.business_profile.update({k: params[k] for k in PROFILE_FIELDS if k in params})
    return web.json_response({"success": True})


# ---- webhook subscription ------------------------------------------------------------------


@routes.post(f"/{V}/{{object_id}}/subscribed_apps")
async def subscribe_app(request: web.Request) -> web.Response:
    sim = _sim(request)
    waba = _waba(sim, request.match_info["object_id"], "post")
    params = await read_params(request)
    override = params.get("override_callback_uri")
    if override:
        verify_token = str(params.get("verify_token", ""))
        if not await _verify_callback(str(override), verify_token):
            raise GraphError(2200, f"Callback verification failed for {override}.")
    app_entry: dict[str, Any] = {
        "whatsapp_business_api_data": {
            "id": "670843887433847",
            "link": "https://www.facebook.com/games/?app_id=670843887433847",
            "name": "ttydesk",
        }
    }
    if override:
        app_entry["override_callback_uri"] = str(override)
    waba.subscribed_apps = [app_entry]
    waba.override_callback_uri = str(override) if override else None
    return web.json_response({"success": True})


async def _verify_callback(url: str, verify_token: str) -> bool:
    challenge = "1158201444"
    query = {"hub.mode": "subscribe", "hub.verify_token": verify_token, "hub.challenge": challenge}
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session,
            session.get(url, params=query) as response,
        ):
            return response.status == 200 and (await response.text()).strip() == challenge
    except (aiohttp.ClientError, TimeoutError):
        return False


@routes.get(f"/{V}/{{object_id}}/subscribed_apps")
async def list_subscribed_apps(request: web.Request) -> web.Response:
    waba = _waba(_sim(request), request.match_info["object_id"], "get")
    return web.json_response({"data": waba.subscribed_apps})


@routes.delete(f"/{V}/{{object_id}}/subscribed_apps")
async def unsubscribe_app(request: web.Request) -> web.Response:
    waba = _waba(_sim(request), request.match_info["object_id"], "delete")
    waba.subscribed_apps = []
    waba.override_callback_uri = None
    return web.json_response({"success": True})

"""The control API (`/_sim/…`, no auth, JSON) that drives the simulator."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field, ValidationError

from .config import CustomerConfig, Faults, TemplateConfig
from .customers import InboundSpecError
from .errors import status_error
from .keys import SIMULATOR
from .simulator import Simulator, pricing
from .traffic import DEFAULT_LANGUAGES, start_traffic

routes = web.RouteTableDef()


class ControlError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def response(self) -> web.Response:
        body = {"error": {"code": self.code, "message": self.message}}
        return web.json_response(body, status=self.status)


@web.middleware
async def control_errors(request: web.Request, handler: Any) -> web.StreamResponse:
    if not request.path.startswith("/_sim/"):
        return await handler(request)
    try:
        return await handler(request)
    except ControlError as exc:
        return exc.response()
    except web.HTTPNotFound:
        return ControlError(404, "not_found", f"no control route {request.path}").response()
    except web.HTTPMethodNotAllowed as exc:
        allowed = ", ".join(sorted(exc.allowed_methods))
        message = f"{request.method} is not allowed on {request.path} (allowed: {allowed})"
        return ControlError(405, "method_not_allowed", message).response()
    except InboundSpecError as exc:
        return ControlError(422, "invalid_message", str(exc)).response()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return ControlError(422, "invalid_body", f"{where}: {first['msg']}").response()
    except ValueError as exc:
        return ControlError(422, "invalid_value", str(exc)).response()


def _sim(request: web.Request) -> Simulator:
    return request.app[SIMULATOR]


async def _json(request: web.Request) -> dict[str, Any]:
    if not request.body_exists:
        return {}
    try:
        body = await request.json()
    except json.JSONDecodeError as exc:
        raise ControlError(400, "malformed_json", "the body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise ControlError(400, "malformed_json", "the body must be a JSON object")
    return body


# ---- customers --------------------------------------------------------------------------


@routes.get("/_sim/customers")
async def list_customers(request: web.Request) -> web.Response:
    customers = _sim(request).state.customers.values()
    return web.json_response({"items": [c.control_json() for c in customers]})


@routes.post("/_sim/customers")
async def upsert_customer(request: web.Request) -> web.Response:
    body = await _json(request)
    CustomerConfig.model_validate(body)  # reject bad fields before touching state
    customer = _sim(request).state.upsert_customer(body)
    return web.json_response(customer.control_json())


@routes.get("/_sim/customers/{key}")
async def get_customer(request: web.Request) -> web.Response:
    customer = _sim(request).state.customer(request.match_info["key"])
    if customer is None:
        raise ControlError(404, "not_found", "no such customer")
    return web.json_response(customer.control_json())


@routes.post("/_sim/customers/{key}/messages")
async def customer_sends(request: web.Request) -> web.Response:
    body = await _json(request)
    result = _sim(request).customer_send(request.match_info["key"], body)
    return web.json_response(result)


class PlayBody(BaseModel):
    message_id: str


@routes.post("/_sim/customers/{key}/play")
async def customer_plays(request: web.Request) -> web.Response:
    """The customer plays a voice message the business sent: a `played` status follows."""
    sim = _sim(request)
    body = PlayBody.model_validate(await _json(request))
    sent = sim.state.sent.get(body.message_id)
    if sent is None or sent.type != "audio":
        raise ControlError(404, "not_found", "no audio message with that wamid was sent")
    return web.json_response(sim.emit_status(sent, "played"))


# ---- what the business sent / what customers sent ------------------------------------------


@routes.get("/_sim/sent")
async def list_sent(request: web.Request) -> web.Response:
    sim = _sim(request)
    to = request.query.get("to")
    items = list(sim.state.sent.values())
    if to:
        customer = sim.state.customer(to)
        items = [
            m
            for m in items
            if m.input_recipient == to.lstrip("+")
            or (customer is not None and m.customer_user_id == customer.user_id)
        ]
    limit = int(request.query.get("limit", "500"))
    return web.json_response({"items": [m.control_json() for m in items[-limit:]]})


@routes.get("/_sim/received")
async def list_received(request: web.Request) -> web.Response:
    items = list(_sim(request).state.received.values())
    limit = int(request.query.get("limit", "500"))
    return web.json_response({"items": [m.control_json() for m in items[-limit:]]})


class StatusBody(BaseModel):
    message_id: str
    status: str = "delivered"
    error_code: int | None = None
    error_details: str | None = None
    with_pricing: bool = False


@routes.post("/_sim/statuses")
async def emit_status(request: web.Request) -> web.Response:
    sim = _sim(request)
    body = StatusBody.model_validate(await _json(request))
    sent = sim.state.sent.get(body.message_id)
    if sent is None:
        raise ControlError(404, "not_found", "no message with that wamid was sent")
    if body.status == "failed" and body.error_code is None:
        body.error_code = 131000
    pricing_info = None
    if body.with_pricing:
        pricing_info = pricing(sent.category, window_open=True, at=sent.created_at)
    item = sim.emit_status(
        sent, body.status, body.error_code, body.error_details, pricing_info=pricing_info
    )
    return web.json_response(item)


# ---- faults, deliveries, clock, webhook target -------------------------------------------------


@routes.get("/_sim/faults")
async def get_faults(request: web.Request) -> web.Response:
    return web.json_response(_sim(request).state.faults.model_dump())


@routes.post("/_sim/faults")
async def set_faults(request: web.Request) -> web.Response:
    sim = _sim(request)
    body = await _json(request)
    merged = sim.state.faults.model_dump() | body
    sim.state.faults = Faults.model_validate(merged)
    return web.json_response(sim.state.faults.model_dump())


@routes.get("/_sim/deliveries")
async def list_deliveries(request: web.Request) -> web.Response:
    deliveries = list(_sim(request).webhooks.deliveries)
    state = request.query.get("state")
    if state:
        deliveries = [d for d in deliveries if d.state == state]
    limit = int(request.query.get("limit", "500"))
    return web.json_response({"items": [d.control_json() for d in deliveries[-limit:]]})


class ClockBody(BaseModel):
    advance_seconds: float = 0.0


@routes.get("/_sim/clock")
async def get_clock(request: web.Request) -> web.Response:
    clock = _sim(request).clock
    return web.json_response({"now": clock.now(), "offset_seconds": clock.offset_s})


@routes.post("/_sim/clock")
async def advance_clock(request: web.Request) -> web.Response:
    clock = _sim(request).clock
    clock.advance(ClockBody.model_validate(await _json(request)).advance_seconds)
    return web.json_response({"now": clock.now(), "offset_seconds": clock.offset_s})


class WebhookTargetBody(BaseModel):
    url: str | None


@routes.post("/_sim/webhook")
async def set_webhook_target(request: web.Request) -> web.Response:
    sim = _sim(request)
    sim.webhook_url = WebhookTargetBody.model_validate(await _json(request)).url
    return web.json_response({"url": sim.webhook_url})


class EventBody(BaseModel):
    field: str
    value: dict[str, Any]
    waba_id: str | None = None


@routes.post("/_sim/events")
async def emit_event(request: web.Request) -> web.Response:
    """Deliver an arbitrary change (`account_update`, `phone_number_quality_update`, …)."""
    sim = _sim(request)
    body = EventBody.model_validate(await _json(request))
    waba_id = body.waba_id or next(iter(sim.state.wabas))
    sim.emit_change(waba_id, body.field, body.value)
    return web.json_response({"queued": True})


# ---- templates, registration codes, phone numbers ----------------------------------------------


class TemplateBody(TemplateConfig):
    waba_id: str | None = None
    notify: bool = False
    """Send a `message_template_status_update` webhook."""
    reason: str | None = None


@routes.post("/_sim/templates")
async def upsert_template(request: web.Request) -> web.Response:
    sim = _sim(request)
    body = TemplateBody.model_validate(await _json(request))
    waba_id = body.waba_id or next(iter(sim.state.wabas))
    waba = sim.state.wabas.get(waba_id)
    if waba is None:
        raise ControlError(404, "not_found", f"no WABA {waba_id}")
    existing = next(
        (t for t in waba.templates if t.name == body.name and t.language == body.language), None
    )
    if existing is None:
        template = sim.state.template_from_config(body)
        waba.templates.append(template)
    else:
        template = existing
        fields = body.model_dump(exclude_unset=True)
        for key in ("status", "category", "parameter_format", "components"):
            if key in fields:
                setattr(template, key, fields[key])
    if body.notify:
        sim.emit_change(
            waba.id,
            "message_template_status_update",
            {
                "event": template.status,
                "message_template_id": int(template.id),
                "message_template_name": template.name,
                "message_template_language": template.language,
                "reason": body.reason or "NONE",
                "message_template_category": template.category,
            },
        )
    return web.json_response(template.graph_json())


@routes.get("/_sim/codes/{phone_number_id}")
async def verification_code(request: web.Request) -> web.Response:
    sim = _sim(request)
    phone = sim.state.phone_number(request.match_info["phone_number_id"])
    if phone is None:
        raise ControlError(404, "not_found", "no such phone number")
    return web.json_response(
        {
            "phone_number_id": phone.id,
            "code": sim.state.ids.verification_code(phone.id),
            "requested": phone.pending_code is not None,
            "code_method": phone.code_method,
        }
    )


class PhoneFlagsBody(BaseModel):
    connected_elsewhere: bool | None = None
    registered: bool | None = None
    quality_rating: str | None = None
    code_verification_status: str | None = None


@routes.post("/_sim/phone_numbers/{phone_number_id}")
async def set_phone_flags(request: web.Request) -> web.Response:
    sim = _sim(request)
    phone = sim.state.phone_number(request.match_info["phone_number_id"])
    if phone is None:
        raise ControlError(404, "not_found", "no such phone number")
    body = PhoneFlagsBody.model_validate(await _json(request))
    for key, value in body.model_dump(exclude_none=True).items():
        setattr(phone, key, value)
    return web.json_response(
        phone.graph_json() | {"connected_elsewhere": phone.connected_elsewhere}
    )


# ---- traffic, state, reset ------------------------------------------------------------------


class TrafficBody(BaseModel):
    rate: float = Field(gt=0)
    duration: float | None = None
    languages: list[str] = Field(default_factory=lambda: list(DEFAULT_LANGUAGES))
    poisson: bool = True
    customers: int = Field(default=50, ge=1)


@routes.post("/_sim/traffic")
async def start_traffic_route(request: web.Request) -> web.Response:
    sim = _sim(request)
    body = TrafficBody.model_validate(await _json(request))
    await start_traffic(
        sim,
        rate=body.rate,
        duration=body.duration,
        languages=body.languages,
        poisson=body.poisson,
        customer_count=body.customers,
    )
    return web.json_response({"running": True} | sim.traffic_stats)


@routes.get("/_sim/traffic")
async def traffic_status(request: web.Request) -> web.Response:
    sim = _sim(request)
    running = sim.traffic_task is not None and not sim.traffic_task.done()
    return web.json_response({"running": running} | sim.traffic_stats)


@routes.delete("/_sim/traffic")
async def stop_traffic(request: web.Request) -> web.Response:
    sim = _sim(request)
    await sim.stop_traffic()
    return web.json_response({"running": False} | sim.traffic_stats)


@routes.get("/_sim/state")
async def state_summary(request: web.Request) -> web.Response:
    sim = _sim(request)
    state = sim.state
    return web.json_response(
        {
            "webhook_url": sim.webhook_url,
            "public_url": sim.public_url,
            "wabas": [
                w.graph_json()
                | {
                    "phone_numbers": [p.graph_json() for p in w.phone_numbers.values()],
                    "subscribed_apps": w.subscribed_apps,
                }
                for w in state.wabas.values()
            ],
            "customers": len(state.customers),
            "sent": len(state.sent),
            "received": len(state.received),
            "media": len(state.media),
            "deliveries": len(sim.webhooks.deliveries),
            "clock_offset_seconds": sim.clock.offset_s,
        }
    )


@routes.post("/_sim/reset")
async def reset(request: web.Request) -> web.Response:
    await _sim(request).reset()
    return web.json_response({"reset": True})


@routes.get("/_sim/errors/{code}")
async def describe_error(request: web.Request) -> web.Response:
    """The `errors[]` item a failed status would carry for this code (for UIs and docs)."""
    try:
        code = int(request.match_info["code"])
    except ValueError as exc:
        raise ControlError(422, "invalid_code", "the code must be an integer") from exc
    return web.json_response(status_error(code))

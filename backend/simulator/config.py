"""Configuration of the WhatsApp Cloud API simulator.

Everything has a default, so `SimulatorConfig()` is a working simulator with one
business account, two phone numbers and a handful of templates.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field


class PhoneNumberConfig(BaseModel):
    """A phone number of a WhatsApp Business Account."""

    id: str
    display_phone_number: str
    verified_name: str = "ttydesk Demo"
    code_verification_status: str = "VERIFIED"
    quality_rating: str = "GREEN"
    registered: bool = True
    """Registered for the Cloud API (sends from an unregistered number fail with 133010)."""
    connected_elsewhere: bool = False
    """Connected to another WhatsApp account, app or integration: `register` refuses it."""
    two_step_pin: str | None = None
    """The number's existing two-step PIN; `register` must then present it."""


class TemplateConfig(BaseModel):
    """A message template as Meta lists it under `/{waba_id}/message_templates`."""

    name: str
    language: str = "en_US"
    status: str = "APPROVED"
    category: str = "UTILITY"
    parameter_format: Literal["POSITIONAL", "NAMED"] = "POSITIONAL"
    components: list[dict[str, Any]] = Field(default_factory=list)
    id: str | None = None


class WabaConfig(BaseModel):
    """A WhatsApp Business Account (WABA)."""

    id: str = "102290129340398"
    name: str = "ttydesk Demo"
    account_type: Literal["BUSINESS", "PERSONAL"] = "BUSINESS"
    """Not a Meta field: the simulator's way to model a personal (non-business)
    account, which the connection wizard must refuse. `GET /{waba_id}` returns it."""
    business_verified: bool = True
    """Whether the Meta Business Manager account is verified (`business_verification_status`)."""
    phone_numbers: list[PhoneNumberConfig] = Field(
        default_factory=lambda: [
            PhoneNumberConfig(id="106540352242922", display_phone_number="15550001111"),
            PhoneNumberConfig(
                id="106540352242923",
                display_phone_number="15550002222",
                verified_name="ttydesk Demo Sales",
            ),
        ]
    )
    templates: list[TemplateConfig] = Field(default_factory=lambda: default_templates())


class CustomerConfig(BaseModel):
    """A simulated customer (the same fields `POST /_sim/customers` takes)."""

    user_id: str | None = None
    """Business-scoped user id (BSUID), e.g. `ES.1502576394655843`; generated when absent."""
    wa_id: str | None = None
    """Phone-style WhatsApp id (digits). None for a username-only user."""
    parent_user_id: str | None = None
    name: str = "Customer"
    username: str | None = None
    country: str = "US"
    read_receipts: bool = True
    auto_read: bool = True
    """The customer reads what the business sends (a `read` status follows if receipts are on)."""
    blocked: bool = False
    """Blocked the business: sends stay `sent` forever."""
    on_whatsapp: bool = True
    """False: every send fails with 131026."""
    fail_with: int | None = None
    """Every send to this customer fails asynchronously with this error code."""
    phone_number_id: str | None = None
    """The business number this customer writes to (default: the first registered one)."""
    last_inbound_at: float | None = None
    """Unix time of the customer's last message (opens the 24 h window)."""


class StatusTiming(BaseModel):
    """Seconds between a send and each status webhook (each step after the previous)."""

    sent: float = 0.05
    delivered: float = 0.4
    read: float = 1.5


class ScriptedFailure(BaseModel):
    """One Graph API call to fail, consumed by the first request it matches."""

    kind: Literal["error", "5xx", "timeout", "rate_limit", "token_expired"] = "error"
    code: int = 131000
    http_status: int = 400
    details: str = "Scripted failure"
    path_contains: str = "/messages"
    method: str | None = "POST"


class Faults(BaseModel):
    """Faults and chaos, switchable at run time through `POST /_sim/faults`."""

    latency_ms: int = 0
    """Added to every Graph API call."""
    error_rate_5xx: float = 0.0
    """Fraction of Graph API calls answered 500 (code 131000) without doing anything."""
    timeout_rate: float = 0.0
    """Fraction of Graph API calls that are processed (a send *is* accepted) and then hang
    for `timeout_hang_s` before answering, past the client's timeout."""
    timeout_hang_s: float = 35.0
    rate_limit_rate: float = 0.0
    """Fraction of Graph API calls answered 429 with code 130429."""
    token_expired: bool = False
    """Every Graph API call answers 401 with code 190."""
    drop_webhook_rate: float = 0.0
    """Fraction of webhook deliveries silently dropped (recorded as `dropped`)."""
    status_out_of_order_rate: float = 0.0
    """Fraction of sends whose `delivered` and `read` statuses are emitted in reverse order."""
    status_duplicate_rate: float = 0.0
    """Fraction of status webhooks emitted twice."""
    batch_webhooks: bool = False
    """Merge events queued within `WebhookDeliveryConfig.batch_window_s` into one POST."""
    fail_next: list[ScriptedFailure] = Field(default_factory=list)


class WebhookDeliveryConfig(BaseModel):
    """How webhooks are delivered to the backend."""

    concurrency: int = 4
    """Parallel POSTs (Meta's deliveries are unordered; use 1 for a strict order)."""
    timeout_s: float = 10.0
    max_attempts: int = 6
    """Attempts before a delivery is abandoned (Meta keeps trying for 7 days)."""
    retry_base_delay_s: float = 1.0
    retry_max_delay_s: float = 30.0
    batch_window_s: float = 0.05
    batch_max_events: int = 20
    keep_deliveries: int = 2000
    """How many delivery records `GET /_sim/deliveries` keeps."""


class SimulatorConfig(BaseModel):
    """Everything the simulator needs. Load from JSON with `SimulatorConfig.from_file`."""

    host: str = "127.0.0.1"
    port: int = 8090
    public_url: str | None = None
    """Base URL the simulator is reached at (for media URLs); default `http://{host}:{port}`."""
    webhook_url: str | None = "http://127.0.0.1:8580/webhooks/whatsapp"
    """Where signed webhooks go; None keeps them recorded but undelivered."""
    app_secret: str = "sim-app-secret"
    access_token: str = "sim-access-token"
    """The bearer token the backend must present; anything else gets error 190."""
    api_version: str = "v26.0"
    """The version used in URLs the simulator builds; requests may use any `vNN.N`."""
    wabas: list[WabaConfig] = Field(default_factory=lambda: [WabaConfig()])
    customers: list[CustomerConfig] = Field(default_factory=list)
    seed: int = 1
    status_timing: StatusTiming = Field(default_factory=StatusTiming)
    webhooks: WebhookDeliveryConfig = Field(default_factory=WebhookDeliveryConfig)
    faults: Faults = Field(default_factory=Faults)
    media_url_ttl_s: float = 300.0
    session_window_s: float = 24 * 3600.0
    echo_callback_data_on_failed: bool = False
    """Meta does not document `biz_opaque_callback_data` on `failed` statuses."""
    max_phone_numbers_per_waba: int = 25
    keep_messages: int = 100_000
    """How many sent and received messages the simulator remembers (oldest dropped first)."""
    numbers_connected_elsewhere: list[str] = Field(default_factory=list)
    """Numbers (digits, with country code) that, once created with `POST
    /{waba_id}/phone_numbers`, are flagged as connected to another app or integration."""

    @classmethod
    def from_file(cls, path: str | Path) -> SimulatorConfig:
        return cls.model_validate(json.loads(Path(path).read_text(encoding="utf-8")))


def default_templates() -> list[TemplateConfig]:
    return [
        TemplateConfig(
            name="hello_world",
            language="en_US",
            category="UTILITY",
            components=[
                {"type": "HEADER", "format": "TEXT", "text": "Hello World"},
                {
                    "type": "BODY",
                    "text": "Welcome and congratulations!! This message demonstrates your "
                    "ability to send a WhatsApp message notification from the Cloud API.",
                },
                {"type": "FOOTER", "text": "WhatsApp Business Platform sample message"},
            ],
        ),
        TemplateConfig(
            name="order_update",
            language="en_US",
            category="UTILITY",
            components=[
                {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["4::aW=="]}},
                {
                    "type": "BODY",
                    "text": "Hi {{1}}, your order {{2}} is on its way.",
                    "example": {"body_text": [["Maria", "A123"]]},
                },
                {
                    "type": "BUTTONS",
                    "buttons": [
                        {
                            "type": "URL",
                            "text": "Track",
                            "url": "https://example.com/track/{{1}}",
                            "example": ["https://example.com/track/A123"],
                        },
                        {"type": "QUICK_REPLY", "text": "Talk to us"},
                    ],
                },
            ],
        ),
        TemplateConfig(
            name="order_update",
            language="es_ES",
            category="UTILITY",
            components=[
                {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["4::aW=="]}},
                {
                    "type": "BODY",
                    "text": "Hola {{1}}, tu pedido {{2}} está en camino.",
                    "example": {"body_text": [["María", "A123"]]},
                },
                {
                    "type": "BUTTONS",
                    "buttons": [
                        {
                            "type": "URL",
                            "text": "Seguir",
                            "url": "https://example.com/track/{{1}}",
                            "example": ["https://example.com/track/A123"],
                        },
                        {"type": "QUICK_REPLY", "text": "Hablar con nosotros"},
                    ],
                },
            ],
        ),
        TemplateConfig(
            name="appointment_reminder",
            language="en_US",
            category="UTILITY",
            parameter_format="NAMED",
            components=[
                {
                    "type": "BODY",
                    "text": "Hi {{first_name}}, see you on {{date}}.",
                    "example": {
                        "body_text_named_params": [
                            {"param_name": "first_name", "example": "Maria"},
                            {"param_name": "date", "example": "1 December"},
                        ]
                    },
                },
            ],
        ),
        TemplateConfig(
            name="follow_up",
            language="en_US",
            category="MARKETING",
            components=[
                {
                    "type": "BODY",
                    "text": "Hi {{1}}, how did we do? Reply to tell us.",
                    "example": {"body_text": [["Maria"]]},
                },
                {"type": "FOOTER", "text": "Reply STOP to opt out"},
            ],
        ),
        TemplateConfig(
            name="spring_sale",
            language="en_US",
            category="MARKETING",
            status="PENDING",
            components=[{"type": "BODY", "text": "Spring sale: 20% off everything."}],
        ),
        TemplateConfig(
            name="winter_sale",
            language="en_US",
            category="MARKETING",
            status="REJECTED",
            components=[{"type": "BODY", "text": "Winter sale!!! Click now!!!"}],
        ),
        TemplateConfig(
            name="login_code",
            language="en_US",
            category="AUTHENTICATION",
            components=[
                {
                    "type": "BODY",
                    "text": "*{{1}}* is your verification code.",
                    "example": {"body_text": [["123456"]]},
                },
                {
                    "type": "BUTTONS",
                    "buttons": [{"type": "OTP", "otp_type": "COPY_CODE", "text": "Copy code"}],
                },
            ],
        ),
    ]

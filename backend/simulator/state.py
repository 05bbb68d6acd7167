"""The simulator's data model: accounts, numbers, customers, messages, media, templates."""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
import time
from dataclasses import dataclass, field
from typing import Any

import phonenumbers

from .config import (
    CustomerConfig,
    PhoneNumberConfig,
    SimulatorConfig,
    TemplateConfig,
    WabaConfig,
)
from .templates import with_examples


class SimClock:
    """Wall-clock time plus an offset that `POST /_sim/clock` can advance."""

    def __init__(self) -> None:
        self.offset_s = 0.0

    def now(self) -> float:
        return time.time() + self.offset_s

    def advance(self, seconds: float) -> None:
        self.offset_s += seconds


@dataclass
class PhoneNumber:
    id: str
    waba_id: str
    display_phone_number: str
    verified_name: str
    code_verification_status: str
    quality_rating: str
    registered: bool
    connected_elsewhere: bool
    two_step_pin: str | None
    pending_code: str | None = None
    code_method: str | None = None
    failed_pin_attempts: int = 0
    business_profile: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_config(cls, waba_id: str, cfg: PhoneNumberConfig) -> PhoneNumber:
        return cls(
            id=cfg.id,
            waba_id=waba_id,
            display_phone_number=cfg.display_phone_number,
            verified_name=cfg.verified_name,
            code_verification_status=cfg.code_verification_status,
            quality_rating=cfg.quality_rating,
            registered=cfg.registered,
            connected_elsewhere=cfg.connected_elsewhere,
            two_step_pin=cfg.two_step_pin,
        )

    def graph_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "display_phone_number": self.display_phone_number,
            "verified_name": self.verified_name,
            "code_verification_status": self.code_verification_status,
            "quality_rating": self.quality_rating,
            "platform_type": "CLOUD_API" if self.registered else "NOT_APPLICABLE",
            "status": "CONNECTED" if self.registered else "PENDING",
            "whatsapp_business_manager_messaging_limit": "TIER_1K",
            "throughput": {"level": "STANDARD"},
        }


@dataclass
class Template:
    id: str
    name: str
    language: str
    status: str
    category: str
    parameter_format: str
    components: list[dict[str, Any]]

    def graph_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "parameter_format": self.parameter_format,
            "components": with_examples(self.components, self.parameter_format),
            "language": self.language,
            "status": self.status,
            "category": self.category,
            "id": self.id,
        }


@dataclass
class Waba:
    id: str
    name: str
    account_type: str
    business_verified: bool
    phone_numbers: dict[str, PhoneNumber]
    templates: list[Template]
    subscribed_apps: list[dict[str, Any]] = field(default_factory=list)
    override_callback_uri: str | None = None

    def graph_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "account_type": self.account_type,
            "business_verification_status": (
                "verified" if self.business_verified else "not_verified"
            ),
            "account_review_status": "APPROVED",
            "currency": "USD",
            "timezone_id": "1",
            "message_template_namespace": hashlib.md5(self.id.encode()).hexdigest()[:32],
            "ownership_type": "SELF",
        }


@dataclass
class Customer:
    user_id: str
    wa_id: str | None
    parent_user_id: str | None
    name: str
    username: str | None
    country: str
    read_receipts: bool
    auto_read: bool
    blocked: bool
    on_whatsapp: bool
    fail_with: int | None
    phone_number_id: str | None
    last_inbound_at: float | None

    def contact_json(self, *, with_username: bool = True) -> dict[str, Any]:
        """The webhook's `contacts[]` entry."""
        profile: dict[str, Any] = {"name": self.name}
        if self.username and with_username:
            profile["username"] = self.username
        contact: dict[str, Any] = {"profile": profile}
        if self.wa_id:
            contact["wa_id"] = self.wa_id
        contact["user_id"] = self.user_id
        if self.parent_user_id:
            contact["parent_user_id"] = self.parent_user_id
        return contact

    def control_json(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "wa_id": self.wa_id,
            "parent_user_id": self.parent_user_id,
            "name": self.name,
            "username": self.username,
            "country": self.country,
            "read_receipts": self.read_receipts,
            "auto_read": self.auto_read,
            "blocked": self.blocked,
            "on_whatsapp": self.on_whatsapp,
            "fail_with": self.fail_with,
            "phone_number_id": self.phone_number_id,
            "last_inbound_at": self.last_inbound_at,
        }


@dataclass
class SentMessage:
    """A message the business sent through `POST /{phone_number_id}/messages`."""

    wamid: str
    phone_number_id: str
    customer_user_id: str | None
    input_recipient: str
    addressed_by: str  # "to" (phone) or "recipient" (BSUID)
    type: str
    body: dict[str, Any]
    biz_opaque_callback_data: str | None
    created_at: float
    category: str  # pricing category: service | utility | marketing | authentication
    statuses: list[dict[str, Any]] = field(default_factory=list)

    def control_json(self) -> dict[str, Any]:
        return {
            "wamid": self.wamid,
            "phone_number_id": self.phone_number_id,
            "customer_user_id": self.customer_user_id,
            "input": self.input_recipient,
            "addressed_by": self.addressed_by,
            "type": self.type,
            "body": self.body,
            "biz_opaque_callback_data": self.biz_opaque_callback_data,
            "created_at": self.created_at,
            "statuses": [s["status"] for s in self.statuses],
        }


@dataclass
class ReceivedMessage:
    """A message a simulated customer sent (delivered to the backend as a webhook)."""

    wamid: str
    phone_number_id: str
    customer_user_id: str
    message: dict[str, Any]
    created_at: float
    read_by_business: bool = False
    typing_indicator_shown: bool = False

    def control_json(self) -> dict[str, Any]:
        return {
            "wamid": self.wamid,
            "phone_number_id": self.phone_number_id,
            "customer_user_id": self.customer_user_id,
            "type": self.message.get("type"),
            "message": self.message,
            "created_at": self.created_at,
            "read_by_business": self.read_by_business,
            "typing_indicator_shown": self.typing_indicator_shown,
        }


@dataclass
class MediaItem:
    id: str
    data: bytes
    mime_type: str
    sha256: str
    filename: str | None
    created_at: float
    phone_number_id: str | None
    deleted: bool = False

    @property
    def file_size(self) -> int:
        return len(self.data)


class IdFactory:
    """Seeded generator of Meta-looking ids (wamids, media ids, BSUIDs, codes)."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.random = random.Random(seed)
        self._counter = 0
        self._numeric_base = self.random.randrange(10**15, 9 * 10**15)

    def _next(self) -> int:
        self._counter += 1
        return self._counter

    def wamid(self, wa_id: str | None = None) -> str:
        raw = (wa_id or "0").encode() + b"\x15\x02\x00\x12\x18" + self.random.randbytes(12)
        raw += self._next().to_bytes(4, "big")
        return "wamid.HBgL" + base64.b64encode(raw).decode()

    def call_id(self) -> str:
        return "wacid.HBgL" + base64.b64encode(self.random.randbytes(18)).decode()

    def identity_hash(self) -> str:
        return base64.b64encode(self.random.randbytes(8)).decode()

    def numeric_id(self) -> str:
        return str(self._numeric_base + self._next())

    def bsuid(self, country: str) -> str:
        return f"{country.upper()}.{self.random.randrange(10**15, 10**19)}"

    def verification_code(self, phone_number_id: str) -> str:
        digest = hmac.new(str(self.seed).encode(), phone_number_id.encode(), hashlib.sha256)
        return f"{int(digest.hexdigest(), 16) % 1_000_000:06d}"


class SimState:
    """All mutable state; `reset()` brings it back to what the config describes."""

    def __init__(self, config: SimulatorConfig, clock: SimClock) -> None:
        self.config = config
        self.clock = clock
        self.reset()

    def reset(self) -> None:
        self.ids = IdFactory(self.config.seed)
        self.random = random.Random(self.config.seed + 1)
        self.wabas: dict[str, Waba] = {}
        for waba_config in self.config.wabas:
            self.wabas[waba_config.id] = self._waba_from_config(waba_config)
        self.customers: dict[str, Customer] = {}
        self.customers_by_wa_id: dict[str, str] = {}
        self.sent: dict[str, SentMessage] = {}
        self.last_sent_to: dict[str, str] = {}  # customer user_id -> wamid
        self.received: dict[str, ReceivedMessage] = {}
        # group id -> when a member last wrote in it (its window, like a customer's)
        self.group_last_inbound: dict[str, float] = {}
        self.media: dict[str, MediaItem] = {}
        self.faults = self.config.faults.model_copy(deep=True)
        for customer_config in self.config.customers:
            self.upsert_customer(customer_config.model_dump(exclude_unset=True))

    def _waba_from_config(self, cfg: WabaConfig) -> Waba:
        return Waba(
            id=cfg.id,
            name=cfg.name,
            account_type=cfg.account_type,
            business_verified=cfg.business_verified,
            phone_numbers={p.id: PhoneNumber.from_config(cfg.id, p) for p in cfg.phone_numbers},
            templates=[self.template_from_config(t) for t in cfg.templates],
        )

    def template_from_config(self, cfg: TemplateConfig) -> Template:
        return Template(
            id=cfg.id or self.ids.numeric_id(),
            name=cfg.name,
            language=cfg.language,
            status=cfg.status,
            category=cfg.category,
            parameter_format=cfg.parameter_format,
            components=cfg.components,
        )

    # ---- lookups -------------------------------------------------------------------

    def phone_number(self, phone_number_id: str) -> PhoneNumber | None:
        for waba in self.wabas.values():
            if phone_number_id in waba.phone_numbers:
                return waba.phone_numbers[phone_number_id]
        return None

    def all_phone_numbers(self) -> list[PhoneNumber]:
        return [p for w in self.wabas.values() for p in w.phone_numbers.values()]

    def default_phone_number(self) -> PhoneNumber:
        numbers = self.all_phone_numbers()
        registered = [p for p in numbers if p.registered]
        if not (registered or numbers):
            raise LookupError("the simulator has no phone number")
        return (registered or numbers)[0]

    def customer(self, key: str) -> Customer | None:
        """Find a customer by BSUID or by wa_id (a leading + is ignored)."""
        if key in self.customers:
            return self.customers[key]
        user_id = self.customers_by_wa_id.get(key.lstrip("+"))
        return self.customers.get(user_id) if user_id else None

    def upsert_customer(self, fields: dict[str, Any]) -> Customer:
        existing = None
        if fields.get("user_id"):
            existing = self.customers.get(fields["user_id"])
        if existing is None and fields.get("wa_id"):
            existing = self.customer(str(fields["wa_id"]))
        if existing is not None:
            merged = existing.control_json() | {
                k: v for k, v in fields.items() if k in existing.control_json()
            }
            if existing.wa_id and existing.wa_id != merged.get("wa_id"):
                self.customers_by_wa_id.pop(existing.wa_id, None)
            if existing.user_id != merged["user_id"]:
                self.customers.pop(existing.user_id, None)
            values = CustomerConfig.model_validate(merged)
        else:
            if not fields.get("country") and fields.get("wa_id"):
                fields = fields | {"country": country_of(str(fields["wa_id"]))}
            values = CustomerConfig.model_validate(fields)
        user_id = values.user_id or self.ids.bsuid(values.country)
        customer = Customer(
            user_id=user_id,
            wa_id=values.wa_id.lstrip("+") if values.wa_id else None,
            parent_user_id=values.parent_user_id,
            name=values.name,
            username=values.username,
            country=values.country,
            read_receipts=values.read_receipts,
            auto_read=values.auto_read,
            blocked=values.blocked,
            on_whatsapp=values.on_whatsapp,
            fail_with=values.fail_with,
            phone_number_id=values.phone_number_id,
            last_inbound_at=values.last_inbound_at,
        )
        self.customers[user_id] = customer
        if customer.wa_id:
            self.customers_by_wa_id[customer.wa_id] = user_id
        return customer

    def rename_customer(self, customer: Customer, *, user_id: str, wa_id: str | None) -> None:
        """Apply a number or BSUID change (system messages)."""
        self.customers.pop(customer.user_id, None)
        if customer.wa_id:
            self.customers_by_wa_id.pop(customer.wa_id, None)
        customer.user_id = user_id
        customer.wa_id = wa_id
        self.customers[user_id] = customer
        if wa_id:
            self.customers_by_wa_id[wa_id] = user_id

    def record_sent(self, sent: SentMessage) -> None:
        self.sent[sent.wamid] = sent
        if sent.customer_user_id:
            self.last_sent_to[sent.customer_user_id] = sent.wamid
        while len(self.sent) > self.config.keep_messages:
            del self.sent[next(iter(self.sent))]

    def record_received(self, received: ReceivedMessage) -> None:
        self.received[received.wamid] = received
        while len(self.received) > self.config.keep_messages:
            del self.received[next(iter(self.received))]

    def window_open(self, customer: Customer) -> bool:
        if customer.last_inbound_at is None:
            return False
        return self.clock.now() < customer.last_inbound_at + self.config.session_window_s

    def group_window_open(self, group_id: str) -> bool:
        last = self.group_last_inbound.get(group_id)
        return last is not None and self.clock.now() < last + self.config.session_window_s

    def find_templates(self, name: str) -> list[Template]:
        return [t for w in self.wabas.values() for t in w.templates if t.name == name]

    def template(self, template_id: str) -> Template | None:
        return next(
            (t for w in self.wabas.values() for t in w.templates if t.id == template_id), None
        )

    def add_media(
        self,
        data: bytes,
        mime_type: str,
        *,
        filename: str | None = None,
        phone_number_id: str | None = None,
    ) -> MediaItem:
        item = MediaItem(
            id=self.ids.numeric_id(),
            data=data,
            mime_type=mime_type,
            sha256=hashlib.sha256(data).hexdigest(),
            filename=filename,
            created_at=self.clock.now(),
            phone_number_id=phone_number_id,
        )
        self.media[item.id] = item
        return item


def country_of(wa_id: str) -> str:
    """ISO country of a phone-style wa_id (for generated BSUIDs); US when unknown."""
    try:
        number = phonenumbers.parse("+" + wa_id.lstrip("+"))
    except phonenumbers.NumberParseException:
        return "US"
    region = phonenumbers.region_code_for_country_code(number.country_code)
    return region if region and region != "ZZ" else "US"

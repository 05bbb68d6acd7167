"""The simulator's core: what happens when the business sends and a customer writes."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import random
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from .config import ScriptedFailure, SimulatorConfig
from .customers import build_inbound
from .errors import GraphError, status_error
from .sending import validate_send
from .state import (
    Customer,
    MediaItem,
    PhoneNumber,
    ReceivedMessage,
    SentMessage,
    SimClock,
    SimState,
)
from .webhooks import MessagesValue, WebhookDispatcher, WebhookEvent

STATUSES_WITH_USERNAME = ("delivered", "read")
# Service (non-template) messages and utility templates inside the window are free until then.
SERVICE_BILLING_STARTS = datetime(2026, 10, 1, tzinfo=UTC).timestamp()


class Simulator:
    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.clock = SimClock()
        self.state = SimState(config, self.clock)
        self.public_url = (config.public_url or _local_url(config.host, config.port)).rstrip("/")
        self.webhook_url = config.webhook_url
        self.random = random.Random(config.seed + 2)
        self.webhooks = WebhookDispatcher(
            config=config.webhooks,
            app_secret=config.app_secret,
            faults=lambda: self.state.faults,
            url_for_waba=self._webhook_url_for,
            now=self.clock.now,
            seed=config.seed,
        )
        self._timers: set[asyncio.TimerHandle] = set()
        self.traffic_task: asyncio.Task[Any] | None = None
        self.traffic_stats: dict[str, Any] = {}

    # ---- lifecycle ---------------------------------------------------------------

    async def start(self) -> None:
        await self.webhooks.start()

    async def stop(self) -> None:
        await self.stop_traffic()
        self._cancel_timers()
        await self.webhooks.stop()

    async def reset(self) -> None:
        await self.stop_traffic()
        self._cancel_timers()
        self.webhooks.clear()
        self.clock.offset_s = 0.0
        self.webhook_url = self.config.webhook_url
        self.random = random.Random(self.config.seed + 2)
        self.state.reset()

    async def stop_traffic(self) -> None:
        task, self.traffic_task = self.traffic_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def wait_idle(self, timeout: float = 10.0) -> None:
        """Wait until no status is scheduled and every webhook has been delivered (or
        given up). Tests call this instead of sleeping."""
        async with asyncio.timeout(timeout):
            while self._timers or self.webhooks.busy():
                await asyncio.sleep(0.005)

    def _cancel_timers(self) -> None:
        for handle in self._timers:
            handle.cancel()
        self._timers.clear()

    def later(self, delay: float, callback: Callable[[], None]) -> None:
        loop = asyncio.get_running_loop()

        def run() -> None:
            self._timers.discard(handle)
            callback()

        handle = loop.call_later(max(0.0, delay), run)
        self._timers.add(handle)

    # ---- webhooks ----------------------------------------------------------------

    def _webhook_url_for(self, waba_id: str) -> str | None:
        waba = self.state.wabas.get(waba_id)
        if waba is not None and waba.override_callback_uri:
            return waba.override_callback_uri
        return self.webhook_url

    def emit_messages_value(self, phone: PhoneNumber, value: MessagesValue) -> None:
        self.webhooks.enqueue(WebhookEvent(phone.waba_id, "messages", value.to_json()))

    def emit_change(self, waba_id: str, field: str, value: dict[str, Any]) -> None:
        """Any other change. Meta stamps account-level ones (template status, account
        update, …) with `entry[].time`; phone-number-scoped ones carry `metadata` instead."""
        time = None if "metadata" in value else int(self.clock.now())
        self.webhooks.enqueue(WebhookEvent(waba_id, field, value, time))

    # ---- media -------------------------------------------------------------------

    def _media_signature(self, media_id: str, expires: int) -> str:
        key = self.config.app_secret.encode()
        return hmac.new(key, f"{media_id}:{expires}".encode(), hashlib.sha256).hexdigest()[:32]

    def media_url(self, item: MediaItem, base_url: str | None = None) -> str:
        """A signed download URL that expires after `media_url_ttl_s`."""
        expires = int(self.clock.now() + self.config.media_url_ttl_s)
        signature = self._media_signature(item.id, expires)
        return (
            f"{base_url or self.public_url}/whatsapp_business/attachments/"
            f"?mid={item.id}&ext={expires}&hash={signature}"
        )

    def media_url_valid(self, media_id: str, expires: str, signature: str) -> bool:
        if not expires.isdigit():
            return False
        expected = self._media_signature(media_id, int(expires))
        return hmac.compare_digest(expected, signature) and self.clock.now() <= int(expires)

    # ---- customers write ---------------------------------------------------------

    def customer_for_key(self, key: str) -> Customer:
        """Find a customer by wa_id or BSUID, creating one when unknown."""
        customer = self.state.customer(key)
        if customer is not None:
            return customer
        digits = key.lstrip("+")
        if digits.isdigit():
            return self.state.upsert_customer({"wa_id": digits, "name": f"+{digits}"})
        country = key.split(".", 1)[0] if "." in key else "US"
        return self.state.upsert_customer({"user_id": key, "name": key, "country": country})

    def customer_send(self, key: str, spec: dict[str, Any]) -> dict[str, Any]:
        customer = self.customer_for_key(key)
        phone_number_id = spec.get("phone_number_id") or customer.phone_number_id
        phone = self.state.phone_number(str(phone_number_id)) if phone_number_id else None
        phone = phone or self.state.default_phone_number()
        contact = customer.contact_json()
        built = build_inbound(self, customer, phone, spec)
        message = built.message
        value = MessagesValue(
            phone.display_phone_number,
            phone.id,
            contacts=[contact] if built.include_contacts else [],
        )
        if built.from_customer:
            self.state.record_received(
                ReceivedMessage(
                    wamid=message["id"],
                    phone_number_id=phone.id,
                    customer_user_id=customer.user_id,
                    message=message,
                    created_at=self.clock.now(),
                )
            )
        if built.opens_window:
            customer.last_inbound_at = float(message.get("timestamp") or self.clock.now())
            if message.get("group_id"):
                self.state.group_last_inbound[message["group_id"]] = customer.last_inbound_at
        if built.new_identity is not None:
            new_user_id, new_wa_id = built.new_identity
            self.state.rename_customer(customer, user_id=new_user_id, wa_id=new_wa_id)
        if built.field == "messages":
            value.messages.append(message)
            self.emit_messages_value(phone, value)
        else:
            self.emit_change(
                phone.waba_id, built.field, value.to_json() | {built.items_key: [message]}
            )
        return {"wamid": message["id"], "message": message, "customer": customer.control_json()}

    # ---- the business sends --------------------------------------------------------

    def accept_send(self, phone: PhoneNumber, body: dict[str, Any]) -> dict[str, Any]:
        """Validate and accept a send; statuses follow asynchronously."""
        validated = validate_send(self.state, body)
        to_group = validated.addressed_by == "group"
        customer: Customer | None
        if to_group:
            customer = None
        elif validated.addressed_by == "to":
            customer = self.customer_for_key(validated.recipient)
        else:
            customer = self.state.customer(validated.recipient)
        now = self.clock.now()
        window_open = (
            self.state.group_window_open(validated.recipient)
            if to_group
            else customer is not None and self.state.window_open(customer)
        )
        template = validated.template
        category = template.category.lower() if template else "service"
        wamid = self.state.ids.wamid(customer.wa_id if customer else None)
        sent = SentMessage(
            wamid=wamid,
            phone_number_id=phone.id,
            customer_user_id=customer.user_id if customer else None,
            input_recipient=validated.recipient,
            addressed_by=validated.addressed_by,
            type=validated.type,
            body=body,
            biz_opaque_callback_data=validated.biz_opaque_callback_data,
            created_at=now,
            category=category,
        )
        sent_pricing = pricing(category, window_open=window_open, at=now)
        self.state.record_sent(sent)

        failure: tuple[int, str | None] | None = None
        if not to_group and (customer is None or not customer.on_whatsapp):
            failure = (131026, None)
        elif template is None and not window_open:
            failure = (131047, None)
        elif validated.missing_media_id is not None:
            failure = (131053, f"Media id {validated.missing_media_id} was not found.")
        elif customer is not None and customer.fail_with is not None:
            failure = (customer.fail_with, None)
        self._schedule_statuses(sent, customer, failure, sent_pricing)

        contact: dict[str, Any] = {"input": str(body.get("to") or body.get("recipient"))}
        if to_group:
            pass  # a group has no WhatsApp id of a person
        elif validated.addressed_by == "to":
            contact["wa_id"] = (
                customer.wa_id if customer and customer.wa_id else validated.recipient
            )
        else:
            contact["user_id"] = validated.recipient
        message: dict[str, Any] = {"id": wamid}
        if template is not None:
            message["message_status"] = "accepted"
        return {"messaging_product": "whatsapp", "contacts": [contact], "messages": [message]}

    def mark_read(self, phone: PhoneNumber, body: dict[str, Any]) -> dict[str, Any]:
        message_id = body.get("message_id")
        if not message_id:
            raise GraphError(131008, "The parameter message_id is required.")
        received = self.state.received.get(str(message_id))
        if received is None or received.phone_number_id != phone.id:
            raise GraphError(100, f"Invalid parameter: message_id {message_id} is unknown.")
        received.read_by_business = True
        if isinstance(body.get("typing_indicator"), dict):
            received.typing_indicator_shown = True
        return {"success": True}

    def _schedule_statuses(
        self,
        sent: SentMessage,
        customer: Customer | None,
        failure: tuple[int, str | None] | None,
        sent_pricing: dict[str, Any],
    ) -> None:
        timing = self.config.status_timing
        if failure is not None:
            code, details = failure
            self.later(timing.sent, lambda: self.emit_status(sent, "failed", code, details))
            return
        steps = ["sent"]
        if customer is None:  # a group: delivered to the group (per-member receipts aside)
            steps.append("delivered")
        elif not customer.blocked:
            steps.append("delivered")
            if customer.read_receipts and customer.auto_read:
                steps.append("read")
        delays = [timing.sent, timing.delivered, timing.read][: len(steps)]
        faults = self.state.faults
        if len(steps) == 3 and self.random.random() < faults.status_out_of_order_rate:
            steps[1], steps[2] = steps[2], steps[1]
        plan = list(zip(steps, delays, strict=True))
        self._run_plan(sent, plan, sent_pricing)

    def _run_plan(
        self, sent: SentMessage, plan: list[tuple[str, float]], sent_pricing: dict[str, Any]
    ) -> None:
        if not plan:
            return
        (status, delay), rest = plan[0], plan[1:]

        def fire() -> None:
            with_pricing = status == "sent" or (
                status in ("delivered", "read")
                and not any(s.get("pricing") and s["status"] != "sent" for s in sent.statuses)
            )
            self.emit_status(sent, status, pricing_info=sent_pricing if with_pricing else None)
            self._run_plan(sent, rest, sent_pricing)

        self.later(delay, fire)

    def emit_status(
        self,
        sent: SentMessage,
        status: str,
        error_code: int | None = None,
        error_details: str | None = None,
        *,
        pricing_info: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        phone = self.state.phone_number(sent.phone_number_id) or self.state.default_phone_number()
        customer = (
            self.state.customers.get(sent.customer_user_id) if sent.customer_user_id else None
        )
        item: dict[str, Any] = {
            "id": sent.wamid,
            "status": status,
            "timestamp": str(int(self.clock.now())),
        }
        if sent.addressed_by == "group":
            item["recipient_id"] = sent.input_recipient
            item["recipient_type"] = "group"
        else:
            if sent.addressed_by == "to":
                item["recipient_id"] = sent.input_recipient
            item["recipient_user_id"] = customer.user_id if customer else sent.input_recipient
        if customer and customer.parent_user_id:
            item["recipient_parent_user_id"] = customer.parent_user_id
        if sent.biz_opaque_callback_data is not None and (
            status != "failed" or self.config.echo_callback_data_on_failed
        ):
            item["biz_opaque_callback_data"] = sent.biz_opaque_callback_data
        if pricing_info is not None and status != "failed":
            item["pricing"] = pricing_info
        if status == "failed":
            item["errors"] = [status_error(error_code or 131000, error_details)]
        sent.statuses.append(item)
        contacts = []
        if customer and status != "failed":
            # The username comes only once the message reached the customer's phone.
            with_username = status in STATUSES_WITH_USERNAME
            contacts = [customer.contact_json(with_username=with_username)]
        value = MessagesValue(
            phone.display_phone_number, phone.id, contacts=contacts, statuses=[item]
        )
        self.emit_messages_value(phone, value)
        if self.random.random() < self.state.faults.status_duplicate_rate:
            self.emit_messages_value(phone, value)
        return item

    # ---- faults ------------------------------------------------------------------

    def take_scripted_failure(self, request: web.Request) -> ScriptedFailure | None:
        for index, failure in enumerate(self.state.faults.fail_next):
            if failure.method and failure.method.upper() != request.method:
                continue
            if failure.path_contains and failure.path_contains not in request.path:
                continue
            del self.state.faults.fail_next[index]
            return failure
        return None

    def roll(self, rate: float) -> bool:
        return rate > 0 and self.random.random() < rate


def pricing(category: str, *, window_open: bool, at: float) -> dict[str, Any]:
    """The `pricing` object of a status, by the dated rules of WHATSAPP.md."""
    free = at < SERVICE_BILLING_STARTS and window_open and category in ("service", "utility")
    return {
        "billable": not free,
        "pricing_model": "PMP",
        "type": "free_customer_service" if free else "regular",
        "category": category,
    }


def _local_url(host: str, port: int) -> str:
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

"""Build, sign and deliver Meta-shaped webhooks to the backend.

One queue feeds a few workers. Each POST body is serialised once, the exact bytes
are signed (`X-Hub-Signature-256`), and a delivery not answered 200 is retried
with capped exponential back-off. Every delivery is recorded for tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from .config import Faults, WebhookDeliveryConfig

log = logging.getLogger(__name__)


@dataclass
class WebhookEvent:
    """One change for one WABA: a message, a status, or another field's value."""

    waba_id: str
    field: str
    value: dict[str, Any]
    time: int | None = None
    """Unix time of an account-level change (`entry[].time`); Meta gives `messages`
    changes none, their items carry their own timestamps."""


@dataclass
class Delivery:
    id: int
    url: str | None
    payload: dict[str, Any]
    body: bytes
    signature: str
    created_at: float
    state: str = "pending"  # pending | retrying | delivered | abandoned | dropped | no_target
    attempts: int = 0
    last_status: int | None = None
    last_error: str | None = None
    delivered_at: float | None = None

    def control_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "url": self.url,
            "state": self.state,
            "attempts": self.attempts,
            "last_status": self.last_status,
            "last_error": self.last_error,
            "created_at": self.created_at,
            "delivered_at": self.delivered_at,
            "signature": self.signature,
            "payload": self.payload,
        }


def serialise(payload: dict[str, Any]) -> bytes:
    """Meta's serialisation: compact JSON with non-ASCII escaped as \\uXXXX."""
    return json.dumps(payload, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def sign(body: bytes, app_secret: str) -> str:
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def build_payload(events: list[WebhookEvent]) -> dict[str, Any]:
    """Group events into Meta's envelope: one entry per WABA; `messages` changes of the
    same phone number share one `value` (their messages, statuses and contacts merged)."""
    entries: dict[str, list[dict[str, Any]]] = {}
    times: dict[str, int] = {}
    for event in events:
        changes = entries.setdefault(event.waba_id, [])
        if event.time is not None:
            times[event.waba_id] = max(event.time, times.get(event.waba_id, event.time))
        target = None
        if event.field == "messages":
            phone_number_id = event.value["metadata"]["phone_number_id"]
            for change in changes:
                if (
                    change["field"] == "messages"
                    and change["value"]["metadata"]["phone_number_id"] == phone_number_id
                ):
                    target = change["value"]
                    break
        if target is None:
            # Copy the lists, since later events of the batch may be merged into them.
            value = {k: list(v) if isinstance(v, list) else v for k, v in event.value.items()}
            changes.append({"value": value, "field": event.field})
            continue
        for key in ("contacts", "messages", "statuses", "errors"):
            items = event.value.get(key)
            if not items:
                continue
            existing = target.setdefault(key, [])
            for item in items:
                if key == "contacts" and item in existing:
                    continue
                existing.append(item)
    return {
        "object": "whatsapp_business_account",
        "entry": [
            _entry(waba_id, times.get(waba_id), changes) for waba_id, changes in entries.items()
        ],
    }


def _entry(waba_id: str, time: int | None, changes: list[dict[str, Any]]) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": waba_id}
    if time is not None:
        entry["time"] = time
    entry["changes"] = changes
    return entry


class WebhookDispatcher:
    def __init__(
        self,
        *,
        config: WebhookDeliveryConfig,
        app_secret: str,
        faults: Callable[[], Faults],
        url_for_waba: Callable[[str], str | None],
        now: Callable[[], float],
        seed: int,
    ) -> None:
        self.config = config
        self.app_secret = app_secret
        self._faults = faults
        self._url_for_waba = url_for_waba
        self._now = now
        self._random = random.Random(seed)
        self._queue: asyncio.Queue[WebhookEvent] = asyncio.Queue()
        self._workers: list[asyncio.Task[None]] = []
        self._retries: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None
        self._next_id = 0
        self._pending = 0  # events queued or being delivered
        self.deliveries: deque[Delivery] = deque(maxlen=config.keep_deliveries)

    def enqueue(self, event: WebhookEvent) -> None:
        self._pending += 1
        self._queue.put_nowait(event)

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.config.timeout_s)
        )
        self._workers = [
            asyncio.create_task(self._work(), name=f"sim-webhook-worker-{i}")
            for i in range(max(1, self.config.concurrency))
        ]

    async def stop(self) -> None:
        tasks = [*self._workers, *self._retries]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._workers = []
        self._retries.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None

    def clear(self) -> None:
        """Forget queued events, pending retries and recorded deliveries (reset)."""
        while not self._queue.empty():
            self._queue.get_nowait()
            self._pending -= 1
        for task in self._retries:
            task.cancel()
        self._retries.clear()
        self.deliveries.clear()

    def busy(self) -> bool:
        return self._pending > 0 or bool(self._retries)

    async def _work(self) -> None:
        while True:
            first = await self._queue.get()
            events = [first]
            try:
                if self._faults().batch_webhooks:
                    await asyncio.sleep(self.config.batch_window_s)
                    while len(events) < self.config.batch_max_events and not self._queue.empty():
                        events.append(self._queue.get_nowait())
                for delivery in self._make_deliveries(events):
                    await self._attempt(delivery)
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug here must not kill the worker
                log.exception("webhook delivery failed")
            finally:
                self._pending -= len(events)

    def _make_deliveries(self, events: list[WebhookEvent]) -> list[Delivery]:
        by_url: dict[str | None, list[WebhookEvent]] = {}
        for event in events:
            by_url.setdefault(self._url_for_waba(event.waba_id), []).append(event)
        deliveries = []
        for url, group in by_url.items():
            payload = build_payload(group)
            body = serialise(payload)
            self._next_id += 1
            delivery = Delivery(
                id=self._next_id,
                url=url,
                payload=payload,
                body=body,
                signature=sign(body, self.app_secret),
                created_at=self._now(),
            )
            if url is None:
                delivery.state = "no_target"
            elif self._random.random() < self._faults().drop_webhook_rate:
                delivery.state = "dropped"
            self.deliveries.append(delivery)
            deliveries.append(delivery)
        return deliveries

    async def _attempt(self, delivery: Delivery) -> None:
        if delivery.state in ("no_target", "dropped") or delivery.url is None:
            return
        assert self._session is not None
        delivery.attempts += 1
        try:
            async with self._session.post(
                delivery.url,
                data=delivery.body,
                headers={
                    "Content-Type": "application/json",
                    "X-Hub-Signature-256": delivery.signature,
                    "User-Agent": "facebookexternalua",
                },
            ) as response:
                await response.read()
                delivery.last_status = response.status
                delivery.last_error = None
                ok = response.status == 200
        except (aiohttp.ClientError, TimeoutError) as exc:
            delivery.last_status = None
            delivery.last_error = f"{type(exc).__name__}: {exc}"
            ok = False
        if ok:
            delivery.state = "delivered"
            delivery.delivered_at = self._now()
            return
        if delivery.attempts >= self.config.max_attempts:
            delivery.state = "abandoned"
            return
        delivery.state = "retrying"
        delay = min(
            self.config.retry_base_delay_s * 2 ** (delivery.attempts - 1),
            self.config.retry_max_delay_s,
        )
        task = asyncio.create_task(self._retry_later(delivery, delay))
        self._retries.add(task)
        task.add_done_callback(self._retries.discard)

    async def _retry_later(self, delivery: Delivery, delay: float) -> None:
        await asyncio.sleep(delay)
        await self._attempt(delivery)


@dataclass
class MessagesValue:
    """Builder for a `field: messages` change value."""

    display_phone_number: str
    phone_number_id: str
    contacts: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        value: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "metadata": {
                "display_phone_number": self.display_phone_number,
                "phone_number_id": self.phone_number_id,
            },
        }
        for key in ("contacts", "messages", "statuses", "errors"):
            items = getattr(self, key)
            if items:
                value[key] = items
        return value

"""A webhook load generator: Meta-shaped signed POSTs over keep-alive connections.

Bodies are exactly what the simulator (and Meta) sends for a text message — the envelope
built by ``backend.simulator.webhooks.build_payload``, serialised with non-ASCII escaped,
signed with ``X-Hub-Signature-256`` over the exact bytes — from a pool of customers
writing in several languages; each message has a unique wamid. To keep the generator far
cheaper than the server, a body is assembled from pre-serialised parts and the HTTP/1.1
exchange is a minimal asyncio protocol (one request in flight per connection).

``python -m tests.bench.webhook_load --port P --core 1 --steps`` runs rising rates until
saturation, then a run at half the saturation rate, and prints one JSON line. ``--port
P1,P2`` spreads the connections over several server processes of one database.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.bench import corpus
from tests.bench.common import (
    APP_SECRET,
    DISPLAY_NUMBER,
    PHONE_NUMBER_ID,
    WABA_ID,
    percentile,
    pin,
)

PATH = "/webhooks/whatsapp"
_WAMID, _TS, _TEXT = "@@WAMID@@", "@@TS@@", "@@TEXT@@"


class Payloads:
    """Signed webhook requests, one text message each, from ``customers`` customers."""

    def __init__(self, port: int, *, customers: int = 2000, seed: int = 1, tag: str = "") -> None:
        from backend.simulator.webhooks import (
            MessagesValue,
            WebhookEvent,
            build_payload,
            serialise,
        )

        rng = random.Random(seed)
        self.rng = rng
        self.secret = APP_SECRET.encode()
        self.head = (
            f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Content-Type: application/json\r\nUser-Agent: facebookexternalua\r\n"
        ).encode()
        self.tag = tag or f"{int(time.time() * 1000) % 10**9:09d}"
        self.count = 0
        self.templates: list[list[bytes]] = []
        self.langs: list[str] = []
        for n in range(customers):
            lang = corpus.pick_lang(rng)
            first, last = corpus.person(rng, lang)
            wa_id = corpus.phone(rng, lang, n).lstrip("+")
            country = corpus.COUNTRY[lang][0]
            user_id = f"{country}.{rng.randrange(10**15, 10**16)}"
            value = MessagesValue(
                display_phone_number=DISPLAY_NUMBER,
                phone_number_id=PHONE_NUMBER_ID,
                contacts=[
                    {"profile": {"name": f"{first} {last}"}, "wa_id": wa_id, "user_id": user_id}
                ],
                messages=[
                    {
                        "from": wa_id,
                        "from_user_id": user_id,
                        "id": _WAMID,
                        "timestamp": _TS,
                        "type": "text",
                        "text": {"body": _TEXT},
                    }
                ],
            )
            body = serialise(build_payload([WebhookEvent(WABA_ID, "messages", value.to_json())]))
            text = body.decode("ascii")
            a, rest = text.split(_WAMID)
            b, rest = rest.split(_TS)
            c, d = rest.split(_TEXT)
            self.templates.append([p.encode("ascii") for p in (a, b, c, d)])
            self.langs.append(lang)
        # pre-escaped texts per language (json.dumps with ensure_ascii, quotes stripped)
        self.texts = {
            lang: [
                json.dumps(corpus.message_text(rng, lang, True), ensure_ascii=True)[1:-1].encode()
                for _ in range(200)
            ]
            for lang in corpus.LANGS
        }

    def next(self) -> tuple[str, bytes]:
        """(wamid, the full HTTP request bytes) of the next message."""
        self.count += 1
        who = self.rng.randrange(len(self.templates))
        a, b, c, d = self.templates[who]
        wamid = f"wamid.HBgLBENCH{self.tag}{self.count:010d}"
        texts = self.texts[self.langs[who]]
        body = b"".join(
            (
                a,
                wamid.encode(),
                b,
                str(int(time.time())).encode(),
                c,
                texts[self.count % len(texts)],
                d,
            )
        )
        sig = hmac.new(self.secret, body, hashlib.sha256).hexdigest()
        request = b"".join(
            (
                self.head,
                b"X-Hub-Signature-256: sha256=",
                sig.encode(),
                b"\r\nContent-Length: ",
                str(len(body)).encode(),
                b"\r\n\r\n",
                body,
            )
        )
        return wamid, request


class HttpConnection(asyncio.Protocol):
    """A keep-alive HTTP/1.1 client connection with one request in flight."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[int] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.waiter is None:
            return
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buffer[:end]).lower()
        at = head.find(b"content-length:")
        length = 0
        if at >= 0:
            stop = head.find(b"\r\n", at)
            length = int(head[at + 15 : stop if stop >= 0 else len(head)])
        if len(self.buffer) < end + 4 + length:
            return
        status = int(head[9:12])
        del self.buffer[: end + 4 + length]
        waiter, self.waiter = self.waiter, None
        if not waiter.done():
            waiter.set_result(status)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("connection closed"))

    async def request(self, data: bytes) -> int:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return await self.waiter


def port_list(text: str) -> list[int]:
    """``--port``: one port, or several comma-separated (one server process each)."""
    return [int(part) for part in text.split(",") if part.strip()]


async def open_connections(port: int | list[int], count: int) -> list[HttpConnection]:
    """``count`` connections, spread in turn over the ports (several server processes)."""
    ports = port if isinstance(port, list) else [port]
    loop = asyncio.get_running_loop()
    connections = []
    for index in range(count):
        _, protocol = await loop.create_connection(
            HttpConnection, "127.0.0.1", ports[index % len(ports)]
        )
        connections.append(protocol)
    return connections


@dataclass
class Step:
    offered: float  # messages/s asked for
    duration: float
    sent: int = 0
    ok: int = 0
    errors: int = 0
    skipped: int = 0  # not sent: every connection was busy (the server is saturated)
    elapsed: float = 0.0
    cpu: float = 0.0  # the load generator's own CPU share during the step
    latencies: list[float] = field(default_factory=list)

    @property
    def achieved(self) -> float:
        return self.ok / self.elapsed if self.elapsed else 0.0

    @property
    def saturated(self) -> bool:
        return self.achieved < 0.9 * self.offered

    def summary(self) -> dict[str, Any]:
        ms = [x * 1000 for x in self.latencies]
        return {
            "offered": round(self.offered),
            "achieved": round(self.achieved, 1),
            "sent": self.sent,
            "ok": self.ok,
            "errors": self.errors,
            "skipped": self.skipped,
            "elapsed": round(self.elapsed, 3),
            "p50_ms": round(percentile(ms, 50), 2),
            "p99_ms": round(percentile(ms, 99), 2),
            "max_ms": round(max(ms), 2) if ms else None,
            "saturated": self.saturated,
            "load_cpu": round(self.cpu, 2),
        }


async def run_step(
    connections: list[HttpConnection],
    payloads: Payloads,
    rate: float,
    duration: float,
    on_sent: Callable[[str, float], None] | None = None,
) -> Step:
    """Offer ``rate`` messages/s for ``duration`` s (open loop, bounded by the connections)."""
    step = Step(offered=rate, duration=duration)
    tickets: asyncio.Queue[bool] = asyncio.Queue(maxsize=len(connections))
    perf = time.perf_counter

    async def work(conn: HttpConnection) -> None:
        while await tickets.get():
            wamid, data = payloads.next()
            sent_at = perf()
            if on_sent is not None:
                on_sent(wamid, sent_at)
            step.sent += 1
            try:
                status = await conn.request(data)
            except ConnectionError:
                step.errors += 1
                return
            if status == 200:
                step.ok += 1
                step.latencies.append(perf() - sent_at)
            else:
                step.errors += 1

    workers = [asyncio.create_task(work(conn)) for conn in connections]
    total = int(rate * duration)
    started = perf()
    cpu_started = time.process_time()
    issued = 0
    while issued < total:
        due = min(total, int((perf() - started) * rate) + 1)
        while issued < due:
            issued += 1
            try:
                tickets.put_nowait(True)
            except asyncio.QueueFull:
                step.skipped += 1
        await asyncio.sleep(0.001)
    for _ in workers:
        await tickets.put(False)
    await asyncio.gather(*workers)
    step.elapsed = perf() - started
    step.cpu = (time.process_time() - cpu_started) / step.elapsed
    return step


async def saturation_run(
    port: int | list[int],
    *,
    connections: int,
    start_rate: float,
    factor: float,
    max_rate: float,
    duration: float,
    half_duration: float,
) -> dict[str, Any]:
    payloads = Payloads(port[0] if isinstance(port, list) else port)
    conns = await open_connections(port, connections)
    # warm-up: the first messages create contacts, threads and tickets
    warm = await run_step(conns, payloads, min(start_rate, 200), 1.0)
    steps: list[Step] = []
    rate = start_rate
    misses = 0
    while rate <= max_rate:
        step = await run_step(conns, payloads, rate, duration)
        steps.append(step)
        # saturated: two steps in a row below 90 % of the offered rate (one can be a stall)
        misses = misses + 1 if step.saturated else 0
        if misses == 2:
            break
        rate *= factor
    sustained = max(step.achieved for step in steps)
    saturated = misses == 2
    at_saturation = max(steps, key=lambda s: s.achieved)
    half = await run_step(conns, payloads, sustained / 2, half_duration)
    for conn in conns:
        if conn.transport is not None:
            conn.transport.close()
    return {
        "steps": [s.summary() for s in steps],
        "sustained": sustained,
        "saturated": saturated,
        "at_saturation": at_saturation.summary(),
        "half": half.summary(),
        # every message sent and every one acknowledged with 200, warm-up included
        "total_sent": payloads.count,
        "total_ok": sum(s.ok for s in (warm, *steps, half)),
        "errors": sum(s.errors for s in (warm, *steps, half)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=port_list, required=True, help="one, or a,b,…")
    parser.add_argument("--core", type=int, default=1)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--start-rate", type=float, default=500)
    parser.add_argument("--factor", type=float, default=1.6)
    parser.add_argument("--max-rate", type=float, default=40_000)
    parser.add_argument("--duration", type=float, default=3.0)
    parser.add_argument("--half-duration", type=float, default=5.0)
    args = parser.parse_args()
    pin(args.core)
    result = asyncio.run(
        saturation_run(
            args.port,
            connections=args.connections,
            start_rate=args.start_rate,
            factor=args.factor,
            max_rate=args.max_rate,
            duration=args.duration,
            half_duration=args.half_duration,
        )
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()

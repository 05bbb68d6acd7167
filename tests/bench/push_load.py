"""The load side of the push-latency benchmark (one process, pinned to the load core).

Connects ``--clients`` WebSocket clients (the ``websockets`` library, as the TUI uses),
then POSTs signed webhooks at ``--rate`` messages/s for ``--duration`` s and records, per
client, when each ``message.created`` frame arrives (matched to its send time by wamid)
and whether every client's seqs only ever grow (no event twice, none out of order).
``--port P1,P2`` spreads the clients and the webhooks over several server processes of one
database (a client of one process must see the messages posted to the other). Prints one
JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import time
from typing import Any

from tests.bench.common import percentile, pin
from tests.bench.webhook_load import Payloads, open_connections, port_list, run_step

SEQ = re.compile(r'^\{"seq":\s*(\d+),\s*"type":\s*"([^"]+)"')
WAMID = '"wamid":"'


class Client:
    def __init__(self, index: int) -> None:
        self.index = index
        self.last_seq = 0
        self.frames = 0
        self.duplicates = 0  # a seq seen again
        self.out_of_order = 0  # a seq lower than one already seen
        self.received: dict[str, float] = {}  # wamid → arrival time
        self.ready = asyncio.Event()

    async def run(self, url: str, token: str, stop: asyncio.Event) -> None:
        from websockets.asyncio.client import connect

        perf = time.perf_counter
        async with connect(
            url, additional_headers={"Authorization": f"Bearer {token}"}, max_size=None
        ) as ws:
            self.ready.set()
            receiver = asyncio.ensure_future(self._receive(ws, perf))
            await stop.wait()
            receiver.cancel()
            try:
                await receiver
            except (asyncio.CancelledError, Exception):  # noqa: BLE001 - closing anyway
                pass

    async def _receive(self, ws: Any, perf: Any) -> None:
        async for frame in ws:
            now = perf()
            self.frames += 1
            match = SEQ.match(frame)
            if match is None:
                continue
            seq = int(match.group(1))
            if seq:
                if seq == self.last_seq:
                    self.duplicates += 1
                elif seq < self.last_seq:
                    self.out_of_order += 1
                else:
                    self.last_seq = seq
            if match.group(2) == "message.created":
                at = frame.find(WAMID)
                if at >= 0:
                    start = at + len(WAMID)
                    self.received[frame[start : frame.index('"', start)]] = now


async def run(args: argparse.Namespace) -> dict[str, Any]:
    tokens = args.tokens.split(",")
    ports: list[int] = args.port
    stop = asyncio.Event()
    clients = [Client(i) for i in range(args.clients)]
    tasks = [
        asyncio.create_task(
            client.run(
                f"ws://127.0.0.1:{ports[client.index % len(ports)]}/api/v1/ws",
                tokens[client.index % len(tokens)],
                stop,
            )
        )
        for client in clients
    ]
    await asyncio.wait_for(asyncio.gather(*(c.ready.wait() for c in clients)), 30)
    await asyncio.sleep(0.5)
    payloads = Payloads(ports[0], customers=500, seed=3)
    conns = await open_connections(ports, 64)
    sent: dict[str, float] = {}
    cpu = time.process_time()
    started = time.perf_counter()
    step = await run_step(
        conns, payloads, args.rate, args.duration, on_sent=lambda w, t: sent.__setitem__(w, t)
    )
    # let the last events arrive
    deadline = time.perf_counter() + 5
    while time.perf_counter() < deadline:
        if all(len(c.received) >= len(sent) for c in clients):
            break
        await asyncio.sleep(0.05)
    load_cpu = (time.process_time() - cpu) / (time.perf_counter() - started)
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    for conn in conns:
        if conn.transport is not None:
            conn.transport.close()
    latencies = [
        (at - sent[wamid]) * 1000
        for client in clients
        for wamid, at in client.received.items()
        if wamid in sent
    ]
    expected = len(sent) * len(clients)
    return {
        "clients": len(clients),
        "rate": args.rate,
        "webhook": step.summary(),
        "messages": len(sent),
        "deliveries": len(latencies),
        "missing": expected - len(latencies),
        "p50_ms": round(percentile(latencies, 50), 2),
        "p99_ms": round(percentile(latencies, 99), 2),
        "max_ms": round(max(latencies), 2) if latencies else None,
        "duplicates": sum(c.duplicates for c in clients),
        "out_of_order": sum(c.out_of_order for c in clients),
        "frames": sum(c.frames for c in clients),
        "load_cpu": round(load_cpu, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=port_list, required=True, help="one, or a,b,…")
    parser.add_argument("--core", type=int, default=1)
    parser.add_argument("--tokens", required=True)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--duration", type=float, default=10)
    args = parser.parse_args()
    pin(args.core)
    print(json.dumps(asyncio.run(run(args))))


if __name__ == "__main__":
    main()

"""Scripted customers, and the CLI against a real simulator."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import time

import httpx

from backend.simulator.cli import add_simulator_commands
from backend.simulator.traffic import run_traffic

from .conftest import RunningSimulator, WebhookReceiver


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_simulator_commands(parser.add_subparsers(dest="command"))
    return parser.parse_args(["simulator", *argv])


async def test_run_traffic_at_a_steady_rate(
    running: RunningSimulator, receiver: WebhookReceiver
) -> None:
    count = await run_traffic(
        running.sim, rate=200, duration=0.25, languages=("es", "de", "hi"), poisson=False
    )
    assert 40 <= count <= 55
    await running.sim.wait_idle()
    messages = receiver.messages()
    assert len(messages) == count
    assert receiver.bad_signatures == 0
    assert all(m["from_user_id"].split(".")[0] in {"ES", "DE", "IN"} for m in messages)
    assert any(not m["text"]["body"].isascii() for m in messages if m["type"] == "text")


async def test_traffic_customers_reply_react_and_send_media(
    running: RunningSimulator, receiver: WebhookReceiver
) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(run_traffic(running.sim, rate=400, stop=stop, customer_count=5))

    # The business answers whoever writes, so customers have something to reply to; until
    # the traffic has shown each kind (a condition, not a length of time)
    def shown_everything() -> bool:
        messages = receiver.messages()
        types = {m["type"] for m in messages}
        replied = any("context" in m for m in messages) or "reaction" in types
        return len(messages) > 50 and {"text", "image"} <= types and replied

    async with asyncio.timeout(30):
        while not shown_everything():
            for customer in list(running.sim.state.customers.values()):
                if customer.wa_id:
                    body = {"to": customer.wa_id, "text": {"body": "How can we help?"}}
                    await running.send(body)
            await asyncio.sleep(0.02)
    stop.set()
    count = await task
    await running.sim.wait_idle()
    types = {m["type"] for m in receiver.messages()}
    assert count > 50
    assert {"text", "image"} <= types
    assert any("context" in m for m in receiver.messages()) or "reaction" in types


async def test_traffic_through_the_control_api(running: RunningSimulator) -> None:
    status, body = await running.control("POST", "/traffic", json={"rate": 300})
    assert status == 200 and body["running"] is True
    async with asyncio.timeout(10):
        while running.sim.traffic_stats.get("messages", 0) <= 10:
            await asyncio.sleep(0.02)
    status, body = await running.control("DELETE", "/traffic")
    assert body["running"] is False and body["messages"] > 10
    status, body = await running.control("POST", "/traffic", json={"rate": 1, "languages": ["xx"]})
    assert status == 422
    await running.sim.wait_idle()


async def test_cli_send_and_traffic(
    running: RunningSimulator, receiver: WebhookReceiver, capsys
) -> None:
    url = running.sim.public_url
    args = _parse("send", "--sim-url", url, "--to", "34611111111", "--text", "desde la CLI ✓")
    assert await asyncio.to_thread(args.func, args) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["wamid"].startswith("wamid.")
    args = _parse(
        "send", "--sim-url", url, "--to", "34611111111", "--type", "reaction",
        "--message-id", printed["wamid"], "--emoji", "",
    )  # fmt: skip
    assert await asyncio.to_thread(args.func, args) == 0
    await running.sim.wait_idle()
    assert receiver.messages()[0]["text"]["body"] == "desde la CLI ✓"
    assert receiver.messages()[1]["reaction"] == {"message_id": printed["wamid"], "emoji": ""}

    args = _parse("traffic", "--sim-url", url, "--rate", "100", "--duration", "0.3", "--steady")
    assert await asyncio.to_thread(args.func, args) == 0
    assert '"running": false' in capsys.readouterr().out
    await running.sim.wait_idle()


def test_serve_from_the_command_line() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "backend.simulator", "--port", "0", "--access-token", "tok"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=os.environ | {"PYTHONUNBUFFERED": "1"},
    )
    try:
        # port 0: the first line says which port it got
        first_line = process.stdout.readline().decode()  # type: ignore[union-attr]
        found = re.match(r"WhatsApp simulator on http://127\.0\.0\.1:(\d+) ", first_line)
        assert found, first_line + process.stderr.read().decode()  # type: ignore[union-attr]
        port = int(found.group(1))
        assert port != 0
        deadline = time.monotonic() + 10
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/_sim/state", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, process.stderr.read1().decode()  # type: ignore[union-attr]
                time.sleep(0.05)
        assert response.status_code == 200
        graph = httpx.get(
            f"http://127.0.0.1:{port}/v26.0/102290129340398",
            headers={"Authorization": "Bearer tok"},
        )
        assert graph.json()["account_type"] == "BUSINESS"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_simulators_default_webhook_reaches_a_default_serve():
    """`ttydesk serve` and `ttydesk simulator`, both with their defaults, talk to each
    other: the simulator delivers to the port serve listens on."""
    from urllib.parse import urlsplit

    from backend.config import Settings
    from backend.simulator.config import SimulatorConfig

    target = urlsplit(SimulatorConfig().webhook_url or "")
    serve = Settings.model_fields
    assert (target.hostname, target.port) == (serve["host"].default, serve["port"].default)
    assert target.path == "/webhooks/whatsapp"


async def test_scripted_customers_write_from_real_numbers_of_their_country(
    running: RunningSimulator,
) -> None:
    """A scripted customer's WhatsApp number is a valid mobile number of their country: a
    US customer with nine digits after the 1 showed in the demo as "1560516116", no "+",
    since no phone library could read it."""
    import phonenumbers

    from backend.simulator.traffic import LOCALES, TrafficScript

    script = TrafficScript(running.sim, tuple(LOCALES), customer_count=70, seed=7)
    numbers = [
        (LOCALES[scripted.language].country, running.sim.state.customers[scripted.key].wa_id)
        for scripted in script.customers
    ]
    checked = [(country, wa_id) for country, wa_id in numbers if wa_id]
    assert len(checked) > 40
    for country, wa_id in checked:
        number = phonenumbers.parse(f"+{wa_id}")
        assert phonenumbers.is_valid_number(number), (country, wa_id)
        assert phonenumbers.region_code_for_number(number) == country, (country, wa_id)

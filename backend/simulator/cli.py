"""`ttydesk simulator …`: serve the simulator, or drive a running one from the shell."""

from __future__ import annotations

import argparse
import base64
import json
import mimetypes
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

DEFAULT_SIM_URL = os.environ.get("TTYDESK_SIMULATOR_URL", "http://127.0.0.1:8090")
INBOUND_TYPES = (
    "text", "image", "video", "audio", "document", "sticker", "location", "contacts",
    "reaction", "button", "interactive", "order", "system", "request_welcome", "unsupported",
    "revoke", "raw",
)  # fmt: skip


def add_simulator_commands(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "simulator",
        help="run the local WhatsApp Cloud API simulator (or drive a running one)",
        description="Serve a stand-in for Meta's WhatsApp Cloud API: the Graph API paths "
        "under /vNN.N/ and a control API under /_sim/.",
    )
    parser.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to listen on (default 8090)")
    parser.add_argument("--webhook-url", help="the backend's webhook URL")
    parser.add_argument("--app-secret", help="app secret that signs webhooks")
    parser.add_argument("--access-token", help="bearer token the backend must present")
    parser.add_argument("--config", type=Path, help="a SimulatorConfig JSON file")
    parser.set_defaults(func=run)
    actions = parser.add_subparsers(dest="simulator_action", metavar="{send,traffic}")

    send = actions.add_parser("send", help="a simulated customer sends a message")
    send.add_argument("--sim-url", default=DEFAULT_SIM_URL)
    send.add_argument("--to", "--from", dest="customer", required=True,
                      help="the customer's wa_id or user id (created if unknown)")  # fmt: skip
    send.add_argument("--type", default="text", choices=INBOUND_TYPES)
    send.add_argument("--text", help="text body (type text, order, button)")
    send.add_argument("--caption")
    send.add_argument("--file", type=Path, help="a file to attach (media types)")
    send.add_argument("--mime-type")
    send.add_argument("--filename")
    send.add_argument("--voice", action="store_true", help="audio is a voice note")
    send.add_argument("--reply-to", help="wamid this message replies to")
    send.add_argument("--forwarded", action="store_true")
    send.add_argument("--message-id", help="wamid a reaction or revoke refers to")
    send.add_argument("--emoji", help='reaction emoji ("" removes it)')
    send.add_argument("--unsupported-type", help="e.g. poll_creation, gif")
    send.add_argument("--system-type", choices=("user_changed_number", "user_changed_user_id"))
    send.add_argument("--json", dest="extra_json", help="extra body fields as a JSON object")
    send.set_defaults(func=run_send)

    traffic = actions.add_parser("traffic", help="scripted customers write at a given rate")
    traffic.add_argument("--sim-url", default=DEFAULT_SIM_URL)
    traffic.add_argument("--rate", type=float, required=True, help="messages per second")
    traffic.add_argument("--duration", type=float, help="seconds (default: until Ctrl-C)")
    traffic.add_argument("--languages", default="en,es,pt,de,fr")
    traffic.add_argument("--customers", type=int, default=50)
    traffic.add_argument("--steady", action="store_true", help="steady instead of Poisson")
    traffic.set_defaults(func=run_traffic)


def run(args: argparse.Namespace) -> int:
    """`ttydesk simulator [send|traffic]`."""
    action = getattr(args, "simulator_action", None)
    if action == "send":
        return run_send(args)
    if action == "traffic":
        return run_traffic(args)
    return run_serve(args)


def run_serve(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from .app import run_simulator
    from .config import SimulatorConfig

    try:
        config = SimulatorConfig.from_file(args.config) if args.config else SimulatorConfig()
    except (OSError, ValueError, ValidationError) as exc:
        print(f"simulator: cannot read config {args.config}: {exc}", file=sys.stderr)
        return 2
    overrides = {
        "host": args.host,
        "port": args.port,
        "webhook_url": args.webhook_url,
        "app_secret": args.app_secret,
        "access_token": args.access_token,
    }
    config = config.model_copy(update={k: v for k, v in overrides.items() if v is not None})
    try:
        # bound here so that --port 0 (any free port) can say which port it got
        sock = socket.create_server((config.host, config.port))
    except OSError as exc:
        print(f"simulator: cannot listen on {config.host}:{config.port}: {exc}", file=sys.stderr)
        return 1
    config = config.model_copy(update={"port": sock.getsockname()[1]})
    base = config.public_url or f"http://{config.host}:{config.port}"
    print(
        f"WhatsApp simulator on {base} (Graph API {base}/{config.api_version}/…, "
        f"control {base}/_sim/…); webhooks → {config.webhook_url or 'nowhere'}",
        flush=True,
    )
    run_simulator(config, sock)
    return 0


def _send_body(args: argparse.Namespace) -> dict[str, Any]:
    body: dict[str, Any] = {"type": args.type}
    if args.text is not None:
        body["text"] = args.text
    if args.caption is not None:
        body["caption"] = args.caption
    if args.file is not None:
        body["file"] = base64.b64encode(args.file.read_bytes()).decode()
        body.setdefault("filename", args.file.name)
        guessed = mimetypes.guess_type(args.file.name)[0]
        if guessed and not args.mime_type:
            body["mime_type"] = guessed
    if args.mime_type:
        body["mime_type"] = args.mime_type
    if args.filename:
        body["filename"] = args.filename
    if args.voice:
        body["voice"] = True
    if args.message_id:
        body["message_id"] = args.message_id
        body["original_message_id"] = args.message_id
    if args.emoji is not None:
        body["emoji"] = args.emoji
    if args.unsupported_type:
        body["unsupported_type"] = args.unsupported_type
    if args.system_type:
        body["system_type"] = args.system_type
    context: dict[str, Any] = {}
    if args.reply_to:
        context["reply_to"] = args.reply_to
    if args.forwarded:
        context["forwarded"] = True
    if context:
        body["context"] = context
    if args.extra_json:
        body.update(json.loads(args.extra_json))
    return body


def run_send(args: argparse.Namespace) -> int:
    """`ttydesk simulator send --to CUSTOMER --type text --text …`."""
    import httpx

    try:
        body = _send_body(args)
    except (OSError, ValueError) as exc:
        print(f"simulator send: {exc}", file=sys.stderr)
        return 2
    url = f"{args.sim_url.rstrip('/')}/_sim/customers/{args.customer}/messages"
    try:
        response = httpx.post(url, json=body, timeout=10)
    except httpx.HTTPError as exc:
        print(f"simulator send: cannot reach {args.sim_url}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(response.json(), ensure_ascii=False, indent=2))
    return 0 if response.status_code == 200 else 1


def run_traffic(args: argparse.Namespace) -> int:
    """`ttydesk simulator traffic --rate N [--duration S]`."""
    import httpx

    base = args.sim_url.rstrip("/")
    body = {
        "rate": args.rate,
        "duration": args.duration,
        "languages": [lang.strip() for lang in args.languages.split(",") if lang.strip()],
        "poisson": not args.steady,
        "customers": args.customers,
    }
    try:
        with httpx.Client(base_url=base, timeout=10) as client:
            response = client.post("/_sim/traffic", json=body)
            if response.status_code != 200:
                print(json.dumps(response.json(), ensure_ascii=False), file=sys.stderr)
                return 1
            print(f"traffic: {args.rate}/s to {base} (Ctrl-C stops)", flush=True)
            try:
                while True:
                    time.sleep(1)
                    status = client.get("/_sim/traffic").json()
                    print(f"  {status.get('messages', 0)} messages", flush=True)
                    if not status.get("running"):
                        break
            except KeyboardInterrupt:
                status = client.delete("/_sim/traffic").json()
            print(json.dumps(status))
    except httpx.HTTPError as exc:
        print(f"simulator traffic: cannot reach {base}: {exc}", file=sys.stderr)
        return 1
    return 0

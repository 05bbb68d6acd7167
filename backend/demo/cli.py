"""``ttydesk demo``: options and dispatch."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
from pathlib import Path


def add_demo_commands(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run the backend, the simulator and the inbox with demo data",
        description="One command to see it all: an embedded database, the WhatsApp "
        "simulator with customers who keep writing, and the inbox signed in as a demo agent.",
    )
    parser.add_argument(
        "--agent", default="alice", help="demo agent to sign in as (alice, bob, chloe, dmitri)"
    )
    parser.add_argument(
        "--rate", type=float, default=0.2, help="customer messages per second (default 0.2)"
    )
    parser.add_argument("--no-traffic", action="store_true", help="no live customers")
    parser.add_argument(
        "--data-dir", type=Path, help="keep the demo's data here (default: a new temporary folder)"
    )
    parser.add_argument(
        "--headless", action="store_true", help="run everything but the inbox; print one JSON line"
    )
    parser.add_argument(
        "--join", action="store_true", help="open the inbox on a demo already running"
    )
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--watch-stdin", action="store_true", help=argparse.SUPPRESS)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from backend.demo.launcher import DemoError, join, run_interactive

    try:
        if args.join:
            return join(agent=args.agent)
        if args.headless:
            return _headless(args)
        child_args = ["--rate", str(args.rate)]
        if args.no_traffic:
            child_args.append("--no-traffic")
        if args.data_dir:
            child_args += ["--data-dir", str(args.data_dir)]
        log_path = (args.data_dir or Path(tempfile.gettempdir())) / "ttydesk-demo.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        return run_interactive(agent=args.agent, child_args=child_args, log_path=log_path)
    except DemoError as exc:
        print(f"ttydesk demo: {exc}", file=sys.stderr)
        return 1


def _headless(args: argparse.Namespace) -> int:
    from backend.demo.stack import DemoOptions, run_headless

    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    options = DemoOptions(
        data_dir=args.data_dir,
        rate=args.rate,
        traffic=not args.no_traffic,
        backend_port=args.port,
        watch_stdin=args.watch_stdin,
    )
    try:
        return asyncio.run(run_headless(options))
    except KeyboardInterrupt:
        return 0

"""``ttydesk demo``: options and dispatch."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
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
        "--join",
        nargs="?",
        const="",
        metavar="DEMO",
        help="open the inbox on a demo of yours already running (name it by pid or --name "
        "when several run)",
    )
    parser.add_argument("--name", default="", help="a name for this demo, for --join NAME")
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--watch-stdin", action="store_true", help=argparse.SUPPRESS)
    # seconds to wait for a demo still stopping on the same --data-dir (default 15)
    parser.add_argument("--data-in-use-wait", type=float, default=None, help=argparse.SUPPRESS)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from backend.demo.launcher import DemoError, join, run_interactive

    try:
        if args.join is not None:
            return join(agent=args.agent, demo=args.join or None)
        if args.headless:
            return _headless(args)
        child_args = ["--rate", str(args.rate), "--name", args.name]
        if args.no_traffic:
            child_args.append("--no-traffic")
        if args.data_dir:
            child_args += ["--data-dir", str(args.data_dir)]
        if args.data_in_use_wait is not None:
            child_args += ["--data-in-use-wait", str(args.data_in_use_wait)]
        return run_interactive(agent=args.agent, child_args=child_args, log_path=_log_path(args))
    except (DemoError, PermissionError) as exc:
        print(f"ttydesk demo: {exc}", file=sys.stderr)
        return 1


def _log_path(args: argparse.Namespace) -> Path:
    """The stack's log: in ``--data-dir``, else in this user's private runtime folder."""
    if args.data_dir:
        args.data_dir.mkdir(parents=True, exist_ok=True)
        return args.data_dir / "ttydesk-demo.log"
    from backend.demo.stack import runtime_dir

    return runtime_dir() / f"demo-{os.getpid()}.log"


def _headless(args: argparse.Namespace) -> int:
    from backend.demo.launcher import REASON_PREFIX
    from backend.demo.stack import DemoOptions, run_headless
    from backend.startup import StartupError

    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    options = DemoOptions(
        data_dir=args.data_dir,
        name=args.name,
        rate=args.rate,
        traffic=not args.no_traffic,
        backend_port=args.port,
        watch_stdin=args.watch_stdin,
    )
    if args.data_in_use_wait is not None:
        options.data_in_use_wait = args.data_in_use_wait
    try:
        return asyncio.run(run_headless(options))
    except KeyboardInterrupt:
        return 0
    except StartupError as exc:  # one line, which the launcher shows
        print(f"{REASON_PREFIX}{exc}", file=sys.stderr)
        return 1

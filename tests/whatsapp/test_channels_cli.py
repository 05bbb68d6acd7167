"""`ttydesk admin channel …` and `admin templates sync` against the simulator, on the database."""

from __future__ import annotations

import asyncio
import json

from backend.cli import build_parser
from tests.whatsapp.outbound_fixtures import PHONE_ID, SIM_TOKEN, WABA_ID, start_env, stop_env


async def run_cli(env, argv, capsys):
    args = build_parser().parse_args(argv)
    settings = env.backend.settings
    code = await asyncio.to_thread(args.func, args, settings)
    out = capsys.readouterr()
    return code, out.out, out.err


async def test_connect_list_sync_disconnect(tmp_path, capsys):
    env = await start_env(tmp_path / "data")
    await env.backend.stop()  # the CLI works on the database directly
    try:
        connect = [
            "admin", "channel", "connect", "--waba-id", WABA_ID, "--token", SIM_TOKEN,
            "--legal-name", "Acme S.L.", "--display-name", "Acme", "--website", "https://acme.example",
            "--email", "help@acme.example", "--country", "es", "--time-zone", "Europe/Madrid",
            "--category", "RETAIL", "--phone-number-id", PHONE_ID, "--json",
        ]  # fmt: skip
        code, out, err = await run_cli(env, connect, capsys)
        assert code == 0, err
        channel = json.loads(out)
        assert channel["phone_numbers"][0]["status"] == "connected"
        assert SIM_TOKEN not in out
        code, out, _ = await run_cli(env, ["admin", "channel", "list"], capsys)
        assert code == 0 and "connected" in out and SIM_TOKEN not in out
        code, out, _ = await run_cli(env, ["admin", "templates", "sync"], capsys)
        assert code == 0 and "Synced" in out
        code, out, _ = await run_cli(env, ["admin", "channel", "disconnect", PHONE_ID], capsys)
        assert code == 0 and "history is kept" in out
        bad = connect[:]
        bad[bad.index(SIM_TOKEN)] = "wrong"
        code, _, err = await run_cli(env, bad, capsys)
        assert code == 1 and "access_token" in err and "wrong" not in err
    finally:
        await env.backend.start()
        await stop_env(env)

"""The e-mail outbox worker's lease (``backend/leases.py``): a mail is claimed under the
worker's lease, and a handover to a slow relay that outlasts the lease is kept by
renewal — not taken for "not known whether sent" by the worker's own sweep — and goes
out once. A real relay (aiosmtpd) the test holds up."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from backend.email.channel import OUTBOX
from backend.email.smtp_listener import SupportMailbox
from backend.keys import SERVICES
from tests.backend.wsclient import LiveClient
from tests.email.test_inbound_wiring import mail, send, threads
from tests.email.test_outbound import CUSTOMER, SUPPORT, desk_with_relay, reply, settled
from tests.email.test_smtp_send import Relaying
from tests.support import LiveBackend

LEASE_SECONDS = 0.6
WAIT_SECONDS = 15.0


async def test_a_slow_handover_outlasting_its_lease_is_kept_by_renewal_and_sent_once(
    tmp_path: Path,
):
    gate = asyncio.Event()
    relay = Relaying()

    async def keep_when_let(raw: bytes, sender: str, recipients: list[str]) -> None:
        await gate.wait()  # the relay takes its time to accept the mail
        relay.received.append((raw, sender, recipients))

    relay.mailbox = SupportMailbox(keep_when_let, [CUSTOMER])
    async with relay as relay_port:
        desk = LiveBackend(
            tmp_path,
            overrides={
                "outbox_lease": LEASE_SECONDS,
                "email": {
                    "addresses": [SUPPORT],
                    "display_name": "Acme Support",
                    "listen_port": 0,
                    "relay_host": "127.0.0.1",
                    "relay_port": relay_port,
                    "relay_starttls": False,
                },
            },
        )
        await desk.start()
        await desk.seed_agents()
        try:
            assert desk.app is not None
            holder = desk.app[SERVICES][OUTBOX].leases.holder
            await send(desk, mail("Where is my parcel?", message_id="<p1@example.com>"))
            [thread] = await threads(desk)

            async def row() -> Any:
                return await desk.store.readers.one(
                    "SELECT state, claimed_by, lease_until FROM email_outbox", ()
                )

            async with LiveClient.connect(desk, desk.admin_token) as live:
                queued = await reply(desk, thread["id"], "It ships today.")
                async with asyncio.timeout(WAIT_SECONDS):
                    while (claimed := await row())["state"] != "in_flight":
                        await asyncio.sleep(0.02)
                assert claimed["claimed_by"] == holder
                first_lease = datetime.fromisoformat(claimed["lease_until"])
                async with asyncio.timeout(WAIT_SECONDS):
                    while True:
                        now = await row()
                        if now["state"] != "in_flight" or datetime.fromisoformat(
                            now["lease_until"]
                        ) > first_lease + timedelta(seconds=LEASE_SECONDS):
                            break
                        await asyncio.sleep(0.02)
                # the worker's own sweep has run meanwhile: a renewed handover is not taken
                assert now["state"] == "in_flight"
                gate.set()
                done = await settled(live, queued["id"])
            assert done["status"] == "sent"
            assert len(relay.received) == 1
            assert (await row())["state"] == "done"
        finally:
            gate.set()
            await desk.stop()


async def test_a_worker_stopped_mid_batch_gives_back_the_mails_it_never_handed_over(
    tmp_path: Path,
):
    """Two replies claimed in one batch; the relay holds the first when the server stops.
    The first may have gone (it stays "not known whether sent", never resent); the second
    never left the server: it is given back to the queue, and sent once after the restart.
    Before, it stayed claimed too and was failed unsent as "not known whether sent"."""
    gate = asyncio.Event()
    relay = Relaying()

    async def keep_when_let(raw: bytes, sender: str, recipients: list[str]) -> None:
        await gate.wait()
        relay.received.append((raw, sender, recipients))

    relay.mailbox = SupportMailbox(keep_when_let, [CUSTOMER])
    async with desk_with_relay(tmp_path, relay) as (desk, _):
        store = desk.store
        both_queued = asyncio.Event()
        real_claim = store.claim_email_outbox

        async def claim_both(*args: Any, **kwargs: Any) -> Any:
            await both_queued.wait()  # (so that one batch claims the two)
            return await real_claim(*args, **kwargs)

        store.claim_email_outbox = claim_both  # type: ignore[method-assign]
        try:
            await send(desk, mail("Where is my parcel?", message_id="<p2@example.com>"))
            [thread] = await threads(desk)
            first = await reply(desk, thread["id"], "It ships today.")
            second = await reply(desk, thread["id"], "Tracking: ZX-1.")
            both_queued.set()

            async def states() -> dict[int, str]:  # (read from the file: the server stops)
                with contextlib.closing(sqlite3.connect(desk.settings.database_path)) as db:
                    return dict(db.execute("SELECT message_id, state FROM email_outbox"))

            async with asyncio.timeout(WAIT_SECONDS):
                while (await states()).get(second["id"]) != "in_flight":
                    await asyncio.sleep(0.02)
            await desk.stop()  # the first is with the relay, the second waits its turn
            store.claim_email_outbox = real_claim  # type: ignore[method-assign]
            assert await states() == {first["id"]: "in_flight", second["id"]: "pending"}
            gate.set()
            await desk.start()
            async with asyncio.timeout(WAIT_SECONDS):
                while (await states()).get(second["id"]) != "done":
                    await asyncio.sleep(0.05)
            texts = [raw for raw, _, _ in relay.received]
            assert sum(b"Tracking: ZX-1." in raw for raw in texts) == 1
            # the relay had the first when the server stopped: never handed over again
            assert sum(b"It ships today." in raw for raw in texts) <= 1
        finally:
            gate.set()  # (the relay lets its held mail go before it closes)

"""E-mail ingest (issue 18): mails per second through the real SMTP listener into the
store, beside a bare ``aiosmtpd`` handler that stores each mail's bytes in SQLite (group
commit, 250 only once committed) in the same run; target ≥ 50 % of it.

Both servers run in this process, on one event loop with the clients (8 SMTP sessions,
each sending its share of the mails over one connection): unlike the other backend
benchmarks, not pinned to a core of their own, so the figure is a ratio on the same
terms rather than an absolute per-core rate. A third of the mails answer an earlier one
(In-Reply-To), as a help desk's traffic does; each has its own Date.

Like with like: the same aiosmtplib client for both, 8 sessions each reusing one
connection; both servers are aiosmtpd sessions with a 250 only once the mail is
committed (group commit, synchronous FULL for both). The bare one is stock aiosmtpd with
a handler that takes every recipient and stores the bytes; ours is the shipped listener
(``ListenerSMTP``: aiosmtpd's session with its command address reading memoised) with
the recipient check, the parse and the whole ingest transaction.

What limits a turn depends on the machine: on a quiet one the CPU of the one process
(the client's included: about half a millisecond a mail under load, on both sides); on a
loaded one neither: run apart (``tests.bench.email_cpu``), both servers were 15-30 % busy
and the client under 20 %, each session waiting on the commits' fdatasync, so the ratio
then follows the disk's latency (0.26-0.76 in six loaded turns) and says little.
``email_cpu``'s CPU per mail, each server in a process of its own, is the reading that
holds under load. Turns of 1,800 mails (about 3 s quiet; the 600 of before were over in
a second) alternate, ours first, and each side's median turn is compared, every turn
printed.
"""

from __future__ import annotations

import asyncio
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import aiosmtplib
from aiosmtpd.smtp import SMTP, Envelope, Session

from backend.email.channel import LISTENER
from backend.keys import SERVICES
from tests.bench.common import row
from tests.support import LiveBackend

SUPPORT = "support@acme.test"
MAILS = 1_800
SESSIONS = 8
ROUNDS = 3
SENT = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)


def corpus(count: int = MAILS, start: int = 0) -> list[bytes]:
    """``count`` mails numbered from ``start`` (no two share a Message-ID), each with the
    Date every mailer writes (one text per mail, as real traffic has)."""
    mails = []
    for n in range(start, start + count):
        mail = EmailMessage()
        mail["From"] = f"Customer {n % 150} <customer{n % 150}@example.com>"
        mail["To"] = SUPPORT
        mail["Subject"] = f"Order {n % 150}: where is it?"
        mail["Date"] = format_datetime(SENT + timedelta(seconds=n))
        mail["Message-ID"] = f"<bench-{n}@example.com>"
        if n % 3 == 2:
            mail["In-Reply-To"] = f"<bench-{n - 1}@example.com>"
        mail.set_content(
            f"Hello, my order {n} has not arrived yet.\n\nThanks,\nCustomer {n % 150}\n\n"
            f"On Mon, Acme wrote:\n> We shipped it.\n"
        )
        mails.append(mail.as_bytes())
    return mails


class BareStore:
    """The baseline: each mail's bytes inserted, committed in groups, 250 after commit."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode = WAL")
        self.db.execute("CREATE TABLE mails (id INTEGER PRIMARY KEY, raw BLOB NOT NULL)")
        self.queue: asyncio.Queue[tuple[bytes, asyncio.Future[None]]] = asyncio.Queue()

    def _commit(self, raws: list[bytes]) -> None:
        with self.db:
            self.db.executemany("INSERT INTO mails (raw) VALUES (?)", [(r,) for r in raws])

    async def writer(self) -> None:
        while True:
            batch = [await self.queue.get()]
            while not self.queue.empty():
                batch.append(self.queue.get_nowait())
            await asyncio.to_thread(self._commit, [raw for raw, _ in batch])
            for _, done in batch:
                done.set_result(None)

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook names
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list
    ) -> str:
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        done = asyncio.get_running_loop().create_future()
        self.queue.put_nowait((bytes(envelope.original_content or b""), done))
        await done
        return "250 2.0.0 Message accepted"


async def send_all(port: int, mails: list[bytes], sessions: int = SESSIONS) -> None:
    """Sends ``mails`` over ``sessions`` SMTP sessions at once, each its share in turn."""

    async def session(share: list[bytes]) -> None:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=60)
        await client.connect()
        for raw in share:
            await client.sendmail("customer@example.com", [SUPPORT], raw)
        await client.quit()

    await asyncio.gather(*(session(mails[i::sessions]) for i in range(sessions)))


async def load(port: int, mails: list[bytes]) -> float:
    """Mails per second, SESSIONS sessions sending their shares at once."""
    started = time.perf_counter()
    await send_all(port, mails)
    return len(mails) / (time.perf_counter() - started)


async def bare_rate(folder: Path, mails: list[bytes]) -> float:
    folder.mkdir(parents=True, exist_ok=True)
    store = BareStore(folder / "bare.db")
    writer = asyncio.create_task(store.writer())
    server = await asyncio.get_running_loop().create_server(
        lambda: SMTP(store, enable_SMTPUTF8=True), "127.0.0.1", 0
    )
    try:
        return await load(server.sockets[0].getsockname()[1], mails)
    finally:
        server.close()
        writer.cancel()
        store.db.close()


async def our_rate(folder: Path, mails: list[bytes]) -> tuple[float, int]:
    backend = LiveBackend(
        folder,
        overrides={"email": {"addresses": [SUPPORT], "listen_port": 0}, "log_level": "WARNING"},
    )
    await backend.start()
    try:
        assert backend.app is not None
        port = backend.app[SERVICES][LISTENER].sockets[0].getsockname()[1]
        rate = await load(port, mails)
        stored = await backend.store.readers.value("SELECT COUNT(*) FROM email_messages")
        return rate, int(stored or 0)
    finally:
        await backend.stop()


async def main() -> list[dict[str, Any]]:
    mails = corpus()
    ours: list[tuple[float, int]] = []
    bare: list[float] = []
    with tempfile.TemporaryDirectory(prefix="ttydesk-bench-email-") as tmp:
        for turn in range(ROUNDS):
            ours.append(await our_rate(Path(tmp) / f"ours{turn}", mails))
            bare.append(await bare_rate(Path(tmp) / f"bare{turn}", mails))
    ours_rate = statistics.median(rate for rate, _ in ours)
    base = statistics.median(bare)
    stored = min(count for _, count in ours)
    ratio = ours_rate / base if base else None
    each = (
        f"ours {' / '.join(f'{rate:,.0f}' for rate, _ in ours)}, "
        f"bare {' / '.join(f'{rate:,.0f}' for rate in bare)}"
    )
    return [
        row(
            "email_ingest",
            f"mails/s through the SMTP listener into the store (median of {ROUNDS} turns: {each})",
            ours_rate,
            "mail/s",
            "≥ 50 % of bare aiosmtpd",
            baseline=base,
            ratio=ratio,
            ok=ratio is not None and ratio >= 0.5,
        ),
        row(
            "email_ingest",
            "mails stored of those sent",
            stored,
            "mails",
            f"= {MAILS}",
            ok=stored == MAILS,
        ),  # fmt: skip
    ]


if __name__ == "__main__":
    from tests.bench.common import print_rows

    print_rows(asyncio.run(main()))

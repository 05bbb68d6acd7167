"""Fetching from a real IMAP server (a throwaway dovecot): each message once, in order,
across restarts, reconnections and a renumbered folder."""

from __future__ import annotations

import asyncio

import aioimaplib
import pytest

from backend.email.imap_fetch import ImapAccount, ImapFetcher, MailboxPosition
from backend.email.parse import parse_email
from tests.email.dovecot import PASSWORD, USER, Dovecot


class Saved:
    """The position as the store would keep it."""

    def __init__(self, position: MailboxPosition | None = None) -> None:
        self.position = position or MailboxPosition()

    async def load(self) -> MailboxPosition:
        return self.position

    async def save(self, position: MailboxPosition) -> None:
        self.position = position


def mail(n: int, size: int = 0) -> bytes:
    return (
        f"From: ana@example.com\r\nTo: {USER}\r\nSubject: number {n}\r\n"
        f"Message-ID: <m{n}@example.com>\r\n\r\nbody {n}\r\n"
    ).encode() + b"x" * size


async def deliver(server: Dovecot, *messages: bytes) -> None:
    client = aioimaplib.IMAP4(port=server.port)
    await client.wait_hello_from_server()
    await client.login(USER, PASSWORD)
    for message in messages:
        assert (await client.append(message, mailbox="INBOX")).result == "OK"
    await client.logout()


def fetcher_for(server: Dovecot, taken: list[bytes], saved: Saved, **kw) -> ImapFetcher:
    async def accept(raw: bytes) -> None:
        taken.append(raw)

    account = ImapAccount("127.0.0.1", server.port, USER, PASSWORD)
    return ImapFetcher(account, accept, saved, **kw)


def subjects(taken: list[bytes]) -> list[str]:
    return [parse_email(raw).subject for raw in taken]


async def test_each_message_is_taken_once_in_order_and_a_restart_goes_on_from_there(dovecot):
    await deliver(dovecot, mail(1), mail(2), mail(3))
    taken: list[bytes] = []
    saved = Saved()
    fetcher = fetcher_for(dovecot, taken, saved)
    uidvalidity = await fetcher.connect()
    assert await fetcher.fetch_new(uidvalidity) == 3
    assert await fetcher.fetch_new(uidvalidity) == 0  # "4:*" still names UID 3: not again
    await fetcher.close()
    assert subjects(taken) == ["number 1", "number 2", "number 3"]
    assert saved.position == MailboxPosition(uidvalidity, 3)

    await deliver(dovecot, mail(4))
    again = fetcher_for(dovecot, taken, saved)  # a restart: the saved position only
    assert await again.fetch_new(await again.connect()) == 1
    await again.close()
    assert subjects(taken) == ["number 1", "number 2", "number 3", "number 4"]


async def test_a_message_over_the_limit_is_left_out_and_named_the_rest_still_come(dovecot):
    await deliver(dovecot, mail(1), mail(2, size=5000), mail(3))
    taken: list[bytes] = []
    left_out: list[tuple[int, int]] = []

    async def note(uid: int, size: int) -> None:
        left_out.append((uid, size))

    fetcher = fetcher_for(dovecot, taken, Saved(), max_message_bytes=2000, left_out=note)
    await fetcher.fetch_new(await fetcher.connect())
    await fetcher.close()
    assert subjects(taken) == ["number 1", "number 3"]
    assert [uid for uid, _ in left_out] == [2] and left_out[0][1] > 5000


async def test_a_renumbered_folder_is_offered_again_whole(dovecot):
    await deliver(dovecot, mail(1), mail(2))
    taken: list[bytes] = []
    saved = Saved(MailboxPosition(uidvalidity=1, last_uid=2))  # another UIDVALIDITY
    fetcher = fetcher_for(dovecot, taken, saved)
    await fetcher.fetch_new(await fetcher.connect())
    await fetcher.close()
    assert subjects(taken) == ["number 1", "number 2"]


async def until(probe, timeout: float = 20.0):
    async with asyncio.timeout(timeout):
        while not probe():
            await asyncio.sleep(0.05)


async def test_a_message_that_cannot_be_stored_holds_up_no_other(dovecot):
    """A store that fails on one message (a bug, a mail no parser reads): the watch goes on,
    tries it again after a pause (a passing failure is survived), and after MAX_TRIES
    leaves it out, named in the log, so the mail after it still comes. It used to end the
    watch at the first failure: no later mail was ever fetched."""
    from backend.email.imap_fetch import MAX_TRIES

    await deliver(dovecot, mail(1), mail(2), mail(3), mail(4))
    taken: list[bytes] = []
    tries: dict[str, int] = {}

    async def accept(raw: bytes) -> None:
        subject = parse_email(raw).subject
        tries[subject] = tries.get(subject, 0) + 1
        if subject == "number 2" or (subject == "number 3" and tries[subject] < 3):
            raise RuntimeError(f"cannot store {subject}")
        taken.append(raw)

    account = ImapAccount("127.0.0.1", dovecot.port, USER, PASSWORD)
    saved = Saved()
    fetcher = ImapFetcher(account, accept, saved, poll_seconds=3600, backoff=(0.05,))
    stop = asyncio.Event()
    watch = asyncio.create_task(fetcher.run(stop))
    try:
        await until(lambda: len(taken) == 3 or watch.done())
    finally:
        stop.set()
        await asyncio.wait_for(watch, 20)
    assert subjects(taken) == ["number 1", "number 3", "number 4"]
    assert tries["number 2"] == MAX_TRIES
    assert saved.position.last_uid == 4


async def test_the_watch_hears_new_mail_at_once_and_survives_a_dropped_connection(dovecot):
    taken: list[bytes] = []
    saved = Saved()
    # the poll is an hour: only IDLE can bring the second message in time
    fetcher = fetcher_for(dovecot, taken, saved, poll_seconds=3600, backoff=(0.2,))
    stop = asyncio.Event()
    watch = asyncio.create_task(fetcher.run(stop))
    try:
        await deliver(dovecot, mail(1))
        await until(lambda: len(taken) == 1)
        await deliver(dovecot, mail(2))
        await until(lambda: len(taken) == 2)

        dovecot.crash()  # the server goes away mid-IDLE
        await asyncio.sleep(0.5)
        dovecot.start_on_same_port()
        await deliver(dovecot, mail(3))
        await until(lambda: len(taken) == 3)
    finally:
        stop.set()
        await asyncio.wait_for(watch, 20)
    assert subjects(taken) == ["number 1", "number 2", "number 3"]
    assert fetcher.connections >= 2


class DroppingProxy:
    """Between the fetcher and dovecot: the first connection is cut the moment the client
    sends ``drop_on`` (the command never reaches the server, its answer never comes
    back); later connections pass through whole."""

    def __init__(self, server: Dovecot, drop_on: bytes) -> None:
        self.server = server
        self.drop_on = drop_on
        self.connections = 0
        self.dropped = False
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task] = set()

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self._server.sockets[0].getsockname()[1]

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter):
        self.connections += 1
        cut_this_one = self.connections == 1
        server_r, server_w = await asyncio.open_connection("127.0.0.1", self.server.port)

        async def pipe(reader, writer, watch: bool) -> None:
            try:
                while data := await reader.read(65536):
                    if watch and cut_this_one and self.drop_on in data:
                        self.dropped = True
                        break
                    writer.write(data)
                    await writer.drain()
            except (ConnectionError, asyncio.CancelledError):
                pass
            finally:
                for end in (client_w, server_w):
                    end.close()

        for task in (
            asyncio.create_task(pipe(client_r, server_w, watch=True)),
            asyncio.create_task(pipe(server_r, client_w, watch=False)),
        ):
            self._pipes.add(task)
            task.add_done_callback(self._pipes.discard)

    async def close(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._pipes):
            task.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)


@pytest.mark.parametrize("drop_on", [b"IDLE\r\n", b"BODY.PEEK[]"], ids=["idle", "fetch"])
async def test_a_connection_dropped_while_a_command_waits_for_its_answer_is_made_again_at_once(
    dovecot, drop_on
):
    """aioimaplib leaves a command whose connection dropped waiting for its timeout (the
    fetcher's 30 s), and an IDLE waiting for its go-ahead for ever: the watch must see the
    drop and reconnect instead."""
    await deliver(dovecot, mail(1))
    proxy = DroppingProxy(dovecot, drop_on)
    port = await proxy.start()
    taken: list[bytes] = []

    async def accept(raw: bytes) -> None:
        taken.append(raw)

    account = ImapAccount("127.0.0.1", port, USER, PASSWORD)
    fetcher = ImapFetcher(account, accept, Saved(), poll_seconds=3600, backoff=(0.2,))
    stop = asyncio.Event()
    watch = asyncio.create_task(fetcher.run(stop))
    try:
        await until(lambda: proxy.dropped)
        await until(lambda: len(taken) == 1 and fetcher.connections == 2, timeout=15)
        await deliver(dovecot, mail(2))
        await until(lambda: len(taken) == 2, timeout=15)
    finally:
        stop.set()
        await asyncio.wait_for(watch, 20)
        await proxy.close()
    assert subjects(taken) == ["number 1", "number 2"]

"""Mail from a hosted mailbox (IMAP): the folder is watched (IDLE, else polled), each new
message is handed to ``accept`` once, and the position — the folder's UIDVALIDITY and the
last UID taken — is saved after every message, so a restart or a dropped connection goes
on where it stopped and never fetches a message twice. Messages are read with
``BODY.PEEK[]``: the mailbox's own \\Seen flags are left as they were.

A message ``accept`` fails on is tried again after a pause, and after ``MAX_TRIES`` left
out (named in the log): one bad message never holds up the mail after it.

If the server renumbers the folder (a new UIDVALIDITY), every message in it is offered
again: the store knows each one by its Message-ID and keeps the first.
"""

from __future__ import annotations

import asyncio
import logging
import re
import ssl
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import aioimaplib

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 30 * 1024 * 1024
# a message the store fails on is tried this often (a pause between), then left out, so
# one bad message never holds up the mail after it
MAX_TRIES = 5
_UIDVALIDITY = re.compile(rb"\[UIDVALIDITY (\d+)\]")
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class MailboxPosition:
    uidvalidity: int | None = None
    last_uid: int = 0


class Positions(Protocol):
    """Where the position is kept (the store, for the channel)."""

    async def load(self) -> MailboxPosition: ...

    async def save(self, position: MailboxPosition) -> None: ...


@dataclass(frozen=True, slots=True)
class ImapAccount:
    host: str
    port: int
    username: str
    password: str
    folder: str = "INBOX"
    ssl_context: ssl.SSLContext | None = None  # IMAPS (993); None: plain (143, tests)
    poll_seconds: float = 60.0  # how often a server without IDLE is asked

    def __repr__(self) -> str:  # the password is never logged
        return f"ImapAccount({self.username}@{self.host}:{self.port}/{self.folder})"


class ImapError(Exception):
    """The server refused a command; the fetcher reconnects after a pause."""


class NotStored(ImapError):
    """``accept`` failed on a message: tried again after the pause (``MAX_TRIES``)."""


T = TypeVar("T")


class ImapFetcher:
    def __init__(
        self,
        account: ImapAccount,
        accept: Callable[[bytes], Awaitable[None]],
        positions: Positions,
        *,
        max_message_bytes: int = MAX_MESSAGE_BYTES,
        left_out: Callable[[int, int], Awaitable[None]] | None = None,
        idle_seconds: float = 25 * 60,  # servers end an IDLE after 30 minutes
        poll_seconds: float = 60.0,  # a server without IDLE is asked this often
        backoff: Sequence[float] = (1.0, 2.0, 5.0, 15.0, 60.0),
        timeout: float = 30.0,
    ) -> None:
        self.account = account
        self._accept = accept
        self._positions = positions
        self._max = max_message_bytes
        self._left_out = left_out
        self._idle_seconds = idle_seconds
        self._poll_seconds = poll_seconds
        self._backoff = tuple(backoff)
        self._timeout = timeout
        self._client: Any = None
        self._lost = asyncio.Event()  # the connection dropped (set by aioimaplib)
        self.connections = 0  # how often it (re)connected: for tests and the admin
        self._failed: dict[tuple[int, int], int] = {}  # (UIDVALIDITY, UID) → failed tries

    # ---- one pass ---------------------------------------------------------------

    async def connect(self) -> int:
        """Log in and select the folder; returns its UIDVALIDITY."""
        await self.close()
        account = self.account
        lost = self._lost = asyncio.Event()

        def on_lost(exc: Exception | None) -> None:
            lost.set()

        if account.ssl_context is not None:
            client = aioimaplib.IMAP4_SSL(
                account.host,
                account.port,
                ssl_context=account.ssl_context,
                timeout=self._timeout,
                conn_lost_cb=on_lost,
            )
        else:
            client = aioimaplib.IMAP4(
                account.host, account.port, timeout=self._timeout, conn_lost_cb=on_lost
            )
        self._client = client
        await self._unless_lost(client.wait_hello_from_server())
        _ok(await self._unless_lost(client.login(account.username, account.password)), "LOGIN")
        selected = _ok(await self._unless_lost(client.select(account.folder)), "SELECT")
        self.connections += 1
        for line in selected.lines:
            found = _UIDVALIDITY.search(bytes(line))
            if found:
                return int(found.group(1))
        raise ImapError("the server did not say the folder's UIDVALIDITY")

    async def fetch_new(self, uidvalidity: int) -> int:
        """Hand every message after the saved position to ``accept``; returns how many."""
        position = await self._positions.load()
        if position.uidvalidity != uidvalidity:
            if position.uidvalidity is not None:
                log.warning(
                    "%r was renumbered (UIDVALIDITY %s -> %s): offering every message again",
                    self.account,
                    position.uidvalidity,
                    uidvalidity,
                )
            position = MailboxPosition(uidvalidity, 0)
        taken = 0
        for uid in await self._uids_after(position.last_uid):
            size = await self._size(uid)
            if size is not None and size > self._max:
                log.warning("message UID %s of %r is %s bytes: left out", uid, self.account, size)
                if self._left_out is not None:
                    await self._left_out(uid, size)
            else:
                raw = await self._body(uid)
                if raw is not None and await self._take((uidvalidity, uid), raw):
                    taken += 1
            position = MailboxPosition(uidvalidity, uid)
            await self._positions.save(position)
        if position.last_uid == 0:
            await self._positions.save(position)  # the UIDVALIDITY, for an empty folder
        return taken

    async def _take(self, key: tuple[int, int], raw: bytes) -> bool:
        """Hand one message to ``accept``; False once it failed ``MAX_TRIES`` times (left
        out, named in the log); ``NotStored`` before that, so it is tried again."""
        try:
            await self._accept(raw)
        except Exception as exc:
            tries = self._failed[key] = self._failed.get(key, 0) + 1
            if tries < MAX_TRIES:
                raise NotStored(f"message UID {key[1]} could not be stored: {exc!r}") from exc
            log.error(
                "message UID %s of %r could not be stored after %s tries: left out",
                key[1],
                self.account,
                tries,
                exc_info=exc,
            )
            del self._failed[key]
            return False
        self._failed.pop(key, None)
        return True

    async def _uids_after(self, last_uid: int) -> list[int]:
        found = _ok(
            await self._unless_lost(self._client.uid_search(f"UID {last_uid + 1}:*")),
            "UID SEARCH",
        )
        uids: set[int] = set()
        for line in found.lines:
            text = bytes(line).decode("ascii", "replace")
            if text.startswith("Search completed") or "completed" in text.lower():
                continue
            uids.update(int(word) for word in text.split() if word.isdigit())
        # "n:*" always names the highest UID, even one below n
        return sorted(uid for uid in uids if uid > last_uid)

    async def _size(self, uid: int) -> int | None:
        response = _ok(
            await self._unless_lost(self._client.uid("fetch", str(uid), "(RFC822.SIZE)")),
            "FETCH",
        )
        for line in response.lines:
            found = _SIZE.search(bytes(line))
            if found:
                return int(found.group(1))
        return None

    async def _body(self, uid: int) -> bytes | None:
        response = _ok(
            await self._unless_lost(self._client.uid("fetch", str(uid), "(BODY.PEEK[])")),
            "FETCH",
        )
        literals = [bytes(line) for line in response.lines if isinstance(line, bytearray)]
        return literals[0] if literals else None  # expunged meanwhile: nothing to take

    # ---- the watch --------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Until ``stop``: take what is new, wait for the server to say more came (IDLE)
        or for the poll interval, and reconnect after a pause when anything fails."""
        failures = 0
        while not stop.is_set():
            try:
                uidvalidity = await self.connect()
                failures = 0
                while not stop.is_set():
                    await self.fetch_new(uidvalidity)
                    await self._wait_for_news(stop)
            except (TimeoutError, OSError, ImapError, aioimaplib.AioImapException) as exc:
                delay = self._backoff[min(failures, len(self._backoff) - 1)]
                failures += 1
                log.warning("%r: %s; connecting again in %s s", self.account, exc, delay)
                await self.close()
                try:
                    await asyncio.wait_for(stop.wait(), delay)
                except TimeoutError:
                    pass
        await self.close()

    async def _wait_for_news(self, stop: asyncio.Event) -> None:
        client = self._client
        if not client.has_capability("IDLE"):
            try:
                await asyncio.wait_for(stop.wait(), self._poll_seconds)
            except TimeoutError:
                _ok(await self._unless_lost(client.noop()), "NOOP")  # and check the connection
            return
        idle = await self._unless_lost(client.idle_start(timeout=self._idle_seconds))
        waits = {
            asyncio.ensure_future(stop.wait()),
            asyncio.ensure_future(self._lost.wait()),
            pushed := asyncio.ensure_future(client.wait_server_push()),
        }
        try:
            await asyncio.wait(waits, timeout=self._idle_seconds, return_when="FIRST_COMPLETED")
        finally:
            for waiting in waits:
                waiting.cancel()
        if self._lost.is_set():
            idle.cancel()
            raise ImapError("the connection dropped while waiting for new mail")
        if client.has_pending_idle():
            client.idle_done()
        await self._unless_lost(asyncio.wait_for(idle, self._timeout))
        if pushed.done() and not pushed.cancelled() and pushed.exception() is not None:
            raise ImapError(f"the connection ended while waiting: {pushed.exception()}")

    async def _unless_lost(self, command: Awaitable[T]) -> T:
        """``command``'s answer, unless the connection drops first: aioimaplib leaves a
        command sent on a dropped connection waiting for its timeout (IDLE's is 25
        minutes), so a drop between two commands (while a mail is being stored) stopped
        the fetcher for that long."""
        if self._lost.is_set():
            raise ImapError("the connection dropped")
        answer = asyncio.ensure_future(command)
        lost = asyncio.ensure_future(self._lost.wait())
        try:
            await asyncio.wait({answer, lost}, return_when=asyncio.FIRST_COMPLETED)
        except BaseException:  # cancelled: the command with it
            answer.cancel()
            raise
        finally:
            lost.cancel()
        if not answer.done():
            answer.cancel()
            raise ImapError("the connection dropped")
        return answer.result()

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        if self._lost.is_set():  # nobody to say goodbye to: a LOGOUT would wait 5 s
            if client.protocol.transport is not None:
                client.protocol.transport.close()
            return
        try:
            await asyncio.wait_for(client.logout(), 5)
        except Exception:  # noqa: BLE001 - a connection already gone
            pass


def _ok(response: Any, command: str) -> Any:
    if getattr(response, "result", None) != "OK":
        lines = b" ".join(bytes(line) for line in getattr(response, "lines", []) or [])
        raise ImapError(f"{command} refused: {lines.decode('utf-8', 'replace')[:200]}")
    return response

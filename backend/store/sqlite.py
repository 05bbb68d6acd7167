"""The embedded SQLite store: every area's methods on one object."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from backend.domain.clock import Clock, SystemClock
from backend.private_files import FILE_MODE, make_private, private_dir
from backend.store.agents import AgentsStore
from backend.store.audit import AuditStore
from backend.store.channels import ChannelsStore
from backend.store.drafts import DraftsStore
from backend.store.engine import CommittedEvent, Readers, Writer
from backend.store.events import EventsStore
from backend.store.ingesting import IngestStore
from backend.store.inserts import InsertsStore
from backend.store.mail import MailStore
from backend.store.mail_outbox import MailOutboxStore
from backend.store.media import MediaStore
from backend.store.outbox import OutboxStore
from backend.store.records import RecordsStore
from backend.store.reports import ReportsStore
from backend.store.search import SearchStore
from backend.store.seeding import SeedingStore
from backend.store.sending import SendingStore
from backend.store.templates import TemplatesStore
from backend.store.threads import ReadReceiptsStore, ThreadsStore
from backend.store.tickets import TicketsStore
from backend.store.usage import UsageStore
from backend.store.views import ViewsStore


class CommitListeners:
    """Who is told each commit's events (the hub, tests), in order: every store engine
    tells them the same way."""

    def _listen(self, on_commit: Callable[[list[CommittedEvent]], None] | None) -> None:
        self._subscribers: list[Callable[[list[CommittedEvent]], None]] = []
        if on_commit is not None:
            self._subscribers.append(on_commit)

    def on_commit(self, callback: Callable[[list[CommittedEvent]], None]) -> None:
        self._subscribers.append(callback)

    def _published(self, events: list[CommittedEvent]) -> None:
        for callback in self._subscribers:
            callback(events)

    def on_presence(self, callback: Callable[[str, dict[str, Any] | None], None]) -> None:
        """Who is told other processes' clients' presence (key, data; None: gone). One
        SQLite process serves every client: there are none."""

    def share_presence(self, key: str, presence: dict[str, Any]) -> None:
        """Tell other processes a client's presence: on SQLite there are none."""


class SqliteStore(
    CommitListeners,
    AgentsStore,
    EventsStore,
    IngestStore,
    MediaStore,
    MailStore,
    MailOutboxStore,
    # WhatsApp outbound: sends, outbox, usage, templates, channels
    SendingStore,
    DraftsStore,
    OutboxStore,
    UsageStore,
    TemplatesStore,
    ChannelsStore,
    ThreadsStore,
    ReadReceiptsStore,
    TicketsStore,
    ReportsStore,
    ViewsStore,
    SearchStore,
    RecordsStore,
    InsertsStore,
    AuditStore,
    SeedingStore,
):
    def __init__(
        self,
        path: Path,
        *,
        clock: Clock | None = None,
        on_commit: Callable[[list[CommittedEvent]], None] | None = None,
        readers: int = 2,
    ) -> None:
        self.path = path
        self.clock = clock or SystemClock()
        self._listen(on_commit)
        self.writer = Writer(path, now=self.clock.now, on_commit=self._published)
        self.readers = Readers(path, size=readers)

    async def open(self) -> None:
        private_dir(self.path.parent)
        # 0600 before SQLite first opens it: SQLite gives its WAL and shared-memory files
        # the database's mode; those left by an earlier version are narrowed here too
        make_private(self.path)
        for companion in ("-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.chmod(f"{self.path}{companion}", FILE_MODE)
        self.writer.start()  # creates the file and applies migrations before readers open
        await self.readers.open()

    async def close(self) -> None:
        await self.readers.close()
        self.writer.stop()

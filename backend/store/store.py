"""The store's face: ``Store``, every method the rest of the backend calls on a store.

Callers outside ``backend/store`` import only the face (``backend.store``: this
Protocol, the values of ``backend/store/types.py`` and ``SqliteStore``, the embedded
implementation, for whoever opens one) and never hand the store a transaction function:
each change is a named method that runs as one transaction and writes its events in it.
A second implementation (PostgreSQL) implements every member below with the same
signature; ``tests/backend/test_store_face.py`` checks ``SqliteStore`` against it.

Values are ``backend.schemas`` wire models or ``backend/store/types.py`` dataclasses.
``ThreadFilter`` is the one opaque value: a handler gets it from ``thread_filter`` or
``view_filter`` and hands it back to ``list_threads`` or ``search``, never looks inside.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol

from backend import schemas
from backend.domain.clock import Clock
from backend.domain.routing import RoutingRule
from backend.store.types import (
    Change,
    ChannelSecret,
    CommittedEvent,
    EmailJob,
    EmailRecord,
    EventPage,
    IngestResult,
    Lease,
    Mailbox,
    MailboxConnection,
    MediaFile,
    MediaJob,
    OutboxJob,
    PricingRules,
    SendResult,
    TemplateDefinition,
    UsageRules,
)

if TYPE_CHECKING:
    from backend.store.reports import ReportFilters
    from backend.store.views import ThreadFilter


class Store(Protocol):
    # -------------------------------------------------- lifetime and commits

    clock: Clock
    # True when no other process uses the database (SQLite, under its serving lock)
    single_process: bool

    async def close(self) -> None: ...

    def now(self) -> datetime: ...

    def on_commit(self, callback: Callable[[list[CommittedEvent]], None]) -> None: ...

    # presence of other processes' WebSocket clients (PostgreSQL; none on SQLite)
    def on_presence(self, callback: Callable[[str, dict[str, Any] | None], None]) -> None: ...

    def share_presence(self, key: str, presence: dict[str, Any]) -> None: ...

    async def open(self) -> None: ...

    # -------------------------------------------------- what a channel received

    async def ingest(
        self, changes: Sequence[Change], *, rules: Sequence[RoutingRule] = ()
    ) -> list[Any]: ...

    async def count(self, name: str, by: int = 1) -> None: ...

    async def ingest_email(
        self, record: EmailRecord, *, rules: Sequence[RoutingRule] = ()
    ) -> IngestResult: ...

    async def reveal_quarantined(
        self, message_id: int, actor_id: int
    ) -> tuple[schemas.Message, str | None]: ...

    async def prune_early_statuses(self, now: datetime) -> int: ...

    async def expire_held_reactions(self, now: datetime) -> int: ...

    # -------------------------------------------------- received media

    async def pending_media(self, limit: int = 50) -> list[MediaJob]: ...

    async def media_ready(
        self, media_id: int, *, path: str, size: int, sha256: str, mime_type: str | None
    ) -> None: ...

    async def media_attempt_failed(self, media_id: int, *, error: str, final: bool) -> int: ...

    async def retry_media(self, media_id: int) -> None: ...

    async def media_file(self, media_id: int, *, admin: bool) -> MediaFile | None: ...

    # -------------------------------------------------- the event log

    def newest_event_seq(self) -> int: ...

    async def event_bounds(self) -> tuple[int, int]: ...

    async def event_page(self, seq: int, limit: int) -> EventPage: ...

    async def events_after(self, seq: int, limit: int = 5000) -> list[tuple[int, str]]: ...

    async def prune_events(self, keep: int) -> int: ...

    # -------------------------------------------------- agents

    async def agent_for_token(self, token: str) -> schemas.Agent | None: ...

    async def create_agent(self, spec: schemas.AgentCreate) -> schemas.AgentCreated: ...

    async def find_agent(self, name_or_id: str) -> schemas.Agent: ...

    async def get_agent(self, agent_id: int) -> schemas.Agent: ...

    async def list_agents(self) -> list[schemas.Agent]: ...

    async def rotate_token(self, agent_id: int) -> str: ...

    async def update_agent(self, agent_id: int, change: schemas.MeUpdate) -> schemas.Agent: ...

    # -------------------------------------------------- threads and messages

    async def get_thread(self, thread_id: int) -> schemas.Thread: ...

    async def last_inbound_wamid(self, thread_id: int) -> tuple[str, str] | None: ...

    async def list_messages(
        self, thread_id: int, *, before: int | None = None, limit: int = 50
    ) -> schemas.Page[schemas.Message]: ...

    async def list_threads(
        self,
        where: ThreadFilter | None = None,
        *,
        limit: int = 50,
        cursor: str | None = None,
        offset: int | None = None,
        with_total: bool = False,
        sort: str = "recent",
    ) -> schemas.Page[schemas.Thread]: ...

    async def mark_read(self, thread_id: int, *, read: bool = True) -> schemas.Thread: ...

    # -------------------------------------------------- tickets

    async def get_ticket(self, ticket_id: int) -> schemas.Ticket: ...

    async def list_tickets(
        self,
        *,
        q: str | None = None,
        status: str | None = None,
        owner_id: int | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> schemas.Page[schemas.TicketSummary]: ...

    async def ticket_timeline(
        self, ticket_id: int, *, limit: int = 100, cursor: str | None = None
    ) -> schemas.Page[schemas.TimelineEntry]: ...

    async def update_ticket(
        self, ticket_id: int, change: schemas.TicketUpdate, *, actor_id: int
    ) -> schemas.Ticket: ...

    async def update_tickets(
        self, ticket_ids: list[int], change: schemas.TicketUpdate, *, actor_id: int
    ) -> list[schemas.Ticket]: ...

    async def wake_snoozed(self) -> int: ...

    async def next_snooze_end(self) -> datetime | None: ...

    # -------------------------------------------------- views and their counts

    async def cached_live_view_counts(self) -> schemas.ViewCounts | None: ...

    async def cached_view_count(self, view_id: str, agent: schemas.Agent) -> int | None: ...

    async def create_view(self, spec: schemas.ViewCreate, agent: schemas.Agent) -> schemas.View: ...

    async def delete_view(self, view_id: str, agent: schemas.Agent) -> None: ...

    async def emit_view_counts(
        self, counts: schemas.ViewCounts, *, unless_logged_after: int | None = None
    ) -> bool: ...

    async def get_view(self, view_id: str, agent: schemas.Agent) -> schemas.View: ...

    async def list_views(
        self, agent: schemas.Agent, *, counts: bool = True
    ) -> list[schemas.View]: ...

    def track_view_counts(self) -> None: ...

    async def update_view(
        self, view_id: str, change: schemas.ViewUpdate, agent: schemas.Agent
    ) -> schemas.View: ...

    async def view_counts(self, agent: schemas.Agent) -> schemas.ViewCounts: ...

    def view_counts_outdated(self) -> bool: ...

    async def thread_filter(
        self,
        agent: schemas.Agent,
        *,
        view: str | None = None,
        conditions: Sequence[tuple[str, dict[str, Any]]] = (),
        text: str | None = None,
        thread_ids: Sequence[int] = (),
    ) -> ThreadFilter: ...

    async def view_filter(self, view_id: str, agent: schemas.Agent) -> ThreadFilter: ...

    # -------------------------------------------------- search

    async def search(
        self, q: str, where: ThreadFilter, *, limit: int, cursor: str | None
    ) -> schemas.Page[schemas.SearchHit]: ...

    # -------------------------------------------------- sending

    async def record_upload(
        self, *, path: str, mime_type: str, filename: str | None, size: int, sha256: str
    ) -> int: ...

    async def retry_message(
        self, thread_id: int, message_id: int, agent_id: int | None
    ) -> schemas.Message: ...

    async def send_message(
        self, thread_id: int, agent_id: int | None, request: schemas.SendRequest
    ) -> SendResult: ...

    async def start_conversation(
        self, contact_id: int, agent_id: int | None, spec: schemas.StartConversation
    ) -> schemas.StartedConversation: ...

    # -------------------------------------------------- drafts

    async def discard_draft(
        self, agent_id: int, thread_id: int, revision: int | None = None
    ) -> None: ...

    async def get_draft(self, agent_id: int, thread_id: int) -> schemas.Draft: ...

    async def list_drafts(self, agent_id: int) -> list[schemas.Draft]: ...

    async def save_draft(
        self, agent_id: int, thread_id: int, update: schemas.DraftUpdate
    ) -> schemas.Draft: ...

    # -------------------------------------------------- the outbox (what was asked, and what happened)

    async def claim_outbox(
        self, due: datetime, limit: int, lease: Lease | None = None
    ) -> list[OutboxJob]: ...

    async def expire_outbox_leases(self, wait_until: datetime, now: datetime) -> int: ...

    async def give_back_outbox(self, message_ids: list[int]) -> int: ...

    async def mark_channel_unhealthy(self, channel_id: int, reason: str) -> None: ...

    async def next_outbox_due(self) -> str | None: ...

    async def outbox_ambiguous(self, message_id: int, until: datetime, error: str) -> None: ...

    async def outbox_failed(self, message_id: int, code: int | None, reason: str) -> None: ...

    async def outbox_retry_later(self, message_id: int, at: datetime, error: str) -> None: ...

    async def outbox_sent(
        self, message_id: int, wamid: str, message_status: str | None
    ) -> None: ...

    async def outbox_state(self, message_id: int) -> str | None: ...

    async def recover_outbox(self, wait_until: datetime, now: datetime) -> int: ...

    async def release_outbox_leases(self, holder: str) -> int: ...

    async def remember_media_upload(
        self, media_id: int, phone_number_id: str, external_id: str
    ) -> None: ...

    async def renew_outbox_leases(self, lease: Lease) -> int: ...

    async def resolve_ambiguous(self, now: datetime, reason: str) -> list[int]: ...

    # -------------------------------------------------- the e-mail outbox (store/mail_outbox.py)

    async def claim_email_outbox(
        self, due: datetime, limit: int, lease: Lease | None = None
    ) -> list[EmailJob]: ...

    async def email_send_outcome(
        self, message_id: int, outcome: str, detail: str, retry_at: datetime | None = None
    ) -> None: ...

    async def expire_email_leases(self, now: datetime) -> int: ...

    async def give_back_email_outbox(self, message_ids: list[int]) -> int: ...

    async def next_email_due(self) -> str | None: ...

    async def recover_email_outbox(self, now: datetime) -> int: ...

    async def release_email_leases(self, holder: str) -> int: ...

    async def renew_email_leases(self, lease: Lease) -> int: ...

    # -------------------------------------------------- usage and pricing

    def set_usage_rules(self, *, limit: int, subscription_start: date) -> None: ...

    async def usage(self, rules: UsageRules | None = None) -> schemas.Usage: ...

    async def usage_month(
        self, month: tuple[int, int] | None, rules: PricingRules
    ) -> schemas.UsageMonth: ...

    async def send_prices(self, thread_id: int, rules: PricingRules) -> schemas.SendPrices: ...

    # -------------------------------------------------- reports

    async def report(
        self,
        name: str,
        filters: ReportFilters,
        *,
        viewer: schemas.Agent,
        pricing_rules: PricingRules | None = None,
    ) -> schemas.Report: ...

    # -------------------------------------------------- templates

    async def list_templates(self) -> list[schemas.Template]: ...

    async def replace_templates(
        self, waba_id: str, definitions: list[TemplateDefinition]
    ) -> list[schemas.Template]: ...

    async def update_template_mapping(
        self, template_id: int, mapping: dict[str, str]
    ) -> schemas.Template: ...

    # -------------------------------------------------- channels and numbers

    async def add_mailbox(self, address: str, display_name: str | None) -> Mailbox: ...

    async def mailboxes(self) -> list[Mailbox]: ...

    async def connect_mailbox(
        self,
        address: str,
        display_name: str | None,
        settings: dict[str, object],
        *,
        actor_id: int | None = None,
    ) -> Mailbox: ...

    async def mailbox_connections(self) -> list[MailboxConnection]: ...

    async def mailbox_connection(self, mailbox_id: int) -> MailboxConnection: ...

    async def edit_mailbox(
        self,
        mailbox_id: int,
        address: str,
        display_name: str | None,
        settings: dict[str, object],
        *,
        actor_id: int | None = None,
    ) -> Mailbox: ...

    async def remove_mailbox(self, mailbox_id: int, *, actor_id: int | None = None) -> Mailbox: ...

    async def email_source(self, message_id: int) -> schemas.EmailSource: ...

    async def mailbox_position(self, mailbox: str) -> tuple[int | None, int]: ...

    async def save_mailbox_position(
        self, mailbox: str, uidvalidity: int, last_uid: int
    ) -> None: ...

    async def add_phone_number(
        self, channel_id: int, info: dict[str, Any], *, actor_id: int | None
    ) -> schemas.PhoneNumber: ...

    async def channel_secret(self, channel_id: int) -> ChannelSecret: ...

    async def channel_secrets(self) -> list[ChannelSecret]: ...

    async def check_room_for_number(self, channel_id: int, phone_number_id: str | None) -> None: ...

    async def connect_phone_number(
        self, channel_id: int, number_id: int, *, actor_id: int | None
    ) -> schemas.PhoneNumber: ...

    async def disconnect_phone_number(
        self, channel_id: int, number_id: int, *, actor_id: int | None
    ) -> schemas.Channel: ...

    async def get_channel(self, channel_id: int) -> schemas.Channel: ...

    async def get_phone_number(self, channel_id: int, number_id: int) -> schemas.PhoneNumber: ...

    async def list_channels(self) -> list[schemas.Channel]: ...

    async def phone_number_by_external_id(
        self, phone_number_id: str
    ) -> schemas.PhoneNumber | None: ...

    async def set_code_verification(self, channel_id: int, number_id: int, status: str) -> None: ...

    async def upsert_channel(
        self, spec: schemas.ChannelCreate, *, verified_business: bool, actor_id: int | None
    ) -> schemas.Channel: ...

    # -------------------------------------------------- contacts, companies, deals

    async def associate(self, contact_id: int, object_type: str, object_id: int) -> None: ...

    async def create_company(
        self, name: str, *, domain: str | None = None, properties: dict[str, Any] | None = None
    ) -> int: ...

    async def create_contact(self, spec: schemas.ContactCreate) -> schemas.ContactDetail: ...

    async def create_deal(
        self,
        name: str,
        *,
        stage: str | None = None,
        amount: float | None = None,
        currency: str | None = None,
        properties: dict[str, Any] | None = None,
    ) -> int: ...

    async def get_contact(self, contact_id: int) -> schemas.ContactDetail: ...

    async def import_contacts(self, text: str) -> schemas.ContactImportReport: ...

    async def list_companies(
        self, *, q: str | None = None, limit: int = 50, cursor: str | None = None
    ) -> schemas.Page[schemas.Company]: ...

    async def list_contacts(
        self, *, q: str | None = None, limit: int = 50, cursor: str | None = None
    ) -> schemas.Page[schemas.Contact]: ...

    async def list_deals(
        self, *, q: str | None = None, limit: int = 50, cursor: str | None = None
    ) -> schemas.Page[schemas.Deal]: ...

    async def update_contact(
        self, contact_id: int, change: schemas.ContactUpdate
    ) -> schemas.ContactDetail: ...

    # -------------------------------------------------- inserts (saved replies)

    async def create_insert(
        self,
        kind: schemas.InsertKind,
        title: str,
        body: str = "",
        *,
        url: str | None = None,
        tags: list[str] | None = None,
    ) -> schemas.Insert: ...

    async def list_inserts(
        self,
        *,
        kind: schemas.InsertKind | None = None,
        q: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> schemas.Page[schemas.Insert]: ...

    # -------------------------------------------------- the audit log

    async def list_audit(
        self, *, action: str | None = None, limit: int = 100, cursor: str | None = None
    ) -> schemas.Page[schemas.AuditEntry]: ...

    async def record_audit(
        self, actor_id: int | None, action: str, target: str | None = None, **detail: Any
    ) -> None: ...

    # -------------------------------------------------- seeding (the demo and the generated data)

    async def associate_contacts_with_companies(self, pairs: Sequence[tuple[int, int]]) -> None: ...

    async def backdate_connections(self, at: datetime) -> None: ...

    async def create_companies(self, companies: Sequence[dict[str, Any]]) -> dict[str, int]: ...

    async def create_deals(
        self, deals: Sequence[dict[str, Any]], company_ids: dict[str, int]
    ) -> dict[str, int]: ...

    async def create_inserts(self, inserts: Sequence[dict[str, Any]]) -> int: ...

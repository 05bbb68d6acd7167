"""Records (f3): contacts, companies, deals and tickets with search, a record page, and
starting a WhatsApp conversation (``N``) from any of them."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Input, OptionList, Static, TabbedContent, TabPane
from textual.widgets.option_list import Option

from backend.schemas import (
    Company,
    Contact,
    ContactSummary,
    Deal,
    StartConversation,
    TemplateSend,
    TicketSummary,
)
from tui.client import ApiError
from tui.dialogs.picker import FuzzyPicker, PickItem
from tui.dialogs.template_picker import TemplatePicker
from tui.text import cut, inert, one_line
from tui.widgets.chrome import TopBar
from tui.widgets.contact_panel import contact_text
from tui.widgets.footer import KeyFooter

KINDS = ("contacts", "companies", "deals", "tickets")


@dataclass
class RecordRef:
    kind: str  # contact | company | deal | ticket
    id: int
    label: str
    contacts: list[ContactSummary] = field(default_factory=list)
    thread_id: int | None = None
    record: Any = None


def _ref(kind: str, record: Any) -> RecordRef:
    if isinstance(record, Contact):
        return RecordRef("contact", record.id, record.name, record=record)
    if isinstance(record, Company):
        return RecordRef("company", record.id, record.name, list(record.contacts), record=record)
    if isinstance(record, Deal):
        return RecordRef("deal", record.id, record.name, list(record.contacts), record=record)
    assert isinstance(record, TicketSummary)
    return RecordRef("ticket", record.id, record.subject, thread_id=record.thread_id, record=record)


def _label(ref: RecordRef) -> Text:
    line = Text(f"{ref.kind:<8}", style="dim")
    line.append_text(one_line(ref.label, "bold"))
    record = ref.record
    if isinstance(record, Contact):
        extra = record.phone or record.mobile_phone or record.wa_id or record.email or ""
        if extra:
            line.append("  ")
            line.append_text(one_line(extra, "dim"))
    elif isinstance(record, Company) and record.domain:
        line.append("  ")
        line.append_text(one_line(record.domain, "dim"))
    elif isinstance(record, Deal):
        line.append(f"  {record.stage or ''}", "dim")
    elif isinstance(record, TicketSummary):
        line.append(f"  #{record.id} · {record.status.value} · {record.priority.value}", "dim")
    return line


def _detail(ref: RecordRef) -> Text:
    """Under the list, for the highlighted record: the contacts a conversation may be with."""
    if not ref.contacts:
        return Text()
    count = len(ref.contacts)
    out = Text(f"{count} contact{'' if count == 1 else 's'}: ", style="dim")
    for index, contact in enumerate(ref.contacts):
        if index:
            out.append(", ", "dim")
        out.append_text(one_line(contact.name, "dim"))
    return out


async def search_records(client: Any, kind: str, query: str) -> list[RecordRef]:
    if kind == "contacts":
        page = await client.contacts(query)
        return [_ref("contact", r) for r in page.items]
    if kind == "companies":
        page = await client.companies(query)
        return [_ref("company", r) for r in page.items]
    if kind == "deals":
        page = await client.deals(query)
        return [_ref("deal", r) for r in page.items]
    page = await client.tickets(query)
    return [_ref("ticket", r) for r in page.items]


class RecordList(Vertical):
    """One tab: a search box and the matching records."""

    DEFAULT_CSS = """
    RecordList { & OptionList { height: 1fr; border: none; } & Input { margin: 0 0 1 0; } }
    """

    def __init__(self, kind: str) -> None:
        super().__init__(id=f"records-{kind}")
        self.kind = kind
        self.refs: list[RecordRef] = []

    def compose(self) -> ComposeResult:
        yield Input(placeholder=f"search {self.kind} (enter)", id=f"q-{self.kind}")
        yield OptionList(id=f"list-{self.kind}")

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        self.load(event.value.strip())

    @work(exclusive=True, exit_on_error=False)
    async def load(self, query: str = "") -> None:
        client: Any = self.app.client  # type: ignore[attr-defined]
        options = self.query_one(OptionList)
        try:
            self.refs = await search_records(client, self.kind, query)
        except ApiError as exc:
            options.clear_options()
            options.add_option(Option(Text(exc.message), disabled=True))
            return
        options.clear_options()
        options.add_options([Option(_label(ref)) for ref in self.refs])
        if not self.refs:
            options.add_option(Option(Text("nothing found", style="dim"), disabled=True))
        else:
            options.highlighted = 0

    @property
    def highlighted(self) -> RecordRef | None:
        options = self.query_one(OptionList)
        index = options.highlighted
        if index is None or index >= len(self.refs):
            return None
        return self.refs[index]


class RecordsScreen(Screen[None]):
    BINDINGS = [
        Binding(
            "N,ctrl+n",
            "new_conversation",
            "New conv.",
            id="records.new_conversation",
            tooltip="Start a WhatsApp conversation with this record's contact",
        ),
        Binding("slash", "focus_search", "Search", id="records.search", tooltip="Search this list"),
        Binding(
            "escape,q", "app.goto('inbox')", "Inbox", id="records.back", tooltip="Back to the inbox"
        ),
    ]

    def compose(self) -> ComposeResult:
        yield TopBar(id="topbar")
        with TabbedContent(initial="tab-contacts"):
            for kind in KINDS:
                with TabPane(kind.capitalize(), id=f"tab-{kind}"):
                    yield RecordList(kind)
        yield KeyFooter()

    def on_mount(self) -> None:
        app: Any = self.app
        bar = self.query_one(TopBar)
        bar.title = "Records"
        bar.agent = app.me
        bar.usage = app.usage
        bar.connection = app.conn_state
        self.watch(app, "conn_state", lambda state: setattr(bar, "connection", state))
        self.watch(app, "usage", lambda usage: setattr(bar, "usage", usage))
        for record_list in self.query(RecordList):
            record_list.load("")
        self.query_one("#q-contacts", Input).focus()

    @property
    def current_list(self) -> RecordList:
        tabs = self.query_one(TabbedContent)
        kind = (tabs.active or "tab-contacts").removeprefix("tab-")
        return self.query_one(f"#records-{kind}", RecordList)

    def action_focus_search(self) -> None:
        self.current_list.query_one(Input).focus()

    @on(OptionList.OptionSelected)
    def _open(self, event: OptionList.OptionSelected) -> None:
        record_list = self.current_list
        if 0 <= event.option_index < len(record_list.refs):
            ref = record_list.refs[event.option_index]
            app: Any = self.app
            if ref.kind == "ticket" and ref.thread_id is not None:
                self._open_ticket_thread(ref.thread_id)
            else:
                app.push_screen(RecordScreen(ref))

    @work(exit_on_error=False)
    async def _open_ticket_thread(self, thread_id: int) -> None:
        app: Any = self.app
        try:
            thread = await app.client.thread(thread_id)
        except ApiError as exc:
            self.notify(exc.message, severity="error", markup=False)
            return
        app.open_thread_in_inbox(thread)

    def action_new_conversation(self) -> None:
        ref = self.current_list.highlighted
        app: Any = self.app
        app.run_worker(
            new_conversation_flow(app, ref),
            group="new-conversation",
            exclusive=True,
            exit_on_error=False,
        )


class RecordScreen(Screen[None]):
    """One record: its properties and associated records."""

    BINDINGS = [
        Binding(
            "N,ctrl+n",
            "new_conversation",
            "New conv.",
            id="record.new_conversation",
            tooltip="Start a WhatsApp conversation",
        ),
        Binding("escape,q", "back", "Back", id="record.back", tooltip="Back to the list"),
    ]

    def __init__(self, ref: RecordRef) -> None:
        super().__init__()
        self.ref = ref

    def compose(self) -> ComposeResult:
        yield TopBar(id="topbar")
        with VerticalScroll():
            yield Static(Text("loading…", style="dim"), id="record-body")
        yield KeyFooter()

    def on_mount(self) -> None:
        app: Any = self.app
        bar = self.query_one(TopBar)
        bar.title = f"{self.ref.kind}: {self.ref.label}"
        bar.agent = app.me
        bar.usage = app.usage
        bar.connection = app.conn_state
        self.load()

    @work(exclusive=True, exit_on_error=False)
    async def load(self) -> None:
        app: Any = self.app
        body = self.query_one("#record-body", Static)
        ref = self.ref
        try:
            if ref.kind == "contact":
                detail = await app.client.contact(ref.id)
                body.update(contact_text(detail, None))
                return
        except ApiError as exc:
            body.update(Text(exc.message))
            return
        record = ref.record
        out = Text()
        out.append_text(one_line(ref.label, "bold"))
        out.append(f"\n{ref.kind} #{ref.id}\n\n", "dim")
        for name in ("domain", "stage", "amount", "currency", "status", "priority"):
            value = getattr(record, name, None)
            if value is not None:
                out.append(f"{name:<12}", "dim")
                out.append_text(one_line(getattr(value, "value", value)))
                out.append("\n")
        for key, value in sorted((getattr(record, "properties", None) or {}).items()):
            out.append_text(one_line(f"{cut(key, 11):<12}", "dim"))
            out.append_text(inert(value))
            out.append("\n")
        out.append("\nContacts\n", "bold underline")
        for contact in ref.contacts:
            out.append("  • ")
            out.append_text(one_line(contact.name))
            if contact.phone:
                out.append("  ")
                out.append_text(one_line(contact.phone, "dim"))
            out.append("\n")
        if not ref.contacts:
            out.append("  none\n", "dim")
        body.update(out)

    def action_back(self) -> None:
        self.dismiss(None)

    def action_new_conversation(self) -> None:
        app: Any = self.app
        app.run_worker(
            new_conversation_flow(app, self.ref),
            group="new-conversation",
            exclusive=True,
            exit_on_error=False,
        )


class RecordSearchPicker(FuzzyPicker[RecordRef]):
    """``N`` from the inbox: find a contact, company, deal or ticket (server-side search)."""

    # a record is its line: a long one is cut, never wrapped to column 0 under the marker
    DEFAULT_CSS = "RecordSearchPicker OptionList { text-wrap: nowrap; text-overflow: ellipsis; }"

    def __init__(self) -> None:
        super().__init__(
            "New conversation with… (contact, company, deal or ticket)",
            [],
            placeholder="type a name, number, company, deal or ticket",
        )
        self._seq = 0

    def _filter(self, query: str) -> None:
        self._seq += 1
        self._search(query, self._seq)

    @work(exclusive=True, group="record-search", exit_on_error=False)
    async def _search(self, query: str, seq: int) -> None:
        await asyncio.sleep(0.15)
        client: Any = self.app.client  # type: ignore[attr-defined]
        results = await asyncio.gather(
            *(search_records(client, kind, query) for kind in KINDS), return_exceptions=True
        )
        if seq != self._seq:
            return
        refs: list[RecordRef] = []
        errors = []
        for result in results:
            if isinstance(result, ApiError):
                errors.append(result.message)
            elif isinstance(result, list):
                refs.extend(result[:15])
        self.items = [PickItem(ref, _label(ref), ref.label, detail=_detail(ref)) for ref in refs]
        if errors and not refs:
            self.items = [PickItem(RecordRef("none", 0, ""), Text(errors[0]), "", disabled=True)]
        super()._filter("")


async def _choose_contact(app: Any, ref: RecordRef) -> int | None:
    if ref.kind == "contact":
        return ref.id
    if ref.kind == "ticket":
        if ref.thread_id is None:
            app.notify(
                "This ticket has no conversation to take the contact from.",
                severity="warning",
                markup=False,
            )
            return None
        thread = await app.client.thread(ref.thread_id)
        return thread.contact.id
    if not ref.contacts:
        app.notify(f"This {ref.kind} has no associated contact.", severity="warning", markup=False)
        return None
    if len(ref.contacts) == 1:
        return ref.contacts[0].id
    items = [PickItem(c.id, one_line(c.name), c.name) for c in ref.contacts]
    return await app.push_screen_wait(FuzzyPicker(f"Which contact of {ref.label}?", items))


async def new_conversation_flow(app: Any, ref: RecordRef | None = None) -> None:
    """Record → contact → template (required when no session is open) → thread opened."""
    try:
        if ref is None:
            ref = await app.push_screen_wait(RecordSearchPicker())
            if ref is None:
                return
        contact_id = await _choose_contact(app, ref)
        if contact_id is None:
            return
        contact = await app.client.contact(contact_id)
        templates = await app.get_templates()
        chosen = await app.push_screen_wait(
            TemplatePicker(
                templates, contact, title=f"New conversation with {contact.name}: pick a template"
            )
        )
        if chosen is None:
            return
        started = await app.client.start_conversation(
            contact_id,
            StartConversation(
                template=TemplateSend(
                    name=chosen.name,
                    language=chosen.language,
                    variables=chosen.variables,
                    components=chosen.components,
                )
            ),
        )
    except ApiError as exc:
        app.notify(exc.message, title="Conversation not started", severity="error", markup=False)
        return
    app.notify(f"Conversation with {contact.name} started.", markup=False)
    app.open_thread_in_inbox(started.thread)

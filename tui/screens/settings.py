"""Settings (f4): notifications (saved on the server), my profile (the e-mail signature),
templates (list, sync, variable mapping), usage, and the channel connection wizard for
admins."""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import (
    ContentSwitcher,
    Input,
    Label,
    OptionList,
    RadioButton,
    RadioSet,
    Select,
    Static,
    Switch,
    TabbedContent,
    TabPane,
    TextArea,
)
from textual.widgets.option_list import Option

from backend.schemas import (
    Availability,
    AvailablePhoneNumber,
    BusinessDetails,
    BusinessProfile,
    Channel,
    ChannelCreate,
    EmailMailbox,
    MeUpdate,
    NotificationChoice,
    PhoneNumber,
    PhoneNumberAdd,
    RequestCode,
    Template,
    TemplateMappingUpdate,
    VerifyCode,
)
from tui.client import ApiError
from tui.dialogs.mailbox import MailboxDialog
from tui.dialogs.simple import ConfirmDialog, PromptDialog
from tui.dialogs.template_picker import described, template_variables
from tui.text import first_problem, inert, one_line
from tui.widgets.chrome import TopBar, usage_text
from tui.widgets.footer import KeyFooter

NOTIFY_WORDS = {
    NotificationChoice.off: "Off",
    NotificationChoice.mine: "My tickets and unassigned ones",
    NotificationChoice.all: "All new messages",
}
CATEGORIES = [
    "AUTOMOTIVE",
    "BEAUTY_SPA_AND_SALON",
    "CLOTHING_AND_APPAREL",
    "EDUCATION",
    "ENTERTAINMENT",
    "EVENT_PLANNING_AND_SERVICE",
    "FINANCE_AND_BANKING",
    "FOOD_AND_GROCERY",
    "PUBLIC_SERVICE",
    "HOTEL_AND_LODGING",
    "MEDICAL_AND_HEALTH",
    "NON_PROFIT",
    "PROFESSIONAL_SERVICES",
    "SHOPPING_AND_RETAIL",
    "TRAVEL_AND_TRANSPORTATION",
    "RESTAURANT",
    "OTHER",
]
SIGNATURE_HELP = (
    'Put under the "-- " line of every e-mail you send (never on WhatsApp). Plain text, '
    "at most 8 lines and 500 characters; {agent} and {mailbox} become your name and the "
    "mailbox's. Empty: your name and the mailbox's. ctrl+s saves."
)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_URL = re.compile(r"^https?://[^\s/$.?#].[^\s]*$", re.IGNORECASE)


def channel_text(channels: list[Channel]) -> Text:
    out = Text()
    if not channels:
        out.append("No WhatsApp channel connected yet.\n", "dim")
        return out
    for channel in channels:
        out.append_text(one_line(channel.display_name, "bold"))
        out.append(f"  WABA {channel.waba_id} · {channel.status.value}", "dim")
        if not channel.verified_business:
            out.append(
                " · business not verified: at most 50 business-initiated conversations per 24 h",
                "dim",
            )
        if channel.status_reason:
            out.append("\n  ")
            out.append_text(inert(channel.status_reason, "italic"))
        out.append("\n")
        for number in channel.phone_numbers:
            out.append("  • ")
            out.append_text(one_line(number.display_phone_number))
            out.append(f"  {number.status.value} · {number.destination.value}", "dim")
            if number.verified_name:
                out.append("  ")
                out.append_text(one_line(number.verified_name, "dim"))
            out.append("\n")
        out.append("\n")
    return out


def mailbox_text(mailboxes: list[EmailMailbox]) -> Text:
    out = Text("\n\n")
    out.append("E-mail\n", "bold")
    if not mailboxes:
        out.append("No mailbox yet.\n", "dim")
    out.append("E connects a mailbox (its logins are tried first).", "dim")
    if mailboxes:
        out.append("\nOn the mailbox picked below: e edits it, x removes it.", "dim")
    return out


def mailbox_line(mailbox: EmailMailbox) -> Text:
    out = Text()
    out.append_text(one_line(mailbox.address))
    if mailbox.display_name:
        out.append("  ")
        out.append_text(one_line(mailbox.display_name, "dim"))
    ways = [
        f"IMAP {mailbox.imap_host}" if mailbox.imap_host else "",
        f"relay {mailbox.smtp_host}" if mailbox.smtp_host else "",
    ]
    out.append("  ")
    out.append_text(one_line(" · ".join(w for w in ways if w) or "from settings", "dim"))
    return out


# each tab's own keys, in the order the footer shows them first (the others follow)
TAB_KEYS = {
    "tab-profile": ("save_signature",),
    "tab-templates": ("sync_templates", "map_template"),
    "tab-channels": ("edit_mailbox", "remove_mailbox", "connect_channel", "connect_mailbox"),
}


class SettingsScreen(Screen[None]):
    BINDINGS = [
        Binding(
            "S",
            "sync_templates",
            "Sync templates",
            id="settings.sync",
            tooltip="Fetch the templates from WhatsApp again",
        ),
        Binding(
            "M",
            "map_template",
            "Map variables",
            id="settings.map",
            tooltip="Fill a template's variables from contact properties",
        ),
        Binding(
            "C",
            "connect_channel",
            "Connect channel",
            id="settings.connect",
            tooltip="Connect a WhatsApp Business account (admins)",
        ),
        Binding(
            "E",
            "connect_mailbox",
            "Connect mailbox",
            id="settings.connect_mailbox",
            tooltip="Connect an e-mail mailbox: IMAP and relay logins tested first (admins)",
        ),
        Binding(
            "P",
            "edit_signature",
            "Signature",
            id="settings.signature",
            tooltip="Write my e-mail signature (Profile)",
        ),
        Binding(
            "ctrl+s",
            "save_signature",
            "Save signature",
            id="settings.save_signature",
            tooltip="Save my e-mail signature (empty: my name and the mailbox's)",
        ),
        Binding(
            "e",
            "edit_mailbox",
            "Edit mailbox",
            id="settings.edit_mailbox",
            tooltip="Change the picked mailbox: address, name, IMAP, folder, relay (admins)",
        ),
        Binding(
            "x",
            "remove_mailbox",
            "Remove mailbox",
            id="settings.remove_mailbox",
            tooltip="Disconnect the picked mailbox; its threads are kept (admins)",
        ),
        Binding(
            "escape,q",
            "app.goto('inbox')",
            "Inbox",
            id="settings.back",
            tooltip="Back to the inbox",
        ),
    ]

    DEFAULT_CSS = """
    SettingsScreen {
        & RadioSet { margin-bottom: 1; }
        & .setting-label { text-style: bold; margin-top: 1; }
        & #templates-list { height: 1fr; border: none; }
        & #mailboxes-list { height: auto; max-height: 8; }
        & Horizontal.switch-row { height: auto; }
        & Horizontal.switch-row Label { padding: 1 1; }
        & #signature-text { height: auto; min-height: 4; max-height: 10; }
        & #signature-status { height: auto; color: $text-muted; }
        & #signature-status.-error { color: $text-error; text-style: bold; }
    }
    """

    def __init__(self) -> None:
        super().__init__()
        self.templates: list[Template] = []
        self.channels: list[Channel] = []
        self.mailboxes: list[EmailMailbox] = []
        self._loading = False

    def compose(self) -> ComposeResult:
        app: Any = self.app
        me = app.me
        yield TopBar(id="topbar")
        with TabbedContent(initial="tab-notifications"):
            with TabPane("Notifications", id="tab-notifications"):
                with VerticalScroll():
                    yield Label("Notify me of new messages", classes="setting-label")
                    with RadioSet(id="notify-choice"):
                        for choice, words in NOTIFY_WORDS.items():
                            yield RadioButton(
                                words,
                                value=me is not None and me.notify == choice,
                                name=choice.value,
                            )
                    with Horizontal(classes="switch-row"):
                        yield Switch(value=bool(me and me.bell), id="notify-bell")
                        yield Label("Ring the terminal bell too")
                    yield Label(
                        "My availability (routing only assigns available agents)",
                        classes="setting-label",
                    )
                    with RadioSet(id="availability"):
                        for availability in Availability:
                            yield RadioButton(
                                availability.value.capitalize(),
                                value=me is not None and me.availability == availability,
                                name=availability.value,
                            )
            with TabPane("Profile", id="tab-profile"):
                with VerticalScroll():
                    yield Label("My e-mail signature", classes="setting-label")
                    yield Static(SIGNATURE_HELP, markup=False)
                    yield TextArea(
                        (me.signature if me is not None else None) or "",
                        id="signature-text",
                        soft_wrap=True,
                        tab_behavior="focus",
                        show_line_numbers=False,
                    )
                    yield Static("", id="signature-status", markup=False)
            with TabPane("Templates", id="tab-templates"):
                yield Static(
                    "S sync from WhatsApp · M map variables to contact properties", markup=False
                )
                yield OptionList(id="templates-list")
            with TabPane("Usage", id="tab-usage"):
                yield Static("", id="usage-text", markup=False)
            with TabPane("Channels", id="tab-channels"):
                with VerticalScroll():
                    yield Static("", id="channels-text", markup=False)
                    yield OptionList(id="mailboxes-list")
        yield KeyFooter()

    def on_mount(self) -> None:
        app: Any = self.app
        bar = self.query_one(TopBar)
        bar.title = "Settings"
        bar.agent = app.me
        bar.usage = app.usage
        bar.connection = app.conn_state
        self.watch(app, "conn_state", lambda state: setattr(bar, "connection", state))
        self.watch(app, "usage", self._usage_changed)
        self._loading = True
        self.call_after_refresh(self._done_loading)
        self.load_templates()
        self.load_channels()

    def _done_loading(self) -> None:
        self._loading = False

    def _usage_changed(self, usage: Any) -> None:
        self.query_one(TopBar).usage = usage
        out = Text()
        if usage is None:
            out.append("Usage unknown.", "dim")
        else:
            out.append_text(usage_text(usage))
            out.append(f"\n\nConversations this period: {usage.used} of {usage.limit}\n")
            out.append(
                f"Period started {usage.period_start:%d %b %Y}, resets on {usage.resets_on:%d %b %Y}\n"
            )
            out.append(f"Business-initiated in the last 24 h: {usage.business_initiated_24h}")
            if not usage.verified_business:
                out.append(" (of at most 50: the business is not verified)")
            out.append(
                "\n\nFrom 1 Nov 2024 each message you start outside an open session counts as one "
                "conversation; replies inside a session the contact opened do not.",
                "dim",
            )
        self.query_one("#usage-text", Static).update(out)

    @property
    def FOOTER_FIRST(self) -> tuple[str, ...]:  # noqa: N802 (KeyFooter reads a screen's)
        """The keys of the tab shown lead the footer, which 80 columns cut short."""
        return TAB_KEYS.get(self.query_one(TabbedContent).active, ())

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        app: Any = self.app
        if action in ("connect_channel", "connect_mailbox"):
            return app.is_admin
        if action == "save_signature":
            return self.query_one(TabbedContent).active == "tab-profile"
        if action in ("edit_mailbox", "remove_mailbox"):
            # on the mailbox picked in the Channels tab: only there, where it is seen
            on_channels = self.query_one(TabbedContent).active == "tab-channels"
            return app.is_admin and bool(self.mailboxes) and on_channels
        return True

    @on(TabbedContent.TabActivated)
    def _tab_changed(self) -> None:
        self.refresh_bindings()

    # ----------------------------------------------------------------- notifications

    @on(RadioSet.Changed, "#notify-choice")
    def _notify_changed(self, event: RadioSet.Changed) -> None:
        if not self._loading and event.pressed.name:
            self._save_me(MeUpdate(notify=NotificationChoice(event.pressed.name)))

    @on(RadioSet.Changed, "#availability")
    def _availability_changed(self, event: RadioSet.Changed) -> None:
        if not self._loading and event.pressed.name:
            self._save_me(MeUpdate(availability=Availability(event.pressed.name)))

    @on(Switch.Changed, "#notify-bell")
    def _bell_changed(self, event: Switch.Changed) -> None:
        if not self._loading:
            self._save_me(MeUpdate(bell=event.value))

    @work(group="me", exit_on_error=False)
    async def _save_me(self, update: MeUpdate) -> None:
        app: Any = self.app
        try:
            app.me = await app.client.update_me(update)
        except ApiError as exc:
            self.notify(exc.message, title="Not saved", severity="error", markup=False)
            return
        self.notify("Saved.", markup=False)

    # ----------------------------------------------------------------- profile

    def action_edit_signature(self) -> None:
        self.query_one(TabbedContent).active = "tab-profile"
        self.query_one("#signature-text", TextArea).focus()

    def _signature_status(self, message: str, *, error: bool = False) -> None:
        status = self.query_one("#signature-status", Static)
        status.update(Text(message))
        status.set_class(error, "-error")

    @work(group="me", exit_on_error=False)
    async def action_save_signature(self) -> None:
        app: Any = self.app
        area = self.query_one("#signature-text", TextArea)
        try:
            update = MeUpdate(signature=area.text)
        except ValidationError as exc:
            self._signature_status(f"Not saved: {first_problem(exc)}", error=True)
            return
        try:
            app.me = await app.client.update_me(update)
        except ApiError as exc:
            # what was typed stays in the box, to be put right
            self._signature_status(f"Not saved: {exc.message}", error=True)
            return
        saved = app.me.signature or ""
        if area.text != saved:
            area.load_text(saved)  # as stored: line ends and trailing blanks tidied
        self._signature_status(
            "Saved: your e-mails are signed with it."
            if saved
            else "Saved: no signature; your e-mails are signed with your name and the mailbox's."
        )

    # ----------------------------------------------------------------- templates

    @work(group="templates", exclusive=True, exit_on_error=False)
    async def load_templates(self) -> None:
        app: Any = self.app
        options = self.query_one("#templates-list", OptionList)
        try:
            self.templates = await app.get_templates()
        except ApiError as exc:
            options.clear_options()
            options.add_option(Option(Text(exc.message), disabled=True))
            return
        self._show_templates()

    def _show_templates(self) -> None:
        options = self.query_one("#templates-list", OptionList)
        options.clear_options()
        for template in self.templates:
            ok = template.sendable or template.status.upper() == "APPROVED"
            line = Text()
            line.append_text(one_line(template.name, "bold" if ok else "dim"))
            line.append(
                f"  {template.language} · {template.category or '?'} · {template.status}", "dim"
            )
            variables = template_variables(template)
            if variables:
                mapped = ", ".join(
                    f"{described(v)}→{template.variable_mapping.get(v, '?')}" for v in variables
                )
                line.append("  ")
                line.append_text(one_line(mapped, "dim"))
            options.add_option(Option(line))
        if not self.templates:
            options.add_option(
                Option(Text("No templates yet: press S to sync.", style="dim"), disabled=True)
            )

    @work(group="templates", exclusive=True, exit_on_error=False)
    async def action_sync_templates(self) -> None:
        app: Any = self.app
        self.notify("Syncing templates…", markup=False)
        try:
            result = await app.client.sync_templates()
        except ApiError as exc:
            self.notify(exc.message, title="Sync failed", severity="error", markup=False)
            return
        app.forget_templates()
        self.templates = result.templates
        self._show_templates()
        self.notify(f"{result.synced} templates synced.", markup=False)

    @work(group="templates", exclusive=True, exit_on_error=False)
    async def action_map_template(self) -> None:
        options = self.query_one("#templates-list", OptionList)
        index = options.highlighted
        if index is None or index >= len(self.templates):
            return
        template = self.templates[index]
        mapping = dict(template.variable_mapping)
        for name in template_variables(template):
            value = await self.app.push_screen_wait(
                PromptDialog(
                    f"{template.name}: contact property for {described(name)} (e.g. first_name; empty = typed by the agent)",
                    value=mapping.get(name, ""),
                )
            )
            if value is None:
                return
            if value.strip():
                mapping[name] = value.strip()
            else:
                mapping.pop(name, None)
        app: Any = self.app
        try:
            updated = await app.client.update_template_mapping(
                template.id, TemplateMappingUpdate(variable_mapping=mapping)
            )
        except ApiError as exc:
            self.notify(exc.message, title="Not saved", severity="error", markup=False)
            return
        self.templates[index] = updated
        app.forget_templates()
        self._show_templates()

    # ----------------------------------------------------------------- channels

    @work(group="channels", exclusive=True, exit_on_error=False)
    async def load_channels(self) -> None:
        app: Any = self.app
        text = self.query_one("#channels-text", Static)
        try:
            self.channels = await app.client.channels()
        except ApiError as exc:
            text.update(Text(exc.message))
            self._drop_mailboxes()
            return
        out = channel_text(self.channels)
        if app.is_admin:
            out.append("C connects a WhatsApp Business account (step by step).", "dim")
            try:
                self.mailboxes = await app.client.mailboxes()
            except ApiError as exc:
                out.append(f"\n\n{exc.message}")
                self._drop_mailboxes()
            else:
                out.append_text(mailbox_text(self.mailboxes))
        text.update(out)
        self._show_mailboxes()

    def _drop_mailboxes(self) -> None:
        """A reload failed: the old rows go too, so e and x never act on one it could not
        confirm (removed or changed meanwhile)."""
        self.mailboxes = []
        self._show_mailboxes()

    def _show_mailboxes(self) -> None:
        options = self.query_one("#mailboxes-list", OptionList)
        options.clear_options()
        options.add_options(Option(mailbox_line(mailbox)) for mailbox in self.mailboxes)
        options.display = bool(self.mailboxes)
        if self.mailboxes:
            options.highlighted = 0
        self.refresh_bindings()

    def _picked_mailbox(self) -> EmailMailbox | None:
        index = self.query_one("#mailboxes-list", OptionList).highlighted
        if index is None or index >= len(self.mailboxes):
            return None
        return self.mailboxes[index]

    def action_edit_mailbox(self) -> None:
        mailbox = self._picked_mailbox()
        if mailbox is None:
            return

        def done(edited: EmailMailbox | None) -> None:
            if edited is not None:
                self.notify(f"{edited.address} saved: in use now.", markup=False)
            self.load_channels()

        self.app.push_screen(MailboxDialog(mailbox), done)

    @work(group="mailbox-remove", exclusive=True, exit_on_error=False)
    async def action_remove_mailbox(self) -> None:
        mailbox = self._picked_mailbox()
        if mailbox is None:
            return
        sure = await self.app.push_screen_wait(
            ConfirmDialog(
                f"Remove {mailbox.address}? Its mail is no longer fetched, mail forwarded to "
                "it is refused and nothing is sent from it (a reply still queued fails). Its "
                "threads and messages stay; connecting the address again brings them back.",
                yes="Remove",
                no="Keep",
            )
        )
        if not sure:
            return
        app: Any = self.app
        try:
            await app.client.remove_mailbox(mailbox.id)
        except ApiError as exc:
            self.notify(exc.message, title="Not removed", severity="error", markup=False)
            return
        self.notify(f"{mailbox.address} removed; its threads are kept.", markup=False)
        self.load_channels()

    def action_connect_channel(self) -> None:
        def done(_: object) -> None:
            self.load_channels()

        self.app.push_screen(ChannelWizard(), done)

    def action_connect_mailbox(self) -> None:
        def done(_: object) -> None:
            self.load_channels()

        self.app.push_screen(MailboxDialog(), done)


class ChannelWizard(Screen[Channel | None]):
    """Business details → account → profile → phone number → connected; every refusal shown."""

    BINDINGS = [
        Binding(
            "ctrl+s",
            "next",
            "Next step",
            id="wizard.next",
            tooltip="Check this step and go on",
            priority=True,
        ),
        Binding("escape", "cancel", "Cancel", id="wizard.cancel", tooltip="Leave the wizard"),
    ]

    DEFAULT_CSS = """
    ChannelWizard {
        & #wizard-step { text-style: bold; padding: 0 1; }
        & #wizard-error { color: $text-error; text-style: bold; height: auto; padding: 0 1; }
        & #wizard-guidance { color: $text-muted; height: auto; padding: 0 1; }
        & ContentSwitcher { height: 1fr; }
        & VerticalScroll { padding: 0 1; }
        & Label { margin-top: 1; }
        & OptionList { height: auto; max-height: 10; }
    }
    """

    STEPS = ["business", "account", "profile", "number", "code", "done"]
    TITLES = {
        "business": "1/5 Business details",
        "account": "2/5 WhatsApp Business account",
        "profile": "3/5 Business profile",
        "number": "4/5 Phone number",
        "code": "4/5 Verify the new number",
        "done": "5/5 Connected",
    }

    def __init__(self) -> None:
        super().__init__()
        self.step = "business"
        self.channel: Channel | None = None
        self.number: PhoneNumber | None = None
        self.available: list[AvailablePhoneNumber] = []

    def compose(self) -> ComposeResult:
        yield Static("", id="wizard-step", markup=False)
        yield Static("", id="wizard-error", markup=False)
        with ContentSwitcher(initial="step-business"):
            with VerticalScroll(id="step-business"):
                yield Label("Legal business name")
                yield Input(id="legal_name")
                yield Label("WhatsApp display name")
                yield Input(id="display_name")
                with Horizontal(classes="switch-row"):
                    yield Switch(id="display_name_differs")
                    yield Label("The display name differs from the legal name")
                yield Label("Website URL")
                yield Input(placeholder="https://example.com", id="website")
                yield Label("Business e-mail")
                yield Input(id="email")
                yield Label("Country (2 letters)")
                yield Input(max_length=2, id="country")
                yield Label("Time zone")
                yield Input(placeholder="Europe/Madrid", id="time_zone")
            with VerticalScroll(id="step-account"):
                yield Label("Graph API access token")
                yield Input(password=True, id="access_token")
                yield Label("WhatsApp Business account (WABA) id")
                yield Input(id="waba_id")
            with VerticalScroll(id="step-profile"):
                yield Label("Display name")
                yield Input(id="profile_display_name")
                yield Label("Category")
                yield Select(
                    [(c.replace("_", " ").title(), c) for c in CATEGORIES],
                    id="category",
                    allow_blank=False,
                    value="OTHER",
                )
                yield Label("Description")
                yield Input(max_length=512, id="description")
            with VerticalScroll(id="step-number"):
                yield Label(
                    "Pick a verified number of this account (enter), or register a new one below"
                )
                yield OptionList(id="available")
                yield Label("New number: country code and number")
                with Horizontal(classes="switch-row"):
                    yield Input(placeholder="34", max_length=4, id="cc")
                    yield Input(placeholder="600123456", id="phone_number")
                yield Label("Verified name shown to customers")
                yield Input(id="verified_name")
                yield Label("Send the code by")
                with RadioSet(id="code_method"):
                    yield RadioButton("SMS", value=True, name="SMS")
                    yield RadioButton("Voice call", name="VOICE")
            with VerticalScroll(id="step-code"):
                yield Label("Code you received")
                yield Input(id="code")
                yield Label("Two-step verification PIN (6 digits)")
                yield Input(password=True, max_length=6, id="pin")
            with VerticalScroll(id="step-done"):
                yield Static("", id="done-text", markup=False)
        yield Static("", id="wizard-guidance", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        self._go("business")

    def _go(self, step: str) -> None:
        self.step = step
        self.query_one(ContentSwitcher).current = f"step-{step}"
        self.query_one("#wizard-step", Static).update(
            Text(self.TITLES[step] + "   (ctrl+s next · esc cancel)")
        )
        self._error("")
        guidance = {
            "business": "All fields are required. Only messages received after the connection are synced.",
            "account": "A personal WhatsApp account cannot be connected; convert it to a business account first.",
            "profile": "The profile customers see in WhatsApp.",
            "number": (
                "At most 25 numbers per account. The number must be able to receive calls or SMS and must not be an IVR. "
                "A number connected elsewhere (another app, or the conversations inbox) must be disconnected there first."
            ),
            "code": "The PIN allows at most 10 attempts in 72 hours.",
            "done": "",
        }[step]
        self.query_one("#wizard-guidance", Static).update(Text(guidance))
        first = {
            "business": "#legal_name",
            "account": "#access_token",
            "profile": "#profile_display_name",
            "number": "#available",
            "code": "#code",
            "done": None,
        }[step]
        if first:
            self.query_one(first).focus()

    def _error(self, message: str) -> None:
        self.query_one("#wizard-error", Static).update(Text(message))

    def _value(self, widget_id: str) -> str:
        return self.query_one(f"#{widget_id}", Input).value.strip()

    def _business(self) -> BusinessDetails | None:
        website, email = self._value("website"), self._value("email")
        if not _URL.match(website):
            self._error("The website must be a full URL starting with http:// or https://.")
            return None
        if not _EMAIL.match(email):
            self._error("The business e-mail does not look like an e-mail address.")
            return None
        try:
            return BusinessDetails(
                legal_name=self._value("legal_name"),
                display_name=self._value("display_name"),
                display_name_differs=self.query_one("#display_name_differs", Switch).value,
                website=website,
                email=email,
                country=self._value("country").upper(),
                time_zone=self._value("time_zone"),
            )
        except ValidationError as exc:
            self._error(first_problem(exc))
            return None

    def action_next(self) -> None:
        if self.step == "business":
            if self._business() is not None:
                if not self._value("profile_display_name"):
                    self.query_one("#profile_display_name", Input).value = self._value(
                        "display_name"
                    )
                self._go("account")
        elif self.step == "account":
            if not self._value("access_token") or not self._value("waba_id"):
                self._error("Both the access token and the WABA id are needed.")
                return
            self._go("profile")
        elif self.step == "profile":
            self._create_channel()
        elif self.step == "number":
            self._add_number()
        elif self.step == "code":
            self._verify()
        else:
            self.dismiss(self.channel)

    @work(group="wizard", exclusive=True, exit_on_error=False)
    async def _create_channel(self) -> None:
        business = self._business()
        if business is None:
            self._go("business")
            return
        try:
            body = ChannelCreate(
                business=business,
                access_token=self._value("access_token"),
                waba_id=self._value("waba_id"),
                profile=BusinessProfile(
                    display_name=self._value("profile_display_name"),
                    category=str(self.query_one("#category", Select).value),
                    description=self._value("description"),
                ),
            )
        except ValidationError as exc:
            self._error(first_problem(exc))
            return
        app: Any = self.app
        self._error("Checking the account with WhatsApp…")
        try:
            self.channel = await app.client.create_channel(body)
            self.available = await app.client.available_numbers(self.channel.id)
        except ApiError as exc:
            self._refused(exc)
            return
        self._go("number")
        options = self.query_one("#available", OptionList)
        options.clear_options()
        for number in self.available:
            line = one_line(number.display_phone_number, "bold")
            if number.verified_name:
                line.append("  ")
                line.append_text(one_line(number.verified_name, "dim"))
            line.append(f"  {number.code_verification_status or ''}", "dim")
            options.add_option(Option(line))
        if not self.available:
            options.add_option(
                Option(
                    Text("No verified numbers yet: register one below.", style="dim"), disabled=True
                )
            )
            self.query_one("#cc", Input).focus()

    def _refused(self, exc: ApiError) -> None:
        where = f" ({exc.field})" if exc.field else ""
        self._error(f"{exc.message}{where}")
        field_steps = {
            "business": "business",
            "legal_name": "business",
            "website": "business",
            "email": "business",
            "access_token": "account",
            "waba_id": "account",
            "profile": "profile",
            "category": "profile",
        }
        if exc.field:
            step = field_steps.get(exc.field.split(".")[-1]) or field_steps.get(
                exc.field.split(".")[0]
            )
            if step and step != self.step:
                self._go(step)
                self._error(f"{exc.message}{where}")

    @on(OptionList.OptionSelected, "#available")
    def _picked(self) -> None:
        self._add_number()

    @work(group="wizard", exclusive=True, exit_on_error=False)
    async def _add_number(self) -> None:
        assert self.channel is not None
        app: Any = self.app
        options = self.query_one("#available", OptionList)
        use_existing = (
            options.has_focus
            and options.highlighted is not None
            and options.highlighted < len(self.available)
        )
        if use_existing:
            body = PhoneNumberAdd(
                phone_number_id=self.available[options.highlighted or 0].phone_number_id
            )
        else:
            cc, number, name = (
                self._value("cc"),
                self._value("phone_number"),
                self._value("verified_name"),
            )
            if not (cc and number and name):
                self._error(
                    "Pick a number above, or give the country code, the number and the verified name."
                )
                return
            body = PhoneNumberAdd(cc=cc, phone_number=number, verified_name=name)
        try:
            self.number = await app.client.add_number(self.channel.id, body)
            if use_existing and self.number.status.value == "connected":
                await self._finish()
                return
            method = self.query_one("#code_method", RadioSet).pressed_button
            code_method = (method.name if method else None) or "SMS"
            await app.client.request_code(
                self.channel.id, self.number.id, RequestCode(code_method=code_method)
            )  # type: ignore[arg-type]
        except ApiError as exc:
            self._refused(exc)
            return
        self._go("code")

    @work(group="wizard", exclusive=True, exit_on_error=False)
    async def _verify(self) -> None:
        assert self.channel is not None and self.number is not None
        app: Any = self.app
        try:
            body = VerifyCode(code=self._value("code"), pin=self._value("pin"))
        except ValidationError as exc:
            self._error(first_problem(exc))
            return
        try:
            self.number = await app.client.verify_code(self.channel.id, self.number.id, body)
        except ApiError as exc:
            self._refused(exc)
            return
        await self._finish()

    async def _finish(self) -> None:
        app: Any = self.app
        try:
            channels = await app.client.channels()
        except ApiError:
            channels = [self.channel] if self.channel else []
        self._go("done")
        self.query_one("#done-text", Static).update(
            Text.assemble(
                channel_text(
                    [c for c in channels if self.channel and c.id == self.channel.id] or channels
                ),
                ("\nctrl+s to close.", "dim"),
            )
        )

    def action_cancel(self) -> None:
        if self.step in ("business", "done"):
            self.dismiss(self.channel)
            return

        def answered(leave: bool | None) -> None:
            if leave:
                self.dismiss(self.channel)

        self.app.push_screen(
            ConfirmDialog(
                "Leave the wizard? Steps already accepted by the server stay as they are."
            ),
            answered,
        )

"""Connect or edit a support mailbox (admins, Settings → Channels): the backend tries the
IMAP and relay logins (on an edit, the ones that changed) before it saves anything; a
refusal is shown in one line and every field is kept for the next try. On an edit the
password fields start empty: left empty, the saved password is kept."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static, Switch

from backend.schemas import EmailMailbox, MailboxCreate, MailboxUpdate
from tui.client import ApiError
from tui.dialogs.simple import DIALOG_CSS
from tui.text import first_problem
from tui.widgets.footer import KeyFooter

TEXT_FIELDS = ("address", "display_name", "imap_host", "imap_user", "imap_folder")
SECRET_FIELDS = ("imap_password", "smtp_password")
IMAP_FIELDS = ("imap_port", "imap_tls", "imap_user", "imap_folder", "imap_poll_seconds")
RELAY_FIELDS = ("smtp_port", "smtp_starttls", "smtp_user")


class MailboxDialog(ModalScreen[EmailMailbox | None]):
    BINDINGS = [
        Binding(
            "ctrl+s",
            "connect",
            "Test and save",
            id="mailbox.connect",
            tooltip="Try the IMAP and relay logins, then save the mailbox",
            priority=True,
        ),
        Binding("escape", "cancel", "Cancel", id="mailbox.cancel", tooltip="Leave, nothing saved"),
    ]
    DEFAULT_CSS = (
        "MailboxDialog {"
        + DIALOG_CSS.replace("& > Vertical", "& > VerticalScroll")
        + """
        & Label { margin-top: 1; }
        & Horizontal.switch-row { height: auto; }
        & Horizontal.switch-row Label { padding: 1 1; margin-top: 0; }
    }"""
    )

    def __init__(self, mailbox: EmailMailbox | None = None) -> None:
        super().__init__()
        self.mailbox = mailbox  # None: connect a new one; else edit this one

    def compose(self) -> ComposeResult:
        mailbox = self.mailbox
        kept = "unchanged if left empty" if mailbox is not None else ""
        title = (
            "Connect a mailbox   (ctrl+s test and save · esc cancel)"
            if mailbox is None
            else "Edit a mailbox   (ctrl+s test and save · esc cancel)"
        )
        with VerticalScroll():
            yield Static(Text(title), classes="dialog-title")
            yield Static("", id="mailbox-error", classes="dialog-error", markup=False)
            yield Label("Support address")
            yield Input(_text(mailbox, "address"), placeholder="help@example.com", id="address")
            yield Label("Name replies carry")
            yield Input(_text(mailbox, "display_name"), id="display_name")
            yield Label("IMAP server, port (leave empty if mail is forwarded instead)")
            with Horizontal(classes="switch-row"):
                yield Input(_text(mailbox, "imap_host"), placeholder="imap.example.com",
                            id="imap_host")  # fmt: skip
                yield Input(_text(mailbox, "imap_port", "993"), max_length=5, id="imap_port")
            yield Label("IMAP user (empty: the address) and password")
            yield Input(_text(mailbox, "imap_user"), id="imap_user")
            yield Input(password=True, placeholder=kept, id="imap_password")
            yield Label("IMAP folder, and how often a server without IDLE is asked (s)")
            with Horizontal(classes="switch-row"):
                yield Input(_text(mailbox, "imap_folder", "INBOX"), id="imap_folder")
                yield Input(_text(mailbox, "imap_poll_seconds", "60"), max_length=4,
                            id="imap_poll_seconds")  # fmt: skip
            with Horizontal(classes="switch-row"):
                yield Switch(value=_flag(mailbox, "imap_tls"), id="imap_tls")
                yield Label("IMAP over TLS")
            yield Label("Relay (SMTP) server, port")
            with Horizontal(classes="switch-row"):
                yield Input(_text(mailbox, "smtp_host"), placeholder="smtp.example.com",
                            id="smtp_host")  # fmt: skip
                yield Input(_text(mailbox, "smtp_port", "587"), max_length=5, id="smtp_port")
            yield Label("Relay user and password (empty: no login)")
            yield Input(_text(mailbox, "smtp_user"), id="smtp_user")
            yield Input(password=True, placeholder=kept, id="smtp_password")
            with Horizontal(classes="switch-row"):
                yield Switch(value=_flag(mailbox, "smtp_starttls"), id="smtp_starttls")
                yield Label("STARTTLS (turn off only for a relay on this machine)")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#address", Input).focus()

    def _value(self, widget_id: str) -> str:
        return self.query_one(f"#{widget_id}", Input).value.strip()

    def _error(self, message: str) -> None:
        self.query_one("#mailbox-error", Static).update(Text(message))

    def _values(self) -> dict[str, Any] | None:
        """The form's values, or None with the problem shown."""
        values: dict[str, Any] = {name: self._value(name) or None for name in TEXT_FIELDS}
        for name in SECRET_FIELDS:
            values[name] = self.query_one(f"#{name}", Input).value or None
        for name in ("imap_port", "smtp_port", "imap_poll_seconds"):
            number = self._value(name)
            if not number.isdigit():
                self._error(f"The {name.replace('_', ' ')} must be a number.")
                return None
            values[name] = int(number)
        values["imap_tls"] = self.query_one("#imap_tls", Switch).value
        values["smtp_starttls"] = self.query_one("#smtp_starttls", Switch).value
        values["smtp_host"] = self._value("smtp_host") or None
        values["smtp_user"] = self._value("smtp_user") or None
        values["imap_folder"] = values["imap_folder"] or "INBOX"
        return values

    def body(self) -> MailboxCreate | None:
        """The form as the API's body, or None with the problem shown."""
        values = self._values()
        return None if values is None else self._valid(MailboxCreate, values)

    def update(self) -> MailboxUpdate | None:
        """What the edit changes (only the fields that differ from the mailbox's; a
        password only when typed), or None with the problem shown."""
        values, mailbox = self._values(), self.mailbox
        if values is None or mailbox is None:
            return None
        was = mailbox.model_dump()
        changed: dict[str, Any] = {
            name: values[name]
            for name in ("address", "display_name", "imap_host", "smtp_host")
            if values[name] != was[name]
        }
        for host, fields in (("imap_host", IMAP_FIELDS), ("smtp_host", RELAY_FIELDS)):
            if values[host] is not None:  # a side kept or added: its settings as shown
                for name in fields:
                    if values[name] != was[name] or was[host] is None:
                        changed[name] = values[name]
        changed.update({name: values[name] for name in SECRET_FIELDS if values[name]})
        return self._valid(MailboxUpdate, changed)

    def _valid(self, model: Any, values: dict[str, Any]) -> Any:
        try:
            return model(**values)
        except ValidationError as exc:
            self._error(first_problem(exc))
            return None

    def action_connect(self) -> None:
        if self.mailbox is not None:
            update = self.update()
            if update is not None:
                self._edit(self.mailbox.id, update)
            return
        body = self.body()
        if body is not None:
            self._connect(body)

    @work(group="mailbox", exclusive=True, exit_on_error=False)
    async def _edit(self, mailbox_id: int, update: MailboxUpdate) -> None:
        app: Any = self.app
        if not update.model_fields_set:
            self.dismiss(None)
            return
        self._error("Trying the changed logins…")
        try:
            mailbox = await app.client.edit_mailbox(mailbox_id, update)
        except ApiError as exc:
            self._error(exc.message)
            return
        self.dismiss(mailbox)

    @work(group="mailbox", exclusive=True, exit_on_error=False)
    async def _connect(self, body: MailboxCreate) -> None:
        app: Any = self.app
        self._error("Trying the logins…")
        try:
            mailbox = await app.client.connect_mailbox(body)
        except ApiError as exc:
            self._error(exc.message)
            return
        self.dismiss(mailbox)

    def action_cancel(self) -> None:
        self.dismiss(None)


def _text(mailbox: EmailMailbox | None, name: str, default: str = "") -> str:
    value = getattr(mailbox, name, None) if mailbox is not None else None
    return default if value is None else str(value)


def _flag(mailbox: EmailMailbox | None, name: str) -> bool:
    value = getattr(mailbox, name, None) if mailbox is not None else None
    return True if value is None else bool(value)

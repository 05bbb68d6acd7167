"""Connect a support mailbox (admins, Settings → Channels): the backend tries the IMAP and
relay logins before it saves anything; a refusal is shown in one line and every field is
kept for the next try."""

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

from backend.schemas import EmailMailbox, MailboxCreate
from tui.client import ApiError
from tui.dialogs.simple import DIALOG_CSS
from tui.widgets.footer import KeyFooter

TEXT_FIELDS = ("address", "display_name", "imap_host", "imap_user", "imap_folder")
SECRET_FIELDS = ("imap_password", "smtp_password")


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

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(
                Text("Connect a mailbox   (ctrl+s test and save · esc cancel)"),
                classes="dialog-title",
            )
            yield Static("", id="mailbox-error", classes="dialog-error", markup=False)
            yield Label("Support address")
            yield Input(placeholder="help@example.com", id="address")
            yield Label("Name replies carry")
            yield Input(id="display_name")
            yield Label("IMAP server, port (leave empty if mail is forwarded instead)")
            with Horizontal(classes="switch-row"):
                yield Input(placeholder="imap.example.com", id="imap_host")
                yield Input(value="993", max_length=5, id="imap_port")
            yield Label("IMAP user (empty: the address) and password")
            yield Input(id="imap_user")
            yield Input(password=True, id="imap_password")
            yield Label("IMAP folder")
            yield Input(value="INBOX", id="imap_folder")
            with Horizontal(classes="switch-row"):
                yield Switch(value=True, id="imap_tls")
                yield Label("IMAP over TLS")
            yield Label("Relay (SMTP) server, port")
            with Horizontal(classes="switch-row"):
                yield Input(placeholder="smtp.example.com", id="smtp_host")
                yield Input(value="587", max_length=5, id="smtp_port")
            yield Label("Relay user and password (empty: no login)")
            yield Input(id="smtp_user")
            yield Input(password=True, id="smtp_password")
            with Horizontal(classes="switch-row"):
                yield Switch(value=True, id="smtp_starttls")
                yield Label("STARTTLS (turn off only for a relay on this machine)")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#address", Input).focus()

    def _value(self, widget_id: str) -> str:
        return self.query_one(f"#{widget_id}", Input).value.strip()

    def _error(self, message: str) -> None:
        self.query_one("#mailbox-error", Static).update(Text(message))

    def body(self) -> MailboxCreate | None:
        """The form as the API's body, or None with the problem shown."""
        values: dict[str, Any] = {name: self._value(name) or None for name in TEXT_FIELDS}
        for name in SECRET_FIELDS:
            values[name] = self.query_one(f"#{name}", Input).value or None
        for name in ("imap_port", "smtp_port"):
            port = self._value(name)
            if not port.isdigit():
                self._error(f"The {name.replace('_', ' ')} must be a number.")
                return None
            values[name] = int(port)
        values["imap_tls"] = self.query_one("#imap_tls", Switch).value
        values["smtp_starttls"] = self.query_one("#smtp_starttls", Switch).value
        values["smtp_host"] = self._value("smtp_host") or None
        values["smtp_user"] = self._value("smtp_user") or None
        values["imap_folder"] = values["imap_folder"] or "INBOX"
        try:
            return MailboxCreate(**values)
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(p) for p in error.get("loc", ())).replace("_", " ")
            self._error(f"{where}: {error.get('msg', 'invalid')}")
            return None

    def action_connect(self) -> None:
        body = self.body()
        if body is not None:
            self._connect(body)

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

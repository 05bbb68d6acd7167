"""First run (or a refused token): ask for the server and the token, check them, save them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

#: ``verify(server, token)`` → ``None`` when they work, else one sentence saying why not.
Verifier = Callable[[str, str], Awaitable[str | None]]


class LoginDialog(ModalScreen[tuple[str, str] | None]):
    BINDINGS = [
        Binding("escape", "cancel", "Quit", id="login.cancel", tooltip="Leave ttydesk"),
    ]

    DEFAULT_CSS = """
    LoginDialog {
        align: center middle;
        & > Vertical {
            width: 72; max-width: 96%; height: auto;
            border: thick $primary 60%; background: $panel; padding: 1 2;
        }
        & #login-title { text-style: bold; padding-bottom: 1; }
        & #login-error { color: $text-error; text-style: bold; height: auto; padding-top: 1; }
        & #login-hint { color: $text-muted; height: auto; padding-top: 1; }
    }
    """

    def __init__(
        self, verify: Verifier, *, server: str = "", token: str = "", error: str | None = None
    ) -> None:
        super().__init__()
        self.verify = verify
        self.server = server
        self.token = token
        self.error = error

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text("Connect to your ttydesk server"), id="login-title")
            yield Label("Server URL")
            yield Input(self.server, placeholder="http://127.0.0.1:8580", id="login-server")
            yield Label("Agent token")
            yield Input(
                self.token,
                placeholder="paste the token an admin gave you",
                password=True,
                id="login-token",
            )
            yield Static(Text(self.error or ""), id="login-error")
            yield Static(
                Text(
                    "enter to connect · esc to quit. The token is saved in your config file with mode 0600."
                ),
                id="login-hint",
            )

    def on_mount(self) -> None:
        target = "#login-token" if self.server else "#login-server"
        self.query_one(target, Input).focus()

    @on(Input.Submitted, "#login-server")
    def _server_done(self) -> None:
        self.query_one("#login-token", Input).focus()

    @on(Input.Submitted, "#login-token")
    def _token_done(self) -> None:
        server = self.query_one("#login-server", Input).value.strip()
        token = self.query_one("#login-token", Input).value.strip()
        if not server or not token:
            self._show_error("Both the server URL and the token are needed.")
            return
        self._check(server, token)

    def _show_error(self, message: str) -> None:
        self.query_one("#login-error", Static).update(Text(message))

    @work(exclusive=True, group="login")
    async def _check(self, server: str, token: str) -> None:
        self._show_error("Checking…")
        problem = await self.verify(server, token)
        if problem:
            self._show_error(problem)
        else:
            self.dismiss((server, token))

    def action_cancel(self) -> None:
        self.dismiss(None)

"""Fixtures for the TUI tests: an in-memory backend on 127.0.0.1, an app factory, no blink."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from textual.widgets import Input, TextArea

from backend.schemas import MessageKind, TicketStatus
from tests.tui.fake_backend import FakeBackend
from tui.app import TtydeskApp
from tui.client import ApiClient, LiveStream
from tui.config import Settings

HOSTILE_TEXT = HOSTILE = "Pay now \x1b[31mRED\x1b[0m [bold]not bold[/bold] \u202eevil.exe\u202c ok"


@pytest.fixture(autouse=True)
def _frozen(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Deterministic screens: no blinking cursors, no user config, no colour surprises."""
    monkeypatch.setattr(Input, "cursor_blink", False)
    monkeypatch.setattr(TextArea, "cursor_blink", False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("TTYDESK_SERVER", raising=False)
    monkeypatch.delenv("TTYDESK_TOKEN", raising=False)
    os.environ.pop("TTYDESK_TUI_CONFIG", None)


def seed_inbox(fake: FakeBackend) -> dict[str, int]:
    """A handful of threads, including hostile content and both placeholders."""

    from backend.schemas import Direction, Message

    ids: dict[str, int] = {}
    ids["ana"] = fake.add_thread(
        100,
        ["Hola, my order has not arrived", "Order *A123* please _today_"],
        minutes_ago=3,
        unread=2,
    ).id
    ids["ben"] = fake.add_thread(101, ["Invoice question"], minutes_ago=30, owner_id=2).id
    ids["chen"] = fake.add_thread(
        102, ["Can I change my plan?"], minutes_ago=60 * 30, session_open=False
    ).id
    ids["dora"] = fake.add_thread(
        103, ["Danke!"], minutes_ago=60 * 50, status=TicketStatus.closed
    ).id
    eve = fake.add_thread(104, [HOSTILE], minutes_ago=8, owner_id=1)
    ids["eve"] = eve.id
    now = fake.now
    fake.messages[eve.id].extend(
        [
            Message(
                id=fake.next_id(),
                thread_id=eve.id,
                direction=Direction.inbound,
                kind=MessageKind.unsupported,
                unsupported_reason="poll_creation",
                created_at=now,
            ),
            Message(
                id=fake.next_id(),
                thread_id=eve.id,
                direction=Direction.inbound,
                kind=MessageKind.quarantined,
                quarantine_rule="payment_card_number",
                created_at=now,
            ),
        ]
    )
    return ids


@pytest.fixture
async def fake() -> AsyncIterator[FakeBackend]:
    backend = FakeBackend()
    backend.ids = seed_inbox(backend)  # type: ignore[attr-defined]
    await backend.start()
    try:
        yield backend
    finally:
        await backend.stop()


@pytest.fixture
def make_app() -> Callable[..., TtydeskApp]:
    def make(server: str, token: str, **kwargs: object) -> TtydeskApp:
        settings = Settings(server=server, token=token)
        client = ApiClient(server, token)
        live = lambda c, since: LiveStream(c, since=since, backoff=(0.05, 0.1, 0.2))  # noqa: E731
        return TtydeskApp(settings, client, live=live, save_config=False, **kwargs)  # type: ignore[arg-type]

    return make

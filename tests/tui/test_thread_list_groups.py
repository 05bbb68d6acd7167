"""A WhatsApp group's thread is marked as a group in the list; in its messages each
line names the participant who wrote it."""

from __future__ import annotations

from datetime import UTC, datetime

from backend.schemas import Message
from tests.tui.backend_fixtures import screen_text, wait_for
from tests.tui.test_thread_list import ListApp, Source
from tui import render
from tui.widgets.thread_list import ThreadList


class GroupSource(Source):
    async def fetch(self, offset: int, limit: int, with_total: bool):
        rows, total = await super().fetch(offset, limit, with_total)
        return [
            row.model_copy(update={"group_id": "120363025555555555"}) if row.id == 1 else row
            for row in rows
        ], total


async def test_a_groups_thread_is_marked_in_the_list():
    app = ListApp(GroupSource(3))
    async with app.run_test(size=(80, 24)):
        thread_list = app.query_one(ThreadList)
        await wait_for(lambda: thread_list.current is not None)
        lines = screen_text(app).splitlines()
        assert any("👥 Customer 0" in line for line in lines)
        assert not any("👥 Customer 1" in line for line in lines)


def test_a_group_message_names_its_sender():
    message = Message.model_validate(
        {
            "id": 1,
            "thread_id": 1,
            "direction": "in",
            "kind": "text",
            "text": "me too",
            "created_at": datetime(2026, 11, 26, 9, 30, tzinfo=UTC),
            "group_sender": {"name": "Luis", "wa_id": "34699111222"},
        }
    )
    header = render.header_line(message, contact_name="WhatsApp group 1203", agent_name=str)
    assert header.plain.startswith("▸ Luis · ")

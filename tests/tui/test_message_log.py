"""The message log with a full page: the newest in view at once, only the lines in view drawn,
the cursor always in view, older pages asked for at the top."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from textual.app import App, ComposeResult

from backend.schemas import DeliveryStatus, Message
from tests.tui.backend_fixtures import screen_text
from tui.widgets.message_log import MessageLog

AT = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)


def page(count: int = 50) -> list[Message]:
    """Newest first, as the API returns them."""
    return [
        Message.model_validate(
            {
                "id": n,
                "thread_id": 1,
                "direction": "in" if n % 2 else "out",
                "kind": "text",
                "text": f"message number {n}",
                "created_at": AT + timedelta(minutes=n),
            }
        )
        for n in range(count, 0, -1)
    ]


class LogApp(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.older_asked: list[int] = []

    def compose(self) -> ComposeResult:
        yield MessageLog(id="log")

    def on_message_log_need_older(self, event: MessageLog.NeedOlder) -> None:
        self.older_asked.append(event.before)


def in_view(log: MessageLog, index: int) -> bool:
    top, lines = log.message_span(index)
    return log.scroll_y <= top and top + lines <= log.scroll_y + log.size.height


async def test_the_newest_are_in_view_and_only_the_lines_in_view_are_drawn():
    app = LogApp()
    async with app.run_test(size=(80, 24)) as pilot:
        log = app.query_one(MessageLog)
        log.focus()
        log.set_messages(page(), has_older=True)
        await pilot.pause()
        assert len(log.messages) == 50 and log.cursor == 49
        assert log.scroll_y == log.max_scroll_y > 0  # the end is in view
        assert in_view(log, 49)
        assert 0 < log.lines_drawn <= 2 * log.size.height  # not the page's 150 lines
        assert app.older_asked == []


async def test_the_cursor_going_up_stays_in_view():
    app = LogApp()
    async with app.run_test(size=(80, 24)) as pilot:
        log = app.query_one(MessageLog)
        log.focus()
        log.set_messages(page(), has_older=True)
        await pilot.pause()
        for _ in range(30):
            await pilot.press("k")
            assert in_view(log, log.cursor)
        assert log.selected is not None and log.selected.id == 20
        await pilot.press("g")
        await pilot.pause()
        assert log.cursor == 0 and in_view(log, 0) and app.older_asked == [1]
        await pilot.press("G")
        await pilot.pause()
        assert log.cursor == 49 and in_view(log, 49)


async def test_scrolling_up_asks_for_older_and_they_come_without_a_jump():
    app = LogApp()
    async with app.run_test(size=(80, 24)) as pilot:
        log = app.query_one(MessageLog)
        log.set_messages(page(), has_older=True)
        await pilot.pause()
        for _ in range(200):
            log.scroll_up(animate=False, immediate=True)
            if app.older_asked:
                break
        await pilot.pause()
        assert app.older_asked == [1]  # within a screen of the top, once
        assert log.scroll_y < log.size.height
        top_line = log.message_span(0)[0] - log.scroll_y  # message 1, where it is shown
        older = [
            Message.model_validate(
                {
                    "id": 1000 + n,
                    "thread_id": 1,
                    "direction": "in",
                    "kind": "text",
                    "text": f"older {n}",
                    "created_at": AT - timedelta(minutes=n),
                }
            )
            for n in range(1, 21)
        ]  # newest first
        log.prepend_older(older, has_older=False)
        await pilot.pause()
        assert len(log.messages) == 70 and log.messages[0].id == 1020
        assert log.message_span(20)[0] - log.scroll_y == top_line  # message 1 did not move
        assert log.selected is not None and log.selected.id == 50


async def test_a_new_message_at_the_end_stays_in_view():
    app = LogApp()
    async with app.run_test(size=(80, 24)) as pilot:
        log = app.query_one(MessageLog)
        log.set_messages(page(), has_older=True)
        await pilot.pause()
        newest = page(51)[0]
        log.upsert(newest)
        await pilot.pause()
        assert log.cursor == 50 and in_view(log, 50)


def late(id_: int, minutes: float) -> Message:
    """A message stored after the page (a higher id) but sent earlier."""
    return Message.model_validate(
        {
            "id": id_,
            "thread_id": 1,
            "direction": "in",
            "kind": "text",
            "text": f"late {id_}",
            "created_at": AT + timedelta(minutes=minutes),
        }
    )


async def test_a_message_delivered_late_is_shown_in_its_place():
    app = LogApp()
    async with app.run_test(size=(80, 24)) as pilot:
        log = app.query_one(MessageLog)
        log.focus()
        log.set_messages(page(5), has_older=False)
        await pilot.pause()
        await pilot.press("k")  # the cursor on message 4
        log.upsert(late(100, 2.5))  # between messages 2 and 3
        log.upsert(late(101, 5))  # the same minute as message 5: arrival breaks the tie
        log.upsert(late(102, -10))  # older than every message of a thread with no more pages
        await pilot.pause()
        order = [102, 1, 2, 100, 3, 4, 5, 101]
        assert [m.id for m in log.messages] == order
        assert "late 100" in screen_text(app)
        assert log.selected is not None and log.selected.id == 4


async def test_a_late_message_older_than_the_loaded_pages_waits_for_them():
    app = LogApp()
    async with app.run_test(size=(80, 24)) as pilot:
        log = app.query_one(MessageLog)
        log.set_messages(page(50), has_older=True)
        await pilot.pause()
        log.upsert(late(200, -5))
        log.upsert(late(201, 1.5))  # among the page's oldest, out of view
        await pilot.pause()
        assert 200 not in [m.id for m in log.messages]
        assert [m.id for m in log.messages][:3] == [1, 201, 2]
        assert log.selected is not None and log.selected.id == 50
        assert in_view(log, 50)


def long_message(id_: int, lines: int) -> Message:
    return Message.model_validate(
        {
            "id": id_,
            "thread_id": 1,
            "direction": "in",
            "kind": "text",
            "text": "\n".join(f"line {n}" for n in range(lines)),
            "created_at": AT + timedelta(minutes=id_),
        }
    )


async def test_e_shows_the_whole_long_message_and_keeps_it_in_view():
    app = LogApp()
    async with app.run_test(size=(80, 40)) as pilot:
        log = app.query_one(MessageLog)
        log.focus()
        log.set_messages([long_message(3, 8), long_message(2, 60), long_message(1, 8)], False)
        await pilot.pause()
        await pilot.press("k")
        _, clipped = log.message_span(1)
        assert "press e to show more" in screen_text(app)
        await pilot.press("e")
        await pilot.pause()
        top, lines = log.message_span(1)
        assert lines == 61 > clipped  # the header and every line
        assert log.scroll_y == top  # taller than the view: its start is in view
        assert "press e to show more" not in screen_text(app)
        await pilot.press("e")
        await pilot.pause()
        assert log.message_span(1)[1] == clipped and in_view(log, 1)


async def test_a_narrower_log_wraps_again_and_keeps_the_newest_in_view():
    app = LogApp()
    async with app.run_test(size=(80, 24)) as pilot:
        log = app.query_one(MessageLog)
        log.set_messages(page(), has_older=False)
        await pilot.pause()
        wide = log.virtual_size.height
        await pilot.resize_terminal(30, 20)
        await pilot.pause()
        await pilot.pause()
        assert log.virtual_size.height > wide  # "message number 50" wraps at 30 columns
        assert in_view(log, 49) and log.scroll_y == log.max_scroll_y


async def test_a_sends_answer_never_undoes_the_live_events_that_came_before_it():
    """A relay can take a mail before the inbox reads the send's answer: the events
    (queued, then sent) come first, and the answer (queued) must not turn it back."""
    app = LogApp()
    async with app.run_test(size=(80, 24)) as pilot:
        log = app.query_one(MessageLog)
        log.set_messages(page(2), has_older=False)
        queued = Message.model_validate(
            {"id": 9, "thread_id": 1, "direction": "out", "kind": "text", "text": "On its way",
             "status": "queued", "created_at": AT + timedelta(minutes=5)}
        )  # fmt: skip
        sent = queued.model_copy(update={"status": DeliveryStatus.sent})
        log.upsert(queued)  # message.created
        log.upsert(sent)  # message.updated
        log.add_answer(queued)  # the POST's answer, read last
        await pilot.pause()
        assert [(m.id, m.status) for m in log.messages][-1] == (9, DeliveryStatus.sent)
        # a message the stream has not brought yet is added by its answer
        log.add_answer(queued.model_copy(update={"id": 10, "text": "And again"}))
        assert log.messages[-1].id == 10
        # a retried failure: the answer (queued again) replaces the failure it retries,
        # but not a status the stream brought after it
        failed = sent.model_copy(update={"id": 11, "status": DeliveryStatus.failed})
        log.upsert(failed)
        retried = failed.model_copy(update={"status": DeliveryStatus.queued})
        log.add_answer(retried, replaces=(DeliveryStatus.failed,))
        assert log.messages[-1].status == DeliveryStatus.queued
        log.upsert(retried.model_copy(update={"status": DeliveryStatus.sent}))
        log.add_answer(retried, replaces=(DeliveryStatus.failed,))
        assert log.messages[-1].status == DeliveryStatus.sent

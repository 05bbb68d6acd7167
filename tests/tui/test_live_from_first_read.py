"""The inbox reads its first page, the views and the agents over REST, and only then opens
the live stream: a change committed between those reads and the connection must still
reach the screen. The stream starts from where the event log stood before the first
reads (``X-Event-Seq``), not from the server's newest event at the connection."""

from __future__ import annotations

import asyncio

from tests.tui.backend_fixtures import inbox_ready, wait_for
from tui.app import TtydeskApp
from tui.client import ApiClient, LiveStream
from tui.config import Settings


def held_app(desk, asked: asyncio.Event, go: asyncio.Event) -> TtydeskApp:
    """The app as the CLI builds it, whose live stream waits for ``go`` before connecting
    (a slow start: the stream and its imports come after the first page is drawn)."""

    class HeldStream(LiveStream):
        async def run(self, *args, **kwargs) -> None:
            asked.set()
            await go.wait()
            await super().run(*args, **kwargs)

    def live(client: ApiClient, since: int | None) -> LiveStream:
        return HeldStream(client, since=since, backoff=(0.05, 0.1, 0.2))

    client = ApiClient(desk.url, desk.agent_token)
    settings = Settings(server=desk.url, token=desk.agent_token)
    return TtydeskApp(settings, client, live=live, save_config=False, clock=desk.clock.now)


async def test_a_change_between_the_first_reads_and_the_live_stream_reaches_the_row(desk):
    """Another agent takes Ana's thread after the inbox has drawn its first page and before
    its live stream connects: once connected, the row shows the new owner (it stayed
    unassigned until the thread's next change)."""
    ana = desk.ids["ana"]
    admin_id = desk.backend.admin.id
    assert (await desk.thread("ana")).ticket.owner_id is None
    asked, go = asyncio.Event(), asyncio.Event()
    app = held_app(desk, asked, go)
    async with app.run_test(size=(100, 30)):
        await asyncio.wait_for(asked.wait(), 10)  # the first page is in, the stream not yet
        threads = app.screen.threads
        await wait_for(lambda: threads.find(ana) is not None)
        assert threads.thread_at(threads.find(ana)).ticket.owner_id is None
        await desk.call("PATCH", f"/tickets/{desk.tickets['ana']}", json={"owner_id": admin_id})
        go.set()
        await inbox_ready(app)
        await wait_for(lambda: threads.thread_at(threads.find(ana)).ticket.owner_id == admin_id)


async def test_a_customer_message_between_the_first_reads_and_the_live_stream_shows(desk):
    """A customer writes in that gap: the row's last message is the new one."""
    ana = desk.ids["ana"]
    asked, go = asyncio.Event(), asyncio.Event()
    app = held_app(desk, asked, go)
    async with app.run_test(size=(100, 30)):
        await asyncio.wait_for(asked.wait(), 10)
        threads = app.screen.threads
        await wait_for(lambda: threads.find(ana) is not None)
        await desk.customer_writes("ana", "Written while the inbox was starting")
        go.set()
        await inbox_ready(app)

        await wait_for(
            lambda: (
                threads.thread_at(threads.find(ana)).last_message_preview
                == "Written while the inbox was starting"
            )
        )

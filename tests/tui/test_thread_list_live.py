"""The thread list against the real ``/threads`` API past its first page: a desk of more
than 50 threads (a page holds 50), paged through by the API and by the inbox's list; and a
page the server read before a live change lands after it."""

from __future__ import annotations

import asyncio

from tests.backend.seed import seed_threads
from tests.tui.backend_fixtures import inbox_ready, wait_for
from tui.widgets.thread_list import ThreadList

EXTRA = 2 * ThreadList.PAGE_SIZE + 20


async def api_ids(desk, view: str, **paging) -> list[int]:
    """Every thread of the view, page after page (``next_cursor`` or offsets)."""
    ids: list[int] = []
    params: dict = {"view": view, "limit": ThreadList.PAGE_SIZE, **paging}
    for _ in range(10):
        page = await desk.call("GET", "/threads", client=desk.agent, params=params)
        ids += [thread["id"] for thread in page["items"]]
        if "offset" in params:
            if len(page["items"]) < ThreadList.PAGE_SIZE:
                return ids
            params["offset"] += ThreadList.PAGE_SIZE
        elif page["next_cursor"] is None:
            return ids
        else:
            params["cursor"] = page["next_cursor"]
    raise AssertionError("more pages than expected")


async def test_paging_past_the_first_page_by_the_api_and_in_the_list(desk):
    await seed_threads(desk.store, EXTRA)
    app = desk.make_app(desk.agent_token)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await inbox_ready(app)
        threads = screen.threads
        view = screen.view.id
        by_cursor = await api_ids(desk, view)
        by_offset = await api_ids(desk, view, offset=0)
        assert len(by_cursor) > EXTRA and len(set(by_cursor)) == len(by_cursor)
        assert by_offset == by_cursor
        total = len(by_cursor)
        await wait_for(lambda: threads.total == total)
        await pilot.press("G")  # the last page, by key
        await wait_for(lambda: threads.current is not None and threads.current.id == by_cursor[-1])
        await pilot.press("g")
        await wait_for(lambda: threads.current is not None and threads.current.id == by_cursor[0])
        for _ in range(total // 10 + 1):  # a screenful at a time, every row of every page
            await pilot.press("pagedown")
        await wait_for(lambda: threads.cursor == total - 1)
        await wait_for(lambda: all(threads.thread_at(i) is not None for i in range(total)))
        assert [threads.thread_at(i).id for i in range(total)] == by_cursor


async def test_a_page_read_before_a_live_change_does_not_take_its_row_back(desk):
    """The agent goes to the last page of the list while another agent takes one of its
    threads: the page, read by the server before the assignment was committed, comes back
    after the live ``thread.updated`` (a slow link). The row shows the new owner, not the
    page's older one (it went back to nobody until the next change)."""
    await seed_threads(desk.store, EXTRA)
    app = desk.make_app(desk.agent_token)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await inbox_ready(app)
        threads = screen.threads
        ids = await api_ids(desk, screen.view.id)
        await wait_for(lambda: threads.total == len(ids))
        last_page = (len(ids) - 1) // ThreadList.PAGE_SIZE * ThreadList.PAGE_SIZE
        taken = ids[-1]  # on the last page, not fetched yet
        before = await desk.call("GET", f"/threads/{taken}")
        admin, bob = desk.backend.admin.id, desk.backend.agent.id
        owner = bob if before["ticket"]["owner_id"] == admin else admin

        client = app.client
        fetch = client.threads
        read, deliver = asyncio.Event(), asyncio.Event()

        async def slow_last_page(**params):
            page = await fetch(**params)  # read by the server now
            if params.get("offset") == last_page:
                read.set()
                await deliver.wait()  # and delivered later
            return page

        client.threads = slow_last_page
        threads.focus()
        await pilot.press("space")  # a row selected: the order holds
        await pilot.press("G")  # the last page is asked for
        await asyncio.wait_for(read.wait(), 10)
        await desk.call("PATCH", f"/tickets/{before['ticket']['id']}", json={"owner_id": owner})
        # the live change came while the page is on its way (held: a row is selected)
        await wait_for(lambda: threads.held == 1)
        deliver.set()
        await wait_for(lambda: threads.find(taken) is not None)
        row = threads.thread_at(threads.find(taken))
        assert row.ticket.owner_id == owner
        assert threads.held == 1  # the change's reload still waits for the selection

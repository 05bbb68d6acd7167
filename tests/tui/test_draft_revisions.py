"""The composer's revisions (tui/drafts.py): what a draft save and a send carry, so that the
server can refuse a save of what was already sent."""

from __future__ import annotations

from tui.drafts import DraftKeeper, DraftState, RevisionClock


def test_the_clock_only_goes_forward_whatever_the_time_does():
    times = iter([100.0, 100.0, 99.0, 200.0])
    clock = RevisionClock(lambda: next(times))
    first, same_ms, clock_went_back = clock.next(), clock.next(), clock.next()
    assert (first, same_ms, clock_went_back) == (100_000, 100_001, 100_002)
    clock.heard(300_000)  # a draft saved by a terminal whose clock is ahead
    assert clock.next() == 300_001


def test_a_composer_state_read_again_keeps_its_revision_and_a_change_gets_a_newer_one():
    """What the send carries is the revision the unchanged composer was saved with (the
    quit's save of the same text is then not newer than the send); a change is newer."""
    keeper = DraftKeeper(client=None, clock=RevisionClock(lambda: 1.0))  # type: ignore[arg-type]
    typed = keeper.revision(7, DraftState("On its way!"))
    assert keeper.revision(7, DraftState("On its way!")) == typed
    assert keeper.revision(7, DraftState("On its way!", note=True)) > typed
    more = keeper.revision(7, DraftState("On its way! Anything else?"))
    assert more > typed
    assert keeper.revision(8, DraftState("On its way! Anything else?")) > more  # per thread


async def test_a_draft_written_after_a_send_from_a_terminal_whose_clock_is_ahead_is_kept(desk):
    """Two terminals of one agent: the laptop's clock is an hour ahead, and it sends in a
    thread. Later the agent writes a draft there from the shared server (its clock right).
    By the clocks that draft is older than the send, so the server refused it (409
    draft_outdated) and the inbox took that quietly: the draft was lost on quit. The
    refusal names the newest revision; the inbox, knowing it did not send that text, saves
    it again past it. Its own sent text is still never brought back."""
    from tui.client import ApiClient

    thread_id = desk.ids["ana"]
    now = desk.clock.now().timestamp()
    laptop = DraftKeeper(client=None, clock=RevisionClock(lambda: now + 3600))  # type: ignore[arg-type]
    sent_at = laptop.revision(thread_id, DraftState("Sent from the laptop", note=True))
    response = await desk.agent.post(
        f"/api/v1/threads/{thread_id}/messages",
        json={"kind": "note", "text": "Sent from the laptop", "draft_revision": sent_at},
    )
    assert response.status_code in (200, 201, 202), response.text

    client = ApiClient(desk.url, desk.agent_token)
    try:
        server = DraftKeeper(client, delay=0, clock=RevisionClock(lambda: now))
        server.left(thread_id, DraftState("Written on the server"))
        await server.flush()
        draft = await client.draft(thread_id)
        assert draft is not None and draft.text == "Written on the server"
        assert draft.revision is not None and draft.revision > sent_at

        # its own send: the save of what it sent, on its way when it sent, stays refused
        sent = DraftState("Written on the server")
        revision = server.revision(thread_id, sent)
        response = await desk.agent.post(
            f"/api/v1/threads/{thread_id}/messages",
            json={"kind": "note", "text": sent.text, "draft_revision": revision},
        )
        assert response.status_code in (200, 201, 202), response.text
        server.sent(thread_id, revision)
        server._kept.pop(thread_id, None)  # (as if its save were still on its way)
        server.left(thread_id, sent)
        await server.flush()
        assert await client.draft(thread_id) is None
    finally:
        await client.aclose()


async def test_emptying_the_composer_deletes_the_draft_with_its_revision(desk):
    """The inbox's delete carries the emptied composer's revision: a save of the text
    from before, arriving after it, is refused instead of bringing the text back."""
    from tui.client import ApiClient

    thread_id = desk.ids["ana"]
    client = ApiClient(desk.url, desk.agent_token)
    try:
        keeper = DraftKeeper(client, delay=0)
        keeper.left(thread_id, DraftState("Dear"))
        await keeper.flush()
        written = keeper.revision(thread_id, DraftState("Dear"))
        keeper.left(thread_id, DraftState(""))
        await keeper.flush()
        assert await client.draft(thread_id) is None
        late = await desk.agent.put(
            f"/api/v1/threads/{thread_id}/draft", json={"text": "Dear", "revision": written}
        )
        assert late.status_code == 409, late.text
        assert await client.draft(thread_id) is None
    finally:
        await client.aclose()


async def test_emptying_the_composer_behind_a_terminal_whose_clock_is_ahead_still_deletes(desk):
    """The shared server's terminal kept a draft; the laptop (an hour ahead) saved over
    it; the agent then empties the composer on the server's terminal. By the clocks the
    delete is older than the laptop's save: it was taken as done and changed nothing, and
    the text came back at the next open. The refusal names the newest revision, and the
    delete goes again past it: the agent's last action wins, as for a save."""
    from tui.client import ApiClient

    thread_id = desk.ids["ana"]
    now = desk.clock.now().timestamp()
    client = ApiClient(desk.url, desk.agent_token)
    try:
        server = DraftKeeper(client, delay=0, clock=RevisionClock(lambda: now))
        laptop = DraftKeeper(client, delay=0, clock=RevisionClock(lambda: now + 3600))
        server.left(thread_id, DraftState("From the server"))
        await server.flush()
        laptop.left(thread_id, DraftState("From the laptop"))
        await laptop.flush()
        server.left(thread_id, DraftState(""))
        await server.flush()
        assert await client.draft(thread_id) is None
    finally:
        await client.aclose()


def _second_line_of(app, name: str) -> str:  # noqa: ANN001 - TtydeskApp
    from tests.tui.backend_fixtures import screen_text

    lines = screen_text(app).splitlines()
    index = next((i for i, line in enumerate(lines) if name in line), None)
    return lines[index + 1] if index is not None and index + 1 < len(lines) else ""


async def test_the_thread_list_marks_the_threads_the_agent_left_a_draft_in(desk):
    """A draft kept from an earlier session (or another terminal) is marked "draft" in
    the thread list from the start; leaving a thread with a reply written marks it; a
    send takes the mark away. Nothing showed where drafts were left."""
    from tests.tui.backend_fixtures import inbox_ready, open_thread, wait_for

    ana, ben = desk.ids["ana"], desk.ids["ben"]
    kept = await desk.agent.put(f"/api/v1/threads/{ana}/draft", json={"text": "Dear Ana"})
    assert kept.status_code == 200, kept.text
    app = desk.make_app(desk.agent_token)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await inbox_ready(app)
        await wait_for(lambda: "(draft)" in _second_line_of(app, "Ana García"))
        assert "(draft)" not in _second_line_of(app, "Ben Okafor")
        await open_thread(pilot, screen, ben)
        await pilot.press("r", *"Hi Ben", "escape", "escape")
        await wait_for(lambda: ben in screen.threads.drafts)
        await wait_for(lambda: "(draft)" in _second_line_of(app, "Ben Okafor"))
        await open_thread(pilot, screen, ana)
        await pilot.press("r")
        await wait_for(lambda: screen.composer.text == "Dear Ana")
        await pilot.press("ctrl+s")
        await wait_for(lambda: ana not in screen.threads.drafts)
        await pilot.press("escape", "escape")
        await wait_for(lambda: "(draft)" not in _second_line_of(app, "Ana García"))
        assert screen.threads.drafts == frozenset({ben})


def test_a_409_names_its_newest_revision_only_when_it_is_a_number():
    """What the inbox steps its clock past comes from the server's body: anything but an
    integer there (a string, a float, true) is no revision at all."""
    import httpx

    from tui.client import _error_from

    def refused(newest: object) -> int | None:
        body = {"error": {"code": "draft_outdated", "message": "Older.", "newest_revision": newest}}
        return _error_from(httpx.Response(409, json=body)).newest_revision

    assert refused(1_795_683_600_000) == 1_795_683_600_000
    assert [refused(bad) for bad in ("1795683600000", 1.5e12, True, None)] == [None] * 4

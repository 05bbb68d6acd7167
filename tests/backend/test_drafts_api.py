"""Drafts: kept per agent and thread on the server, seen by their agent only, gone with a send."""

from __future__ import annotations

from tests.backend.seed import seed_thread


async def test_a_draft_is_kept_per_agent_and_goes_with_a_send(live_backend):
    thread = await seed_thread(live_backend.store, name="Ana", phone="+34600000001", text="Hi")
    path = f"/api/v1/threads/{thread.id}/draft"
    async with (
        live_backend.client(live_backend.agent_token) as agent,
        live_backend.client(live_backend.admin_token) as admin,
    ):
        none = await agent.get(path)
        assert none.status_code == 404 and none.json()["error"]["code"] == "draft_not_found"
        saved = await agent.put(path, json={"text": "Your order is on"})
        assert saved.status_code == 200, saved.text
        assert saved.json()["text"] == "Your order is on" and saved.json()["note"] is False
        saved = await agent.put(path, json={"text": "Checking with the warehouse", "note": True})
        assert (await agent.get(path)).json()["text"] == "Checking with the warehouse"
        assert (await agent.get(path)).json()["note"] is True
        assert (await admin.get(path)).status_code == 404  # only its agent sees it
        assert (await admin.put(path, json={"text": "Admin's own"})).status_code == 200
        # a refused send keeps the draft (no business number is connected here)
        refused = await agent.post(
            f"/api/v1/threads/{thread.id}/messages", json={"kind": "text", "text": "Hello"}
        )
        assert refused.status_code == 409
        assert (await agent.get(path)).json()["text"] == "Checking with the warehouse"
        sent = await agent.post(
            f"/api/v1/threads/{thread.id}/messages",
            json={"kind": "note", "text": "Checking with the warehouse"},
        )
        assert sent.status_code == 202, sent.text
        assert (await agent.get(path)).status_code == 404
        assert (await admin.get(path)).json()["text"] == "Admin's own"  # not the sender's
        deleted = await admin.delete(path)
        assert deleted.status_code == 204
        assert (await admin.get(path)).status_code == 404
        assert (await admin.delete(path)).status_code == 204  # nothing to forget is fine


async def test_bad_drafts_are_refused_with_the_field(live_backend):
    thread = await seed_thread(live_backend.store, name="Ana", phone="+34600000001", text="Hi")
    path = f"/api/v1/threads/{thread.id}/draft"
    async with live_backend.client(live_backend.agent_token) as agent:
        empty = await agent.put(path, json={"text": ""})
        assert empty.status_code == 422 and empty.json()["error"]["field"] == "text"
        unknown = await agent.put(path, json={"text": "x", "colour": "red"})
        assert unknown.status_code == 422
        elsewhere = await agent.put(path, json={"text": "x", "reply_to": 999_999})
        assert elsewhere.status_code == 422 and elsewhere.json()["error"]["field"] == "reply_to"
        missing = await agent.put("/api/v1/threads/999999/draft", json={"text": "x"})
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "thread_not_found"
        assert (await agent.get(path)).status_code == 404  # nothing was kept


async def test_a_draft_save_older_than_a_send_does_not_bring_the_sent_text_back(live_backend):
    """The composer's save was on its way (or queued) when the agent sent: the send
    commits first and takes the draft; the late save, read from the composer before the
    send, is refused (409 draft_outdated) and the sent text is no draft again. A save of
    what was written after the send is kept, and an older save arriving after it is not."""
    thread = await seed_thread(live_backend.store, name="Ana", phone="+34600000001", text="Hi")
    path = f"/api/v1/threads/{thread.id}/draft"
    async with live_backend.client(live_backend.agent_token) as agent:
        saved = await agent.put(path, json={"text": "Checking", "revision": 1000})
        assert saved.status_code == 200, saved.text
        assert saved.json()["revision"] == 1000
        sent = await agent.post(
            f"/api/v1/threads/{thread.id}/messages",
            json={"kind": "note", "text": "Checking with the warehouse", "draft_revision": 1002},
        )
        assert sent.status_code == 202, sent.text
        # the save of the composer as it was when sent (or before), arriving late
        for revision in (1001, 1002):
            late = await agent.put(
                path, json={"text": "Checking with the warehouse", "revision": revision}
            )
            assert late.status_code == 409, late.text
            assert late.json()["error"]["code"] == "draft_outdated"
            assert late.json()["error"]["newest_revision"] == 1002  # the send's
        assert (await agent.get(path)).status_code == 404
        newer = await agent.put(path, json={"text": "Anything else?", "revision": 1005})
        assert newer.status_code == 200, newer.text
        older = await agent.put(path, json={"text": "Anything", "revision": 1004})
        assert older.status_code == 409  # the same terminal's saves, out of order
        assert older.json()["error"]["newest_revision"] == 1005  # the draft kept
        assert (await agent.get(path)).json()["text"] == "Anything else?"
        # a save without a revision (an older client) is kept as before
        plain = await agent.put(path, json={"text": "No revision"})
        assert plain.status_code == 200, plain.text
        assert (await agent.get(path)).json()["text"] == "No revision"


async def test_a_send_keeps_a_draft_written_after_what_it_sent(live_backend):
    """A send carries the revision of the composer it sent: a draft saved since (a newer
    revision, from another terminal) is not the sent text and stays; a send without a
    revision takes the draft as before."""
    thread = await seed_thread(live_backend.store, name="Ana", phone="+34600000001", text="Hi")
    path = f"/api/v1/threads/{thread.id}/draft"
    messages = f"/api/v1/threads/{thread.id}/messages"
    async with live_backend.client(live_backend.agent_token) as agent:
        assert (await agent.put(path, json={"text": "Later", "revision": 2000})).status_code == 200
        sent = await agent.post(
            messages, json={"kind": "note", "text": "Earlier", "draft_revision": 1990}
        )
        assert sent.status_code == 202, sent.text
        assert (await agent.get(path)).json()["text"] == "Later"
        sent = await agent.post(messages, json={"kind": "note", "text": "Later"})
        assert sent.status_code == 202, sent.text
        assert (await agent.get(path)).status_code == 404
        # a refused send (no business number is connected here) consumes no revision: the
        # draft is kept, and the composer's save of that same state still is
        assert (await agent.put(path, json={"text": "Hello", "revision": 3000})).status_code == 200
        refused = await agent.post(
            messages, json={"kind": "text", "text": "Hello", "draft_revision": 3000}
        )
        assert refused.status_code == 409, refused.text
        assert (await agent.get(path)).json()["text"] == "Hello"
        again = await agent.put(path, json={"text": "Hello", "revision": 3000})
        assert again.status_code == 200, again.text


async def test_an_emptied_composer_deletes_the_draft_and_an_older_save_arriving_late_is_refused(
    live_backend,
):
    """The agent wrote, then emptied the composer: its save was still on its way when the
    delete went. The delete carries the emptied state's revision; the late save of the
    text, older than it, is refused and the draft stays deleted (it came back before). A
    delete without a revision (an older client) deletes as before."""
    thread = await seed_thread(live_backend.store, name="Ana", phone="+34600000001", text="Hi")
    path = f"/api/v1/threads/{thread.id}/draft"
    async with live_backend.client(live_backend.agent_token) as agent:
        assert (await agent.put(path, json={"text": "Dear", "revision": 1000})).status_code == 200
        deleted = await agent.delete(path, params={"revision": 1002})
        assert deleted.status_code == 204, deleted.text
        late = await agent.put(path, json={"text": "Dear Ana", "revision": 1001})
        assert late.status_code == 409, late.text
        assert late.json()["error"]["newest_revision"] == 1002
        assert (await agent.get(path)).status_code == 404
        newer = await agent.put(path, json={"text": "Hello Ana", "revision": 1003})
        assert newer.status_code == 200, newer.text
        # a delete older than the draft kept (another terminal wrote since) leaves it
        stale = await agent.delete(path, params={"revision": 1002})
        assert stale.status_code == 409, stale.text
        error = stale.json()["error"]
        assert (error["code"], error["newest_revision"]) == ("draft_outdated", 1003)
        assert (await agent.get(path)).json()["text"] == "Hello Ana"
        for bad in ("-1", "soon", str(2**64)):
            refused = await agent.delete(path, params={"revision": bad})
            assert refused.status_code == 422, refused.text
            assert refused.json()["error"]["field"] == "revision"
        assert (await agent.delete(path)).status_code == 204
        assert (await agent.get(path)).status_code == 404


async def test_an_agent_lists_only_their_own_drafts_newest_first(live_backend):
    """GET /drafts: the threads the caller left something unsent in (the inbox marks them
    in the thread list), newest first; another agent's drafts are not among them."""
    first = await seed_thread(live_backend.store, name="Ana", phone="+34600000001", text="Hi")
    second = await seed_thread(live_backend.store, name="Ben", phone="+34600000002", text="Yo")
    async with (
        live_backend.client(live_backend.agent_token) as agent,
        live_backend.client(live_backend.admin_token) as admin,
    ):
        assert (await agent.get("/api/v1/drafts")).json() == {
            "items": [],
            "next_cursor": None,
            "total": 0,
        }
        for thread, text in ((first, "Dear Ana"), (second, "Dear Ben")):
            saved = await agent.put(f"/api/v1/threads/{thread.id}/draft", json={"text": text})
            assert saved.status_code == 200, saved.text
        await admin.put(f"/api/v1/threads/{first.id}/draft", json={"text": "Admin's"})
        listed = (await agent.get("/api/v1/drafts")).json()
        assert [(d["thread_id"], d["text"]) for d in listed["items"]] == [
            (second.id, "Dear Ben"),
            (first.id, "Dear Ana"),
        ]
        await agent.delete(f"/api/v1/threads/{second.id}/draft")
        listed = (await agent.get("/api/v1/drafts")).json()
        assert [d["thread_id"] for d in listed["items"]] == [first.id]

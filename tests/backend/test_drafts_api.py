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

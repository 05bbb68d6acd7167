"""Search covers e-mail: a mail's subject and its whole text (the quoted history and the
signature folded away in the thread) find its thread, as the new part does."""

from __future__ import annotations

from tests.email.test_inbound_wiring import desk, mail, send, threads  # noqa: F401 - fixture
from tests.support import LiveBackend

REPLY = """Any news?

On Mon, 1 Dec 2026 at 09:12, Northwind Support <support@acme.test> wrote:
> Your parcel left our quokka depot this morning.
"""


async def search(backend: LiveBackend, q: str) -> list[tuple[str, int]]:
    async with backend.client(backend.admin_token) as client:
        response = await client.get("/api/v1/search", params={"q": q})
        assert response.status_code == 200, response.text
        return [(hit["matched"], hit["thread"]["id"]) for hit in response.json()["items"]]


async def listed(backend: LiveBackend, q: str) -> list[int]:
    async with backend.client(backend.admin_token) as client:
        response = await client.get("/api/v1/threads", params={"q": q})
        assert response.status_code == 200, response.text
        return [thread["id"] for thread in response.json()["items"]]


async def test_a_word_only_in_a_mails_subject_or_its_quoted_text_finds_the_thread(
    desk: LiveBackend,  # noqa: F811
):
    await send(desk, mail("Where is my parcel?", message_id="<s1@example.com>"))
    await send(
        desk,
        mail(REPLY, message_id="<s2@example.com>", subject="Re: My parcel, tracking zeppelin",
             in_reply_to="<s1@example.com>"),
    )  # fmt: skip
    [thread] = await threads(desk)
    assert await search(desk, "zeppelin") == [("message", thread["id"])]  # the subject only
    assert await search(desk, "quokka") == [("message", thread["id"])]  # the quoted text only
    assert await listed(desk, "zeppelin") == [thread["id"]]
    assert await listed(desk, "quokka") == [thread["id"]]
    assert await search(desk, "nowhere") == []

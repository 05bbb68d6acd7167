"""Editing and removing a mailbox while the server runs (PATCH / DELETE
/api/v1/mailboxes/{id}): an edit is used at once — the next mail goes through the new
relay, the IMAP fetcher follows the new folder, the SMTP listener's recipient check the
new address — and a changed login that fails is refused with the old settings kept. A
removed mailbox keeps its threads; mail to it is refused, nothing is sent from it (a
send still queued ends failed with the reason), and connecting it again brings its
threads back."""

from __future__ import annotations

import asyncio
import logging
from email import message_from_bytes, policy
from pathlib import Path

import aioimaplib
import aiosmtplib
import pytest

from backend.email.channel import FETCHERS, LISTENER, OUTBOX
from backend.email.smtp_listener import SupportMailbox
from backend.keys import SERVICES
from backend.store import EmailRecord
from tests.backend.wsclient import LiveClient
from tests.email.dovecot import PASSWORD, USER, Dovecot
from tests.email.test_connect_mailbox import run_cli, until
from tests.email.test_inbound_wiring import messages, threads
from tests.email.test_outbound import reply, settled
from tests.email.test_smtp_send import Relaying
from tests.support import LiveBackend

CUSTOMER = "ana@example.com"
NEW_ADDRESS = "help@acme.test"


@pytest.fixture
async def desk(tmp_path: Path):
    backend = LiveBackend(
        tmp_path / "data", overrides={"email": {"addresses": [], "listen_port": 0}}
    )
    await backend.start()
    await backend.seed_agents()
    try:
        yield backend
    finally:
        await backend.stop()


def relay_keeping(keep=None) -> Relaying:
    """A relay on this machine (no login, no TLS) that takes mail for the customer."""
    relay = Relaying()

    async def kept(raw: bytes, sender: str, recipients: list[str]) -> None:
        relay.received.append((raw, sender, recipients))

    relay.mailbox = SupportMailbox(keep or kept, [CUSTOMER])
    return relay


def body(smtp_port: int, imap_port: int | None = None, **changes) -> dict:
    imap = (
        {"imap_host": "127.0.0.1", "imap_port": imap_port, "imap_tls": False,
         "imap_password": PASSWORD}
        if imap_port is not None
        else {}
    )  # fmt: skip
    return {
        "address": USER,
        "display_name": "Acme Support",
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp_port,
        "smtp_starttls": False,
        **imap,
        **changes,
    }


def mail_to(address: str, n: int) -> bytes:
    return (
        f"From: {CUSTOMER}\r\nTo: {address}\r\nSubject: number {n}\r\n"
        f"Message-ID: <e{n}@example.com>\r\n\r\nbody {n}\r\n"
    ).encode()


async def forward(backend: LiveBackend, address: str, n: int) -> None:
    assert backend.app is not None
    port = backend.app[SERVICES][LISTENER].sockets[0].getsockname()[1]
    await aiosmtplib.send(
        mail_to(address, n), sender=CUSTOMER, recipients=[address], hostname="127.0.0.1",
        port=port,
    )  # fmt: skip


async def append(server: Dovecot, folder: str, raw: bytes | None = None) -> None:
    """Create the folder (when new) and put a mail in it."""
    client = aioimaplib.IMAP4(port=server.port)
    await client.wait_hello_from_server()
    await client.login(USER, PASSWORD)
    await client.create(folder)
    if raw is not None:
        assert (await client.append(raw, mailbox=folder)).result == "OK"
    await client.logout()


async def connect(backend: LiveBackend, spec: dict) -> dict:
    async with backend.client(backend.admin_token) as client:
        created = await client.post("/api/v1/mailboxes", json=spec)
    assert created.status_code == 201, created.text
    return created.json()


async def texts(backend: LiveBackend) -> list[str]:
    found = []
    for thread in await threads(backend):
        found += [m["text"] for m in await messages(backend, thread["id"])]
    return sorted(found)


async def test_an_edit_is_used_at_once_by_the_relay_the_fetcher_and_the_recipient_check(
    desk: LiveBackend, dovecot: Dovecot
):
    old_relay, new_relay = relay_keeping(), relay_keeping()
    async with old_relay as old_port, new_relay as new_port:
        mailbox = await connect(desk, body(old_port, dovecot.port))
        await forward(desk, USER, 1)
        [thread] = await threads(desk)
        await append(dovecot, "Support")
        async with desk.client(desk.admin_token) as client:
            edited = await client.patch(
                f"/api/v1/mailboxes/{mailbox['id']}",
                json={"address": NEW_ADDRESS, "smtp_port": new_port, "imap_folder": "Support",
                      "imap_poll_seconds": 30, "display_name": "Acme Help"},
            )  # fmt: skip
            assert edited.status_code == 200, edited.text
            listed = (await client.get("/api/v1/mailboxes")).json()["items"]
        assert listed == [edited.json()]
        assert (edited.json()["address"], edited.json()["smtp_port"]) == (NEW_ADDRESS, new_port)
        assert (edited.json()["imap_folder"], edited.json()["imap_poll_seconds"]) == ("Support", 30)
        assert PASSWORD not in edited.text

        # the recipient check follows the address
        with pytest.raises(aiosmtplib.SMTPRecipientsRefused):
            await forward(desk, USER, 2)
        await forward(desk, NEW_ADDRESS, 3)
        # the fetcher follows the folder
        await append(dovecot, "Support", mail_to(NEW_ADDRESS, 4))
        await until(lambda: _has(desk, "body 4"))
        # the next mail goes out through the new relay, from the new address
        await reply(desk, thread["id"], "We are on it.")
        await until(lambda: _received(new_relay))
    assert await texts(desk) == ["We are on it.", "body 1", "body 3", "body 4"]
    assert old_relay.received == []
    ((raw, sender, recipients),) = new_relay.received
    assert (sender, recipients) == (NEW_ADDRESS, [CUSTOMER])
    sent = message_from_bytes(raw, policy=policy.default)
    assert str(sent["From"]) == f"Acme Help <{NEW_ADDRESS}>"


async def _has(backend: LiveBackend, text: str) -> bool:
    return text in await texts(backend)


async def _received(relay: Relaying) -> list:
    return relay.received


async def test_an_edit_on_the_same_server_and_folder_goes_on_where_the_fetcher_stopped(
    desk: LiveBackend, dovecot: Dovecot
):
    async with relay_keeping() as port:
        mailbox = await connect(desk, body(port, dovecot.port))
        await append(dovecot, "INBOX", mail_to(USER, 1))
        await until(lambda: _has(desk, "body 1"))
        assert desk.app is not None
        before = desk.app[SERVICES][FETCHERS].fetchers[USER]
        async with desk.client(desk.admin_token) as client:
            edited = await client.patch(
                f"/api/v1/mailboxes/{mailbox['id']}",
                json={"imap_poll_seconds": 20, "imap_password": PASSWORD},
            )
        assert edited.status_code == 200, edited.text
        after = desk.app[SERVICES][FETCHERS].fetchers[USER]
        assert after is not before  # started again with the new settings
        await append(dovecot, "INBOX", mail_to(USER, 2))
        await until(lambda: _has(desk, "body 2"))
    fetched_again = await desk.store.readers.value(
        "SELECT value FROM counters WHERE name = 'email.duplicate'"
    )
    assert fetched_again is None  # message 1 was not offered to the store again
    assert await texts(desk) == ["body 1", "body 2"]


async def test_a_changed_login_that_fails_is_refused_in_one_line_and_the_old_settings_kept(
    desk: LiveBackend, dovecot: Dovecot, caplog
):
    caplog.set_level(logging.DEBUG)
    relay = relay_keeping()
    async with relay as port:
        mailbox = await connect(desk, body(port, dovecot.port))
        await forward(desk, USER, 1)
        [thread] = await threads(desk)
        path = f"/api/v1/mailboxes/{mailbox['id']}"
        async with desk.client(desk.admin_token) as client:
            wrong_imap = await client.patch(
                path, json={"imap_password": "not-it", "address": NEW_ADDRESS}
            )
            unreachable = await client.patch(path, json={"smtp_port": 1})
            listed = (await client.get("/api/v1/mailboxes")).json()["items"]
            missing = await client.patch("/api/v1/mailboxes/999", json={"display_name": "x"})
        await forward(desk, USER, 2)  # the old address still takes mail
        await reply(desk, thread["id"], "Still here.")
        await until(lambda: _received(relay))  # through the old relay
    assert wrong_imap.status_code == 422
    assert wrong_imap.json()["error"] == {
        "code": "connection_refused",
        "message": f"IMAP 127.0.0.1:{dovecot.port}: login refused for {USER}",
        "field": "imap_host",
    }
    assert "not-it" not in wrong_imap.text
    assert "not-it" not in caplog.text and PASSWORD not in caplog.text
    assert unreachable.status_code == 422
    assert unreachable.json()["error"]["field"] == "smtp_host"
    assert "cannot reach" in unreachable.json()["error"]["message"]
    assert listed == [mailbox]
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "mailbox_not_found"


async def test_only_admins_edit_or_remove_a_mailbox(desk: LiveBackend):
    async with relay_keeping() as port:
        mailbox = await connect(desk, body(port))
    async with desk.client(desk.agent_token) as client:
        edit = await client.patch(f"/api/v1/mailboxes/{mailbox['id']}", json={"display_name": "x"})
        remove = await client.delete(f"/api/v1/mailboxes/{mailbox['id']}")
    for refused in (edit, remove):
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "admin_only"
    async with desk.client(desk.admin_token) as client:
        assert (await client.get("/api/v1/mailboxes")).json()["items"] == [mailbox]


async def test_a_removed_mailbox_keeps_its_threads_refuses_mail_and_sends_nothing(
    desk: LiveBackend,
):
    attempts: list[int] = []

    async def busy(raw: bytes, sender: str, recipients: list[str]) -> None:
        attempts.append(1)
        raise OSError("busy")  # answered 451: tried again later

    relay = relay_keeping(busy)
    async with relay as port:
        mailbox = await connect(desk, body(port))
        await forward(desk, USER, 1)
        [thread] = await threads(desk)
        assert desk.app is not None
        desk.app[SERVICES][OUTBOX].retry_delays = (60.0,)
        async with LiveClient.connect(desk, desk.admin_token) as live:
            queued = await reply(desk, thread["id"], "Queued before the removal")
            await until(lambda: _tried(attempts))
            async with desk.client(desk.admin_token) as client:
                removed = await client.delete(f"/api/v1/mailboxes/{mailbox['id']}")
                assert removed.status_code == 204, removed.text
            failed = await _failed(live, queued["id"])
    assert failed["error_message"] == (
        f"Not sent: the mailbox {USER} was disconnected before it went out."
    )
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
        await forward(desk, USER, 2)
    [refusal] = refused.value.recipients
    assert refusal.code == 550 and "takes no mail for that address" in refusal.message

    path = f"/api/v1/threads/{thread['id']}"
    async with desk.client(desk.admin_token) as client:
        await client.put(f"{path}/draft", json={"text": "my draft"})
        answered = await client.post(f"{path}/messages", json={"kind": "text", "text": "Hi"})
        draft = await client.get(f"{path}/draft")
        listed = (await client.get("/api/v1/mailboxes")).json()["items"]
        found = await client.get("/api/v1/search", params={"q": "body"})
        again = await client.delete(f"/api/v1/mailboxes/{mailbox['id']}")
    assert answered.status_code == 422
    assert answered.json()["error"]["code"] == "mailbox_removed"
    assert answered.json()["error"]["message"].startswith(f"The mailbox {USER} was disconnected")
    assert draft.json()["text"] == "my draft"
    assert listed == []
    assert found.status_code == 200 and "body 1" in found.text
    assert again.status_code == 404
    assert "body 1" in [m["text"] for m in await messages(desk, thread["id"])]
    assert len(attempts) == 1  # never tried again after the removal


async def _tried(attempts: list[int]) -> bool:
    return bool(attempts)


async def _failed(live: LiveClient, message_id: int) -> dict:
    while True:
        frame = await live.next_of("message.updated", timeout=15)
        if frame["data"]["id"] == message_id and frame["data"]["status"] == "failed":
            return frame["data"]


async def test_connecting_a_removed_address_again_brings_its_threads_back(desk: LiveBackend):
    relay = relay_keeping()
    async with relay as port:
        mailbox = await connect(desk, body(port))
        await forward(desk, USER, 1)
        [thread] = await threads(desk)
        async with desk.client(desk.admin_token) as client:
            assert (await client.delete(f"/api/v1/mailboxes/{mailbox['id']}")).status_code == 204
        again = await connect(desk, body(port))
        await forward(desk, USER, 2)
        await reply(desk, thread["id"], "Welcome back.")
        await until(lambda: _received(relay))
    assert again["id"] == mailbox["id"]
    assert {"body 1", "Welcome back."} <= {m["text"] for m in await messages(desk, thread["id"])}
    assert "body 2" in await texts(desk)  # the listener takes its mail again
    [(_, sender, _)] = relay.received
    assert sender == USER


async def test_a_view_filtering_by_a_removed_mailbox_still_shows_its_threads(desk: LiveBackend):
    async with relay_keeping() as port:
        mailbox = await connect(desk, body(port))
    await forward(desk, USER, 1)
    [thread] = await threads(desk)
    filters = [{"property": "business_number", "operator": "is_any_of", "values": [USER]}]
    async with desk.client(desk.admin_token) as client:
        view = (await client.post("/api/v1/views", json={"name": "v", "filters": filters})).json()
        removed = await client.delete(f"/api/v1/mailboxes/{mailbox['id']}")
        page = await client.get("/api/v1/threads", params={"view": view["id"]})
    assert removed.status_code == 204
    assert [t["id"] for t in page.json()["items"]] == [thread["id"]]


async def test_a_mailbox_of_the_settings_file_is_changed_there_not_removed_here(
    tmp_path: Path,
):
    backend = LiveBackend(tmp_path / "data", overrides={"email": {"addresses": [USER]}})
    await backend.start()
    try:
        await backend.seed_agents()
        async with backend.client(backend.admin_token) as client:
            [mailbox] = (await client.get("/api/v1/mailboxes")).json()["items"]
            removed = await client.delete(f"/api/v1/mailboxes/{mailbox['id']}")
            renamed = await client.patch(
                f"/api/v1/mailboxes/{mailbox['id']}", json={"address": NEW_ADDRESS}
            )
            named = await client.patch(
                f"/api/v1/mailboxes/{mailbox['id']}", json={"display_name": "Acme"}
            )
    finally:
        await backend.stop()
    for refused in (removed, renamed):
        assert refused.status_code == 409
        assert refused.json()["error"]["code"] == "mailbox_configured"
    assert named.status_code == 200 and named.json()["display_name"] == "Acme"


# ------------------------------------------------------------------ the admin command


async def test_the_admin_command_edits_and_removes_a_mailbox_and_a_running_server_follows(
    desk: LiveBackend, capsys, monkeypatch
):
    monkeypatch.delenv("TTYDESK_SMTP_PASSWORD", raising=False)
    old_relay, new_relay = relay_keeping(), relay_keeping()
    async with old_relay as old_port, new_relay as new_port:
        await connect(desk, body(old_port))
        await forward(desk, USER, 1)
        [thread] = await threads(desk)
        code, out, err = await run_cli(
            desk,
            ["admin", "channel", "edit", "email", "--address", USER, "--new-address",
             NEW_ADDRESS, "--smtp-port", str(new_port)],
            capsys,
        )  # fmt: skip
        assert code == 0, err
        assert out.startswith(f"mailbox 1: {NEW_ADDRESS} saved")
        await until(lambda: _refused(desk, USER))  # the running server follows
        await reply(desk, thread["id"], "From the new address.")
        await until(lambda: _received(new_relay))

        refused_port = await run_cli(
            desk, ["admin", "channel", "edit", "email", "--address", NEW_ADDRESS,
                   "--smtp-port", "1"], capsys,
        )  # fmt: skip
        code, out, err = await run_cli(
            desk, ["admin", "channel", "remove", "email", "--address", NEW_ADDRESS], capsys
        )
        assert code == 0, err
        assert "disconnected; its threads are kept" in out
        await until(lambda: _refused(desk, NEW_ADDRESS))
        missing = await run_cli(
            desk, ["admin", "channel", "remove", "email", "--address", NEW_ADDRESS], capsys
        )
    assert refused_port[0] == 1
    assert refused_port[2].startswith("ttydesk: not saved: SMTP relay 127.0.0.1:1: cannot reach")
    assert missing[0] == 1 and missing[2] == f"ttydesk: There is no mailbox '{NEW_ADDRESS}'.\n"
    assert old_relay.received == []
    [(_, sender, _)] = new_relay.received
    assert sender == NEW_ADDRESS
    assert "body 1" in await texts(desk)


async def _refused(backend: LiveBackend, address: str) -> bool:
    try:
        await forward(backend, address, 99)
    except aiosmtplib.SMTPRecipientsRefused:
        return True
    except aiosmtplib.SMTPDataError as refused:
        # the recipient still taken (not followed yet), the mail refused by the store
        assert refused.code == 550, refused
    return False


async def test_a_mailbox_connected_by_the_admin_command_is_fetched_by_a_running_server(
    desk: LiveBackend, dovecot: Dovecot, capsys, monkeypatch
):
    monkeypatch.setenv("TTYDESK_IMAP_PASSWORD", PASSWORD)
    argv = ["admin", "channel", "connect", "email", "--address", USER, "--imap-host",
            "127.0.0.1", "--imap-port", str(dovecot.port), "--imap-plain"]  # fmt: skip
    code, out, err = await run_cli(desk, argv, capsys)
    assert code == 0, err
    assert "a running server follows within a few seconds" in out
    await append(dovecot, "INBOX", mail_to(USER, 1))
    await until(lambda: _has(desk, "body 1"))  # no restart


async def test_removing_a_mailbox_and_connecting_it_again_is_told_live_and_by_send_price(
    desk: LiveBackend,
):
    mailbox = await desk.store.connect_mailbox(USER, "Acme Support", {})
    stored = await desk.store.ingest_email(
        EmailRecord(message_id="<sp@example.com>", mailbox=USER, sender="ana@example.com",
                    subject="Hello", text="Hi there", to=(USER,))
    )  # fmt: skip
    price = f"/api/v1/threads/{stored.thread_id}/send-price"
    async with desk.client(desk.agent_token) as client:
        assert (await client.get(price)).json()["mailbox_removed"] is False
        async with LiveClient.connect(desk, desk.agent_token) as live:
            async with desk.client(desk.admin_token) as admin:
                removed = await admin.delete(f"/api/v1/mailboxes/{mailbox.id}")
                assert removed.status_code == 204
            told = (await live.next_of("mailbox.updated", timeout=10))["data"]
            assert told == {"id": mailbox.id, "address": USER, "removed": True}
            assert (await client.get(price)).json()["mailbox_removed"] is True
            await desk.store.connect_mailbox(USER, "Acme Support", {})
            told = (await live.next_of("mailbox.updated", timeout=10))["data"]
            assert told == {"id": mailbox.id, "address": USER, "removed": False}
        assert (await client.get(price)).json()["mailbox_removed"] is False


async def test_a_mail_whose_recipient_was_taken_before_the_removal_is_refused_not_stored(
    desk: LiveBackend,
):
    async with relay_keeping() as port:
        mailbox = await connect(desk, body(port))
    await forward(desk, USER, 1)  # the receiver knows the address from now on
    assert desk.app is not None
    listener_port = desk.app[SERVICES][LISTENER].sockets[0].getsockname()[1]
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=listener_port)
    await client.connect()
    try:
        await client.mail(CUSTOMER)
        await client.rcpt(USER)  # taken: the mailbox is still there
        async with desk.client(desk.admin_token) as api:
            assert (await api.delete(f"/api/v1/mailboxes/{mailbox['id']}")).status_code == 204
        with pytest.raises(aiosmtplib.SMTPDataError) as refused:
            await client.data(mail_to(USER, 2))
    finally:
        client.close()
    # refused for good: the forwarding server returns it to the sender, nothing is lost
    assert refused.value.code == 550
    assert "takes no mail for that address" in refused.value.message
    assert await texts(desk) == ["body 1"]


async def test_a_send_refused_for_now_after_its_mailbox_was_removed_fails_and_is_not_retried(
    tmp_path: Path,
):
    on_the_wire, removed = asyncio.Event(), asyncio.Event()
    attempts: list[int] = []

    async def busy_until_removed(raw: bytes, sender: str, recipients: list[str]) -> None:
        attempts.append(1)
        if len(attempts) == 1:
            on_the_wire.set()
            await removed.wait()
            raise OSError("busy")  # answered 451: tried again later
        relay.received.append((raw, sender, recipients))

    relay = relay_keeping(busy_until_removed)
    async with relay as port:
        # the [email] relay is the same server: a retry has a relay to go out through
        desk = LiveBackend(
            tmp_path / "data",
            overrides={"email": {"addresses": [], "listen_port": 0, "relay_host": "127.0.0.1",
                                 "relay_port": port, "relay_starttls": False}},
        )  # fmt: skip
        await desk.start()
        await desk.seed_agents()
        try:
            assert desk.app is not None
            desk.app[SERVICES][OUTBOX].retry_delays = (0.05, 0.05)
            mailbox = await connect(desk, body(port))
            await forward(desk, USER, 1)
            [thread] = await threads(desk)
            async with LiveClient.connect(desk, desk.admin_token) as live:
                queued = await reply(desk, thread["id"], "On the wire at the removal")
                await on_the_wire.wait()
                async with desk.client(desk.admin_token) as client:
                    gone = await client.delete(f"/api/v1/mailboxes/{mailbox['id']}")
                    assert gone.status_code == 204, gone.text
                removed.set()
                done = await settled(live, queued["id"])
        finally:
            await desk.stop()
    assert done["status"] == "failed"
    assert done["error_message"] == (
        f"Not sent: the mailbox {USER} was disconnected before it went out."
    )
    assert (len(attempts), relay.received) == (1, [])


async def test_an_edit_is_told_live_with_the_new_address(desk: LiveBackend):
    async with relay_keeping() as port:
        mailbox = await connect(desk, body(port))
        async with LiveClient.connect(desk, desk.agent_token) as live:
            async with desk.client(desk.admin_token) as admin:
                edited = await admin.patch(
                    f"/api/v1/mailboxes/{mailbox['id']}",
                    json={"address": NEW_ADDRESS, "display_name": "Acme Help"},
                )
                assert edited.status_code == 200, edited.text
            told = (await live.next_of("mailbox.updated", timeout=10))["data"]
    assert told == {"id": mailbox["id"], "address": NEW_ADDRESS, "removed": False}


async def test_an_edit_to_another_mailboxs_address_is_refused_and_nothing_changes(
    desk: LiveBackend,
):
    first = await desk.store.connect_mailbox(USER, "Acme Support", {})
    await desk.store.connect_mailbox(NEW_ADDRESS, "Acme Help", {})
    gone = await desk.store.connect_mailbox("old@acme.test", None, {})
    await desk.store.remove_mailbox(gone.id)
    async with desk.client(desk.admin_token) as client:
        before = (await client.get("/api/v1/mailboxes")).json()["items"]
        taken = await client.patch(
            f"/api/v1/mailboxes/{first.id}", json={"address": NEW_ADDRESS.upper()}
        )
        disconnected = await client.patch(
            f"/api/v1/mailboxes/{first.id}", json={"address": "old@acme.test"}
        )
        after = (await client.get("/api/v1/mailboxes")).json()["items"]
    assert taken.status_code == 409
    assert taken.json()["error"] == {
        "code": "mailbox_exists",
        "message": f"{NEW_ADDRESS} is already another mailbox.",
        "field": "address",
    }
    assert disconnected.status_code == 409
    assert disconnected.json()["error"]["message"] == (
        "old@acme.test is already another mailbox (disconnected: connect it again instead)."
    )
    assert after == before


async def test_a_password_left_out_of_an_edit_is_kept_and_one_never_saved_is_asked_for(
    desk: LiveBackend, dovecot: Dovecot
):
    async with relay_keeping() as port:
        mailbox = await connect(desk, body(port))  # a relay without login, no IMAP
        await append(dovecot, "Support")
        path = f"/api/v1/mailboxes/{mailbox['id']}"
        imap = {"imap_host": "127.0.0.1", "imap_port": dovecot.port, "imap_tls": False}
        async with desk.client(desk.admin_token) as client:
            no_imap_password = await client.patch(path, json=imap)
            no_relay_password = await client.patch(path, json={"smtp_user": "relay-user"})
            unchanged = (await client.get("/api/v1/mailboxes")).json()["items"]
            with_imap = await client.patch(path, json={**imap, "imap_password": PASSWORD})
            # the saved password is kept: the changed folder's login is tried with it
            folder = await client.patch(path, json={"imap_folder": "Support"})
    assert no_imap_password.status_code == 422
    assert no_imap_password.json()["error"] == {
        "code": "invalid_field",
        "message": "The IMAP password is missing.",
        "field": "imap_password",
    }
    assert no_relay_password.status_code == 422
    assert no_relay_password.json()["error"]["field"] == "smtp_password"
    assert unchanged == [mailbox]
    assert with_imap.status_code == 200, with_imap.text
    assert folder.status_code == 200, folder.text
    assert folder.json()["imap_folder"] == "Support"
    [saved] = await desk.store.mailbox_connections()
    assert saved.settings["imap"]["password"] == PASSWORD


async def test_the_admin_command_drops_imap_or_the_relay_and_refuses_a_contradiction(
    desk: LiveBackend, dovecot: Dovecot, capsys, monkeypatch
):
    monkeypatch.delenv("TTYDESK_IMAP_PASSWORD", raising=False)
    monkeypatch.delenv("TTYDESK_SMTP_PASSWORD", raising=False)
    async with relay_keeping() as port:
        await connect(desk, body(port, dovecot.port))
        both = await run_cli(
            desk, ["admin", "channel", "edit", "email", "--address", USER, "--no-imap",
                   "--imap-folder", "Support"], capsys,
        )  # fmt: skip
        relay_too = await run_cli(
            desk, ["admin", "channel", "edit", "email", "--address", USER, "--no-relay",
                   "--smtp-port", str(port)], capsys,
        )  # fmt: skip
        [kept] = await desk.store.mailbox_connections()
        no_imap = await run_cli(
            desk, ["admin", "channel", "edit", "email", "--address", USER, "--no-imap"], capsys
        )
        no_relay = await run_cli(
            desk, ["admin", "channel", "edit", "email", "--address", USER, "--no-relay"], capsys
        )
        [left] = await desk.store.mailbox_connections()
    assert both[0] == 2 and both[1] == ""
    assert (
        both[2]
        == "ttydesk: --no-imap stops fetching: give no --imap-* or --poll-seconds option with it.\n"
    )
    assert relay_too[0] == 2
    assert relay_too[2] == "ttydesk: --no-relay drops the relay: give no --smtp-* option with it.\n"
    assert set(kept.settings) >= {"imap", "relay"}  # the refused edits changed nothing
    assert no_imap[0] == 0 and no_imap[1].startswith(f"mailbox {kept.mailbox.id}: {USER} saved")
    assert no_relay[0] == 0, no_relay[2]
    assert not left.settings.get("imap") and not left.settings.get("relay")

"""`ttydesk admin channel connect email`: the IMAP login (a real dovecot) and the relay's
login (a real aiosmtpd with AUTH) are tried before anything is saved; a failure is one
line naming what failed and saves nothing; a saved mailbox is fetched from and replied
through once the server starts."""

from __future__ import annotations

import asyncio
import logging
from email import message_from_bytes, policy

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword

from backend.cli import build_parser
from backend.email.smtp_listener import SupportMailbox
from backend.store import SqliteStore
from tests.email.dovecot import PASSWORD, USER
from tests.email.test_imap_fetch import deliver, mail
from tests.email.test_inbound_wiring import messages, threads
from tests.email.test_outbound import reply
from tests.email.test_smtp_send import Relaying
from tests.support import REFUSED_PORT, LiveBackend

RELAY_USER, RELAY_PASSWORD = "relay-user", "relay-secret-4711"


def relay_with_login(**options) -> Relaying:
    """A relay on this machine that wants a login (no TLS: it is local)."""

    def authenticate(server, session, envelope, mechanism, data) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            RELAY_USER.encode(),
            RELAY_PASSWORD.encode(),
        )
        return AuthResult(success=ok, handled=False)

    relay = Relaying(authenticator=authenticate, auth_required=True,
                     auth_require_tls=False, **options)  # fmt: skip

    async def keep(raw: bytes, sender: str, recipients: list[str]) -> None:
        relay.received.append((raw, sender, recipients))

    relay.mailbox = SupportMailbox(keep, ["ana@example.com"])
    return relay


def connect_args(imap_port: int, smtp_port: int, *extra: str) -> list[str]:
    return [
        "admin", "channel", "connect", "email", "--address", USER,
        "--display-name", "Acme Support",
        "--imap-host", "127.0.0.1", "--imap-port", str(imap_port), "--imap-plain",
        "--smtp-host", "127.0.0.1", "--smtp-port", str(smtp_port), "--smtp-user", RELAY_USER,
        "--smtp-no-starttls", *extra,
    ]  # fmt: skip


async def run_cli(backend: LiveBackend, argv: list[str], capsys) -> tuple[int, str, str]:
    args = build_parser().parse_args(argv)
    code = await asyncio.to_thread(args.func, args, backend.settings)
    out = capsys.readouterr()
    return code, out.out, out.err


async def saved(backend: LiveBackend) -> list:
    store = SqliteStore(backend.settings.database_path)
    await store.open()
    try:
        return await store.mailbox_connections()
    finally:
        await store.close()


@pytest.fixture
def passwords(monkeypatch):
    monkeypatch.setenv("TTYDESK_IMAP_PASSWORD", PASSWORD)
    monkeypatch.setenv("TTYDESK_SMTP_PASSWORD", RELAY_PASSWORD)
    return monkeypatch


async def test_a_working_mailbox_is_saved_then_fetched_from_and_replied_through(
    tmp_path, dovecot, passwords, capsys, caplog
):
    caplog.set_level(logging.DEBUG)
    backend = LiveBackend(tmp_path / "data")
    relay = relay_with_login()
    async with relay as smtp_port:
        code, out, err = await run_cli(backend, connect_args(dovecot.port, smtp_port), capsys)
        assert code == 0, err
        assert f"{USER} connected" in out
        for text in (out, err, caplog.text):
            assert PASSWORD not in text and RELAY_PASSWORD not in text
        (connection,) = await saved(backend)
        assert connection.mailbox.address == USER
        assert connection.mailbox.display_name == "Acme Support"
        assert connection.settings["imap"]["port"] == dovecot.port
        assert connection.settings["relay"]["user"] == RELAY_USER

        await deliver(dovecot, mail(1))
        await backend.start()
        try:
            await backend.seed_agents()
            found = await until(lambda: threads(backend))
            assert (found[0]["channel_type"], found[0]["ticket"]["subject"]) == (
                "EMAIL",
                "number 1",
            )
            assert (await messages(backend, found[0]["id"]))[0]["text"] == "body 1"
            sent = await reply(backend, found[0]["id"], "We are on it.")
            await until(lambda: _received(relay))
        finally:
            await backend.stop()
    ((raw, sender, recipients),) = relay.received
    assert (sender, recipients) == (USER, ["ana@example.com"])
    assert (
        "We are on it." in message_from_bytes(raw, policy=policy.default).get_body().get_content()
    )
    assert sent["status"] == "queued"


async def _received(relay: Relaying) -> list:
    return relay.received


async def until(probe, timeout: float = 20.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        found = await probe()
        if found:
            return found
        assert asyncio.get_running_loop().time() < deadline, "not seen in time"
        await asyncio.sleep(0.05)


async def test_a_wrong_imap_password_is_refused_in_one_line_and_nothing_saved(
    tmp_path, dovecot, passwords, capsys
):
    passwords.setenv("TTYDESK_IMAP_PASSWORD", "not-the-password")
    backend = LiveBackend(tmp_path / "data")
    async with relay_with_login() as smtp_port:
        code, out, err = await run_cli(backend, connect_args(dovecot.port, smtp_port), capsys)
    assert code == 1 and out == ""
    assert err == f"ttydesk: not saved: IMAP 127.0.0.1:{dovecot.port}: login refused for {USER}\n"
    assert "not-the-password" not in err
    assert await saved(backend) == []


async def test_a_wrong_relay_password_is_refused_in_one_line_and_nothing_saved(
    tmp_path, dovecot, passwords, capsys
):
    passwords.setenv("TTYDESK_SMTP_PASSWORD", "guess")
    backend = LiveBackend(tmp_path / "data")
    async with relay_with_login() as smtp_port:
        code, _, err = await run_cli(backend, connect_args(dovecot.port, smtp_port), capsys)
    assert code == 1
    assert err == (
        f"ttydesk: not saved: SMTP relay 127.0.0.1:{smtp_port}: login refused for {RELAY_USER}\n"
    )
    assert await saved(backend) == []


async def test_unreachable_hosts_are_refused_and_nothing_saved(
    tmp_path, dovecot, passwords, capsys
):
    backend = LiveBackend(tmp_path / "data")
    async with relay_with_login() as smtp_port:
        code, _, imap_err = await run_cli(backend, connect_args(REFUSED_PORT, smtp_port), capsys)
        assert code == 1
    code, _, smtp_err = await run_cli(backend, connect_args(dovecot.port, REFUSED_PORT), capsys)
    assert code == 1
    assert imap_err.startswith(f"ttydesk: not saved: IMAP 127.0.0.1:{REFUSED_PORT}: cannot reach")
    assert smtp_err.startswith(
        f"ttydesk: not saved: SMTP relay 127.0.0.1:{REFUSED_PORT}: cannot reach"
    )
    assert imap_err.count("\n") == smtp_err.count("\n") == 1
    assert await saved(backend) == []


async def test_a_relay_without_starttls_is_refused_unless_it_is_turned_off(
    tmp_path, dovecot, passwords, capsys
):
    backend = LiveBackend(tmp_path / "data")
    argv = connect_args(dovecot.port, 0)
    argv.remove("--smtp-no-starttls")
    async with relay_with_login() as smtp_port:
        argv[argv.index("0")] = str(smtp_port)
        code, _, err = await run_cli(backend, argv, capsys)
    assert code == 1
    assert err.startswith(f"ttydesk: not saved: SMTP relay 127.0.0.1:{smtp_port}: does not offer")
    assert await saved(backend) == []


async def test_passwords_are_never_taken_from_the_command_line(
    tmp_path, dovecot, capsys, monkeypatch
):
    monkeypatch.delenv("TTYDESK_IMAP_PASSWORD", raising=False)
    backend = LiveBackend(tmp_path / "data")
    with pytest.raises(SystemExit):
        build_parser().parse_args([*connect_args(dovecot.port, 25), "--imap-password", "x"])
    code, _, err = await run_cli(backend, connect_args(dovecot.port, 25), capsys)
    assert code == 2 and "TTYDESK_IMAP_PASSWORD" in err
    assert await saved(backend) == []


# ------------------------------------------------------------------ the API (admin)


def api_body(imap_port: int, smtp_port: int, **changes) -> dict:
    return {
        "address": USER,
        "display_name": "Acme Support",
        "imap_host": "127.0.0.1",
        "imap_port": imap_port,
        "imap_tls": False,
        "imap_password": PASSWORD,
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp_port,
        "smtp_starttls": False,
        "smtp_user": RELAY_USER,
        "smtp_password": RELAY_PASSWORD,
        **changes,
    }


async def test_the_api_connects_a_mailbox_after_the_logins_and_never_returns_a_password(
    tmp_path, dovecot, caplog
):
    caplog.set_level(logging.DEBUG)
    backend = LiveBackend(tmp_path / "data")
    await backend.start()
    try:
        await backend.seed_agents()
        async with relay_with_login() as smtp_port, backend.client(backend.admin_token) as client:
            created = await client.post("/api/v1/mailboxes", json=api_body(dovecot.port, smtp_port))
            assert created.status_code == 201, created.text
            listed = await client.get("/api/v1/mailboxes")
            audit = await client.get("/api/v1/audit")
        assert listed.status_code == 200
        entry = next(e for e in audit.json()["items"] if e["action"] == "mailbox.connect")
        assert entry["actor_id"] == backend.admin.id
        assert PASSWORD not in audit.text and RELAY_PASSWORD not in audit.text
        (mailbox,) = listed.json()["items"]
        assert mailbox == created.json()
        assert (
            mailbox["type"],
            mailbox["address"],
            mailbox["imap_host"],
            mailbox["smtp_user"],
        ) == (
            "EMAIL",
            USER,
            "127.0.0.1",
            RELAY_USER,
        )
        for text in (created.text, listed.text, audit.text, caplog.text):
            assert PASSWORD not in text and RELAY_PASSWORD not in text
    finally:
        await backend.stop()


async def test_the_api_refuses_a_failed_login_in_one_line_saves_nothing_and_only_for_admins(
    tmp_path, dovecot
):
    backend = LiveBackend(tmp_path / "data")
    await backend.start()
    try:
        await backend.seed_agents()
        async with relay_with_login() as smtp_port:
            async with backend.client(backend.admin_token) as client:
                refused = await client.post(
                    "/api/v1/mailboxes",
                    json=api_body(dovecot.port, smtp_port, smtp_password="guess"),
                )
                unreachable = await client.post(
                    "/api/v1/mailboxes", json=api_body(REFUSED_PORT, smtp_port)
                )
                bad_host = await client.post(
                    "/api/v1/mailboxes", json=api_body(dovecot.port, smtp_port, imap_host="a b\x00")
                )
                listed = await client.get("/api/v1/mailboxes")
            async with backend.client(backend.agent_token) as client:
                forbidden = await client.post(
                    "/api/v1/mailboxes", json=api_body(dovecot.port, smtp_port)
                )
                not_listed = await client.get("/api/v1/mailboxes")
    finally:
        await backend.stop()
    assert refused.status_code == 422
    assert refused.json()["error"] == {
        "code": "connection_refused",
        "message": f"SMTP relay 127.0.0.1:{smtp_port}: login refused for {RELAY_USER}",
        "field": "smtp_host",
    }
    assert "guess" not in refused.text
    assert unreachable.status_code == 422
    assert unreachable.json()["error"]["field"] == "imap_host"
    assert "cannot reach" in unreachable.json()["error"]["message"]
    assert bad_host.status_code == 422 and bad_host.json()["error"]["field"] == "imap_host"
    assert listed.json()["items"] == []
    assert forbidden.status_code == not_listed.status_code == 403
    assert await saved(backend) == []


async def test_a_relay_whose_certificate_is_not_trusted_is_refused_as_tls(
    tmp_path, dovecot, passwords, capsys, certificate
):
    backend = LiveBackend(tmp_path / "data")
    argv = connect_args(dovecot.port, 0)
    argv.remove("--smtp-no-starttls")
    async with relay_with_login(tls_context=certificate) as smtp_port:  # self-signed
        argv[argv.index("0")] = str(smtp_port)
        code, _, err = await run_cli(backend, argv, capsys)
    assert code == 1
    assert err.startswith(f"ttydesk: not saved: SMTP relay 127.0.0.1:{smtp_port}: TLS failed")
    assert err.count("\n") == 1
    assert await saved(backend) == []


async def test_a_mailbox_connected_while_the_server_runs_takes_forwarded_mail_at_once(
    tmp_path, dovecot
):
    import aiosmtplib

    from backend.email.channel import LISTENER
    from backend.keys import SERVICES

    backend = LiveBackend(
        tmp_path / "data",
        overrides={"email": {"addresses": ["sales@acme.test"], "listen_port": 0}},
    )
    await backend.start()
    try:
        await backend.seed_agents()
        assert backend.app is not None
        port = backend.app[SERVICES][LISTENER].sockets[0].getsockname()[1]
        forwarded = mail(1)  # to USER, not yet a support address

        async def forward() -> None:
            await aiosmtplib.send(
                forwarded, sender="ana@example.com", recipients=[USER],
                hostname="127.0.0.1", port=port,
            )  # fmt: skip

        with pytest.raises(aiosmtplib.SMTPRecipientsRefused):
            await forward()
        async with relay_with_login() as smtp_port, backend.client(backend.admin_token) as client:
            created = await client.post("/api/v1/mailboxes", json=api_body(dovecot.port, smtp_port))
            assert created.status_code == 201, created.text
        await forward()  # no restart
        [thread] = await threads(backend)
        [message] = await messages(backend, thread["id"])
        assert message["text"] == "body 1"
    finally:
        await backend.stop()


async def test_a_mailbox_connected_while_the_server_runs_is_fetched_from_and_replied_through(
    tmp_path, dovecot
):
    from tests.backend.wsclient import LiveClient

    backend = LiveBackend(tmp_path / "data")
    relay = relay_with_login()
    await backend.start()
    try:
        await backend.seed_agents()
        async with relay as smtp_port:
            async with backend.client(backend.admin_token) as client:
                body = api_body(dovecot.port, smtp_port)
                created = await client.post("/api/v1/mailboxes", json=body)
                assert created.status_code == 201, created.text
            async with LiveClient.connect(backend, backend.admin_token) as live:
                await deliver(dovecot, mail(1))  # no restart
                created_message = await live.next_of("message.created", timeout=30)
            assert created_message["data"]["text"] == "body 1"
            [thread] = await threads(backend)
            assert [m["text"] for m in await messages(backend, thread["id"])] == ["body 1"]
            await reply(backend, thread["id"], "We are on it.")
            await until(lambda: _received(relay))  # through the mailbox's own relay
    finally:
        await backend.stop()
    ((raw, sender, recipients),) = relay.received
    assert (sender, recipients) == (USER, ["ana@example.com"])

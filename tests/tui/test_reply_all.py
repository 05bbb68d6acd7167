"""Who an e-mail reply copies in (``tui.widgets.composer.reply_all_cc``): everyone else
the thread's newest mail was for, as a mail client's "reply all", never our own."""

from datetime import UTC, datetime

from backend.schemas import Message
from tui.widgets.composer import reply_all_cc

AT = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
SUPPORT = "support@acme.test"


def mail(direction: str, sender: str, to=(), cc=(), id: int = 1) -> Message:  # noqa: A002
    email = {"subject": "Order", "sender": sender, "to": list(to), "cc": list(cc)}
    return Message.model_validate(
        {"id": id, "thread_id": 1, "direction": direction, "kind": "text", "created_at": AT,
         "email": email}
    )  # fmt: skip


def test_the_newest_mails_sender_to_and_cc_less_the_recipient_and_our_addresses():
    newest = mail("in", "Ops@Example.com", to=[SUPPORT, "boss@example.com"],
                  cc=["lucia@example.com", "BOSS@example.com", "sales@acme.test"], id=3)  # fmt: skip
    messages = [
        mail("in", "lucia@example.com", to=[SUPPORT], cc=["old@example.com"], id=1),
        mail("out", "help@acme.eu", to=["lucia@example.com"], id=2),  # an address of ours
        newest,
    ]
    assert reply_all_cc(messages, "Lucia@example.com", SUPPORT) == (
        "Ops@Example.com",
        "boss@example.com",
    )


def test_no_mail_or_only_ours_copies_in_nobody():
    assert reply_all_cc([], "lucia@example.com", SUPPORT) == ()
    ours = [mail("out", SUPPORT, to=["lucia@example.com"], cc=["boss@example.com"])]
    assert reply_all_cc(ours, "lucia@example.com", SUPPORT) == ()  # (its Cc was the agent's)
    plain = [mail("in", "lucia@example.com", to=[SUPPORT])]
    assert reply_all_cc(plain, "lucia@example.com", SUPPORT) == ()


def test_what_is_not_an_address_is_left_out():
    odd = [mail("in", "lucia@example.com", to=[SUPPORT, "undisclosed-recipients:;", ""])]
    assert reply_all_cc(odd, "lucia@example.com", SUPPORT) == ()

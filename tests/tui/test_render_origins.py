"""Where a message came from, on the message: the ad the customer tapped, the product
asked about. Ad text is the advertiser's and the customer's context: data, never markup."""

from datetime import UTC, datetime

from backend.schemas import Message
from tui import render

AT = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)


def message(**fields) -> Message:
    base = {"id": 1, "thread_id": 1, "direction": "in", "kind": "text", "created_at": AT}
    return Message.model_validate({**base, **fields})


def test_a_message_from_an_ad_says_which_ad():
    text = render.body(
        message(
            text="size 38?",
            referral={
                "source_type": "ad",
                "source_id": "1234",
                "headline": "Winter sale",
                "body": "Boots at half price",
            },
        )
    ).plain
    assert text == "📣 From ad: Winter sale (ad 1234)\nBoots at half price\nsize 38?"


def test_ad_text_is_data_not_markup():
    rendered = render.body(
        message(
            text="hi",
            referral={"source_type": "post", "source_id": "9", "headline": "[red]x[/red]\x1b[2J"},
        )
    )
    assert rendered.plain.startswith("📣 From post: [red]x[/red]␛[2J (post 9)\n")
    assert not any("red" in str(span.style) for span in rendered.spans)


def test_a_product_enquiry_names_the_product():
    text = render.body(
        message(
            text="in stock?",
            referred_product={"catalog_id": "881", "product_retailer_id": "boot-38"},
        )
    ).plain
    assert text == "🛍 Asked about product boot-38 (catalog 881)\nin stock?"


def test_a_flow_answer_lists_its_fields_and_a_security_code_change_says_so():
    text = render.body(
        message(
            kind="interactive_reply",
            text="rating: 4",
            form=[{"name": "rating", "value": "4"}, {"name": "note", "value": "[b]late[/b]"}],
        )
    ).plain
    assert text == "📝 Form answer\n• rating: 4\n• note: [b]late[/b]"
    assert render.body(message(kind="event", event="identity_key_changed")).plain == (
        "— The contact's security code changed (WhatsApp reinstalled or a new phone) —"
    )


def test_a_message_sent_from_the_business_app_says_so():
    sent = message(direction="out", text="on its way", status="sent", sent_from_phone=True)
    line = render.header_line(sent, contact_name="Maria", agent_name=lambda _: "").plain
    assert line.startswith("◂ WhatsApp Business app · ")
    assert "· sent from the phone" in line


async def test_the_message_log_shows_the_ad_and_product_lines_at_80_columns():
    from tests.tui.backend_fixtures import screen_text
    from tests.tui.test_message_log import LogApp
    from tui.widgets.message_log import MessageLog

    newest_first = [
        message(
            id=2,
            text="in stock?",
            referred_product={"catalog_id": "881", "product_retailer_id": "boot-38"},
        ),
        message(
            id=1,
            text="size 38?",
            referral={"source_type": "ad", "source_id": "1234", "headline": "[b]Winter[/b] sale"},
        ),
    ]
    app = LogApp()
    async with app.run_test(size=(80, 24)) as pilot:
        log = app.query_one(MessageLog)
        log.set_messages(newest_first, has_older=False)
        await pilot.pause()
        shown = screen_text(app)
        assert "📣 From ad: [b]Winter[/b] sale (ad 1234)" in shown
        assert "🛍 Asked about product boot-38 (catalog 881)" in shown

"""The store keeps what was asked and what happened; a channel speaks to its provider.

WhatsApp's request bodies are built in ``backend/whatsapp/graph_bodies.py`` from the
store's ``OutboundRequest``: no Graph API field name is written in the store's code
(import-linter keeps the store from importing the channels; this keeps it from copying
them). And the request the store keeps reads back whole, every field, e-mail's too.
"""

from __future__ import annotations

import ast
from pathlib import Path

from backend.store import (
    FilledTemplate,
    OutboundMedia,
    OutboundRequest,
    Recipient,
    TemplateValue,
)
from backend.store.outbox_rows import (
    decode_request,
    encode_request,
    message_id_from_reference,
    send_reference,
)

STORE = Path(__file__).resolve().parents[2] / "backend" / "store"
# the fields of a Graph API send body that only a request builder writes
GRAPH_SEND_FIELDS = (
    "messaging_product",
    "recipient_type",
    "biz_opaque_callback_data",
    "preview_url",
    "parameter_name",
    "sub_type",
)
# a template's definition as Meta lists it is kept as synced, in ``templates.components``:
# read there and nowhere else in the store
TEMPLATE_DEFINITION = "components"
DEFINITION_READER = "templates.py"


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            found.add(id(body[0].value))
    return found


def store_strings() -> list[tuple[str, int, str]]:
    """Every string written in the store's code (SQL and dict keys alike), not its docs."""
    strings = []
    for path in sorted(STORE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docs = _docstrings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if id(node) not in docs:
                    strings.append((path.name, node.lineno, node.value))
    return strings


def test_the_store_writes_no_graph_api_field():
    found = [
        (name, line, text)
        for name, line, text in store_strings()
        if any(field in text for field in GRAPH_SEND_FIELDS)
    ]
    assert found == []


def test_only_the_templates_module_reads_a_templates_definition():
    found = [
        (name, line)
        for name, line, text in store_strings()
        if TEMPLATE_DEFINITION in text and name != DEFINITION_READER
    ]
    assert found == []


def test_the_scan_sees_the_stores_strings():
    """The check above reads real code: it finds the SQL and keys the store does write."""
    strings = {text for _, _, text in store_strings()}
    assert any(text.startswith("INSERT INTO outbox (") for text in strings)
    assert any(TEMPLATE_DEFINITION in text for text in strings)


EVERY_FIELD = OutboundRequest(
    kind="template",
    recipient=Recipient("ana@example.com", "email"),
    reference=send_reference(41),
    text="Hola ✓\n\u2028<b>not markup</b>",
    link_preview=True,
    reply_to="<abc@mail.example.com>",
    media=OutboundMedia(media_id=7, kind="document", filename="factura.pdf"),
    template=FilledTemplate(
        name="order_news",
        language="es_ES",
        by_name=True,
        header_media="image",
        header_link="https://example.com/a.jpg",
        header=(TemplateValue("order_id", "A-7"),),
        body=(TemplateValue("first_name", "María"), TemplateValue("date", "")),
        url_buttons=(TemplateValue("1", "A-7"),),
    ),
    emoji="",
    reacts_to="wamid.X",
    subject="Re: [#123] Where is my order?",
    references=("<a@mail.example.com>", "<abc@mail.example.com>"),
    cc=("boss@example.com",),
    attachments=(
        OutboundMedia(media_id=8, kind="document"),
        OutboundMedia(media_id=9, kind="document", filename="fotos.zip"),
    ),
)


def test_a_kept_request_reads_back_whole():
    assert decode_request(encode_request(EVERY_FIELD)) == EVERY_FIELD
    least = OutboundRequest(kind="text", recipient=Recipient("34612345678", "phone"), reference="")
    assert decode_request(encode_request(least)) == least


def test_a_field_left_at_its_default_is_not_written():
    """A row holds what was asked, not every field the record could hold."""
    text = OutboundRequest(
        kind="text", recipient=Recipient("34612345678", "phone"), reference="ttydesk:9", text="Hi"
    )
    assert encode_request(text) == (
        '{"kind":"text","recipient":{"address":"34612345678","by":"phone"},'
        '"reference":"ttydesk:9","text":"Hi"}'
    )
    reaction_taken_back = OutboundRequest(
        kind="reaction", recipient=text.recipient, reference="ttydesk:9", emoji=""
    )
    assert '"emoji":""' in encode_request(reaction_taken_back)


def test_the_reference_names_our_message():
    assert message_id_from_reference(send_reference(41)) == 41
    for foreign in (None, "", "41", "ttydesk:", "ttydesk:4x", "other:41"):
        assert message_id_from_reference(foreign) is None

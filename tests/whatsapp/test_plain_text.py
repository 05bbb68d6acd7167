"""The commonest notification (one text message) is read in one pass (``parse.plain_text``)
instead of through the parsed objects; whatever body that pass takes, the ingest must make
the same changes of it as the general path (``parse_notification``) does, and any body
outside its shape must be left to the general path."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.domain.policy import ContentPolicy
from backend.whatsapp import parse
from backend.whatsapp.ingest import Ingestor
from tests.whatsapp import payloads as p

AT = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
INGESTOR = Ingestor(None, policy=ContentPolicy())  # type: ignore[arg-type]  # changes() only


def general(data: Any) -> list[Any]:
    work, ignored = INGESTOR.changes(parse.parse_notification(data))
    assert ignored == []
    return work


def one_pass(data: Any) -> list[Any] | None:
    plain = parse.plain_text(data)
    if plain is None:
        return None
    work, ignored = INGESTOR.changes(plain)
    assert ignored == []
    return work


def text_body(**kw: Any) -> dict[str, Any]:
    contacts = kw.pop("contacts", None)
    return p.messages_envelope(
        p.text(kw.pop("body", "Hola, where is my order?"), at=AT, **kw), contacts=contacts
    )


TAKEN = {
    "plain": text_body(),
    "no user id": text_body(user_id=None, contacts=[p.contact(user_id=None)]),
    "user id only": text_body(from_=None, contacts=[p.contact(wa_id=None)]),
    "no contacts": p.envelope(("messages", {"messages": [p.text("hi", at=AT)]})),
    "empty contacts": text_body(contacts=[]),
    "contact of someone else": text_body(contacts=[p.contact(wa_id="34699888777", user_id="ES.1")]),
    "username and parent": text_body(
        contacts=[p.contact(username="maria", parent_user_id="ES.ENT.1")]
    ),
    "parent user id on the message": text_body(from_parent_user_id="ES.ENT.7"),
    "a wa_id the store refuses": text_body(from_="+34 612", contacts=[p.contact(wa_id="+34 612")]),
    "quarantined card number": text_body(body="my card is 4111 1111 1111 1111"),
    "a phishing-looking link": text_body(body="pay here: https://bit.ly/3xYz"),
    "empty text": text_body(body=""),
    "unicode and emoji": text_body(body="¿Dónde está? 😀 Ünïcödé ✓"),
    "timestamp as a number": text_body(timestamp=1796595023),
    "timestamp unreadable": text_body(timestamp="soon"),
    "timestamp missing": p.messages_envelope(
        {k: v for k, v in p.text("hi", at=AT).items() if k != "timestamp"}
    ),
    "no metadata": p.envelope(
        ("messages", {"messages": [p.text("hi", at=AT)], "contacts": [p.contact()]})
    ),
    "phone number id as a number": p.envelope(
        (
            "messages",
            {"metadata": {"phone_number_id": 106540352242922}, "messages": [p.text("hi", at=AT)]},
        )
    ),
    "statuses empty": p.envelope(
        ("messages", {**p.value(messages=[p.text("hi", at=AT)]), "statuses": []})
    ),
    "a contact that is not an object beside one that is": text_body(contacts=["x", p.contact()]),
}

LEFT = {
    "two messages": p.messages_envelope(p.text("a", at=AT), p.text("b", at=AT)),
    "a reply": text_body(context={"from": p.CUSTOMER_WA_ID, "id": "wamid.quoted"}),
    "forwarded": text_body(context={"forwarded": True}),
    "from an ad": text_body(referral={"source_type": "ad", "source_id": "1"}),
    "in a group": text_body(group_id="G1"),
    "with errors": text_body(errors=[{"code": 131051}]),
    "an image": p.messages_envelope(p.image(at=AT, caption="box")),
    "two contacts": text_body(contacts=[p.contact(), p.contact(wa_id="34699888777")]),
    "with statuses": p.envelope(
        ("messages", {**p.value(messages=[p.text("hi", at=AT)]), "statuses": [{"id": "w"}]})
    ),
    "value errors": p.messages_envelope(p.text("hi", at=AT), errors=[{"code": 1}]),
    "two changes": p.envelope(
        ("messages", p.value(messages=[p.text("a", at=AT)])),
        ("messages", p.value(messages=[p.text("b", at=AT)])),
    ),
    "two entries": {"entry": [text_body()["entry"][0], text_body()["entry"][0]]},
    "another field": p.envelope(("calls", p.value(messages=[p.text("a", at=AT)]))),
    "a number as the sender": text_body(from_=34612345678),
    "a number as the text": p.messages_envelope(p.message("text", {"body": 12}, at=AT)),
    "no text object": p.messages_envelope(p.message("text", None, at=AT)),
    "no id": p.messages_envelope({k: v for k, v in p.text("a", at=AT).items() if k != "id"}),
    "contacts not a list": p.envelope(
        ("messages", {**p.value(messages=[p.text("hi", at=AT)]), "contacts": {"wa_id": "1"}})
    ),
    "not an object": [text_body()],
}


@pytest.mark.parametrize("name", sorted(TAKEN))
def test_the_one_pass_makes_the_changes_the_general_path_makes(name: str) -> None:
    data = TAKEN[name]
    assert one_pass(copy.deepcopy(data)) == general(copy.deepcopy(data))


def test_a_quarantined_text_is_quarantined_on_the_one_pass() -> None:
    work = one_pass(TAKEN["quarantined card number"])
    assert work is not None
    assert work[0].kind == "quarantined"
    assert work[0].quarantine_rule == "payment_card"


def test_a_refused_wa_id_is_counted_on_the_one_pass() -> None:
    work = one_pass(TAKEN["a wa_id the store refuses"])
    assert work is not None
    assert work[0].sender.wa_id is None
    assert work[1].by_name == {"webhook.invalid_wa_id": 1}


@pytest.mark.parametrize("name", sorted(LEFT))
def test_other_shapes_are_left_to_the_general_path(name: str) -> None:
    assert parse.plain_text(LEFT[name]) is None


# st.text's own alphabet (every character UTF-8 encodes: all but the surrogates), named so
# that hypothesis need not find it by encoding all 1.1 million characters (2-6 s, on a
# fresh clone, where its .hypothesis cache is empty); the examples are the same
_TEXT = st.characters(exclude_categories=["Cs"])
# JSON-like values to put anywhere in a text notification: a body the one pass takes
# must still be read as the general path reads it
_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(_TEXT, max_size=8),
    st.sampled_from(["text", "messages", "1796595023", p.CUSTOMER_WA_ID, p.CUSTOMER_USER_ID]),
)
_JSON = st.recursive(
    _LEAVES,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(_TEXT, max_size=6), children, max_size=3)
    ),
    max_leaves=6,
)
_PATHS = [
    (),
    ("entry",),
    ("entry", 0),
    ("entry", 0, "changes"),
    ("entry", 0, "changes", 0),
    ("entry", 0, "changes", 0, "field"),
    ("entry", 0, "changes", 0, "value"),
    ("entry", 0, "changes", 0, "value", "metadata"),
    ("entry", 0, "changes", 0, "value", "metadata", "phone_number_id"),
    ("entry", 0, "changes", 0, "value", "contacts"),
    ("entry", 0, "changes", 0, "value", "contacts", 0),
    ("entry", 0, "changes", 0, "value", "contacts", 0, "wa_id"),
    ("entry", 0, "changes", 0, "value", "contacts", 0, "user_id"),
    ("entry", 0, "changes", 0, "value", "contacts", 0, "profile"),
    ("entry", 0, "changes", 0, "value", "statuses"),
    ("entry", 0, "changes", 0, "value", "errors"),
    ("entry", 0, "changes", 0, "value", "messages"),
    ("entry", 0, "changes", 0, "value", "messages", 0),
    ("entry", 0, "changes", 0, "value", "messages", 0, "from"),
    ("entry", 0, "changes", 0, "value", "messages", 0, "from_user_id"),
    ("entry", 0, "changes", 0, "value", "messages", 0, "from_parent_user_id"),
    ("entry", 0, "changes", 0, "value", "messages", 0, "id"),
    ("entry", 0, "changes", 0, "value", "messages", 0, "timestamp"),
    ("entry", 0, "changes", 0, "value", "messages", 0, "type"),
    ("entry", 0, "changes", 0, "value", "messages", 0, "text"),
    ("entry", 0, "changes", 0, "value", "messages", 0, "text", "body"),
    ("entry", 0, "changes", 0, "value", "messages", 0, "context"),
]


def _replaced(data: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    data = copy.deepcopy(data)
    node = data
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = new
    return data


@settings(max_examples=300, deadline=None)
@given(
    name=st.sampled_from(sorted(TAKEN)),
    path=st.sampled_from(_PATHS),
    new=_JSON,
)
def test_whatever_the_one_pass_takes_it_reads_as_the_general_path_does(
    name: str, path: tuple[Any, ...], new: Any
) -> None:
    try:
        data = _replaced(TAKEN[name], path, new)
    except (KeyError, IndexError, TypeError):
        return  # that body has no such place
    work = one_pass(copy.deepcopy(data))
    if work is not None:
        assert work == general(copy.deepcopy(data))

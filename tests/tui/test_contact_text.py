"""The contact panel's text: a number the phone library could not check says so."""

from __future__ import annotations

from datetime import UTC, datetime

from backend import schemas
from tui.widgets.contact_panel import contact_text

AT = datetime(2026, 12, 7, tzinfo=UTC)


def test_a_phone_the_library_could_not_check_is_marked_and_a_checked_one_is_not():
    contact = schemas.ContactDetail(
        id=1, name="Tom", phone="+447700900555", mobile_phone="+34612345678",
        unchecked_phones=["phone"], created_at=AT, updated_at=AT,
    )  # fmt: skip
    lines = contact_text(contact, None).plain.splitlines()
    assert "phone       +447700900555 (not checked)" in lines
    assert "mobile      +34612345678" in lines

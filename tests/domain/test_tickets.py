import pytest

from backend.domain.errors import InvalidField
from backend.domain.tickets import (
    TicketPriority,
    TicketStatus,
    check_status_move,
    inbound_opens_new_ticket,
    parse_priority,
    parse_status,
    status_after_agent_reply,
    status_after_inbound,
    subject_from_text,
)

ALL_STATUSES = list(TicketStatus)


def test_status_values() -> None:
    assert [s.value for s in TicketStatus] == [
        "new",
        "waiting_on_contact",
        "waiting_on_us",
        "closed",
    ]


def test_priority_values() -> None:
    assert [p.value for p in TicketPriority] == ["low", "medium", "high", "urgent"]


def test_status_label_reads_as_words() -> None:
    assert TicketStatus.WAITING_ON_US.label == "Waiting on us"


def test_parse_status_accepts_a_label() -> None:
    assert parse_status("Waiting on contact") is TicketStatus.WAITING_ON_CONTACT


def test_parse_status_refuses_an_unknown_value() -> None:
    with pytest.raises(InvalidField) as caught:
        parse_status("reopened")
    assert caught.value.field == "status"


def test_parse_priority_accepts_any_case() -> None:
    assert parse_priority("URGENT") is TicketPriority.URGENT


def test_parse_priority_refuses_an_unknown_value() -> None:
    with pytest.raises(InvalidField) as caught:
        parse_priority("critical")
    assert caught.value.field == "priority"


@pytest.mark.parametrize(
    "status", [TicketStatus.NEW, TicketStatus.WAITING_ON_CONTACT, TicketStatus.WAITING_ON_US]
)
def test_inbound_moves_an_open_ticket_to_waiting_on_us(status: TicketStatus) -> None:
    assert status_after_inbound(status) is TicketStatus.WAITING_ON_US


def test_inbound_does_not_reopen_a_closed_ticket() -> None:
    assert status_after_inbound(TicketStatus.CLOSED) is TicketStatus.CLOSED


def test_inbound_to_a_closed_ticket_opens_a_new_ticket() -> None:
    assert inbound_opens_new_ticket("closed")


@pytest.mark.parametrize("status", ["new", "waiting_on_contact", "waiting_on_us"])
def test_inbound_to_an_open_ticket_joins_it(status: str) -> None:
    assert not inbound_opens_new_ticket(status)


@pytest.mark.parametrize("status", ["new", "waiting_on_contact", "waiting_on_us"])
def test_agent_reply_moves_an_open_ticket_to_waiting_on_contact(status: str) -> None:
    assert status_after_agent_reply(status) is TicketStatus.WAITING_ON_CONTACT


def test_agent_reply_leaves_a_closed_ticket_closed() -> None:
    assert status_after_agent_reply(TicketStatus.CLOSED) is TicketStatus.CLOSED


@pytest.mark.parametrize("old", ALL_STATUSES)
@pytest.mark.parametrize("new", ALL_STATUSES)
def test_any_known_move_is_allowed(old: TicketStatus, new: TicketStatus) -> None:
    assert check_status_move(old, new) == (None if old is new else new)


def test_move_to_the_same_status_is_a_no_op() -> None:
    assert check_status_move("closed", "closed") is None


def test_move_to_an_unknown_status_is_refused_naming_the_field() -> None:
    with pytest.raises(InvalidField) as caught:
        check_status_move("new", "archived")
    assert caught.value.field == "status"
    assert "archived" in caught.value.message


def test_subject_is_the_first_non_empty_line() -> None:
    assert subject_from_text("\n  \n  My order is late  \nsecond line", "x") == "My order is late"


def test_subject_collapses_inner_whitespace() -> None:
    assert subject_from_text("Hello\t\tthere", "x") == "Hello there"


def test_long_subject_is_cut_to_120_characters_with_ellipsis() -> None:
    subject = subject_from_text("a" * 300, "x")
    assert len(subject) == 120
    assert subject.endswith("…")


def test_subject_of_exactly_120_characters_is_kept_whole() -> None:
    assert subject_from_text("b" * 120, "x") == "b" * 120


@pytest.mark.parametrize("text", [None, "", "   \n\t\n"])
def test_subject_falls_back_when_there_is_no_text(text: str | None) -> None:
    assert subject_from_text(text, "Image from Maria") == "Image from Maria"

from backend.domain.templates import fill_from_contact, fill_snippet, missing, placeholders, render

BODY = "Hi {{1}}, your order {{2}} ships with {{1}}'s address."
CONTACT = {"first_name": "Maria", "company": "Acme", "email": None, "properties": {"plan": "Pro"}}


def test_placeholders_in_order_and_unique() -> None:
    assert placeholders(BODY) == ["1", "2"]


def test_named_placeholders_are_found() -> None:
    assert placeholders("Hello {{first_name}}, code {{ order_id }}") == ["first_name", "order_id"]


def test_text_without_placeholders_has_none() -> None:
    assert placeholders("Hello {name} and {{}} and {{two words}}") == []


def test_placeholders_of_no_text() -> None:
    assert placeholders(None) == []


def test_render_fills_every_occurrence() -> None:
    assert (
        render(BODY, {"1": "Maria", "2": "A123"})
        == "Hi Maria, your order A123 ships with Maria's address."
    )


def test_render_leaves_unfilled_variables() -> None:
    assert render("Hi {{1}}, order {{2}}", {"1": "Maria"}) == "Hi Maria, order {{2}}"


def test_render_does_not_expand_placeholders_inside_values() -> None:
    assert render("Hi {{1}} {{2}}", {"1": "{{2}}", "2": "x"}) == "Hi {{2}} x"


def test_missing_lists_unfilled_variables() -> None:
    assert missing(BODY, {"1": "Maria"}) == ["2"]


def test_blank_value_counts_as_missing() -> None:
    assert missing(BODY, {"1": "  ", "2": "A123"}) == ["1"]


def test_nothing_missing_when_all_filled() -> None:
    assert missing(BODY, {"1": "Maria", "2": "A123"}) == []


def test_fill_from_contact_maps_variables_to_properties() -> None:
    assert fill_from_contact({"1": "first_name", "2": "company"}, CONTACT) == {
        "1": "Maria",
        "2": "Acme",
    }


def test_fill_from_contact_leaves_out_missing_and_empty_properties() -> None:
    assert fill_from_contact({"1": "email", "2": "last_name"}, CONTACT) == {}


def test_fill_from_contact_reads_free_properties() -> None:
    assert fill_from_contact({"plan": "plan"}, CONTACT) == {"plan": "Pro"}


def test_fill_snippet_replaces_contact_tokens() -> None:
    assert (
        fill_snippet("Hola {{contact.first_name}} de {{ contact.company }}", CONTACT)
        == "Hola Maria de Acme"
    )


def test_fill_snippet_leaves_unknown_tokens() -> None:
    text = "Hi {{contact.nickname}}, {{agent.name}} here"
    assert fill_snippet(text, CONTACT) == text


def test_fill_snippet_leaves_tokens_of_empty_properties() -> None:
    assert fill_snippet("Mail {{contact.email}}", CONTACT) == "Mail {{contact.email}}"


def test_no_text_renders_and_fills_to_nothing() -> None:
    assert render(None, {"1": "x"}) == ""
    assert fill_snippet(None, CONTACT) == ""

from backend.domain.routing import AgentCandidate, RoutingRule, choose_owner, required_skills

SPANISH = RoutingRule(required_skills=frozenset({"lang:es"}), countries=frozenset({"ES", "MX"}))
BILLING = RoutingRule(
    required_skills=frozenset({"billing"}), keywords=("invoice", "refund", "factura")
)


def agent(
    agent_id: int, *skills: str, available: bool = True, open_tickets: int = 0
) -> AgentCandidate:
    return AgentCandidate(agent_id, frozenset(skills), available, open_tickets)


def test_country_rule_applies_to_a_contact_from_that_country() -> None:
    assert required_skills([SPANISH], country="ES", text="hola") == {"lang:es"}


def test_country_rule_matches_case_insensitively() -> None:
    assert required_skills([SPANISH], country="mx", text="") == {"lang:es"}


def test_country_rule_does_not_apply_to_another_country() -> None:
    assert required_skills([SPANISH], country="FR", text="bonjour") == frozenset()


def test_country_rule_does_not_apply_without_a_country() -> None:
    assert required_skills([SPANISH], country=None, text="hola") == frozenset()


def test_keyword_rule_matches_case_insensitively() -> None:
    assert required_skills([BILLING], country=None, text="Where is my INVOICE?") == {"billing"}


def test_keyword_rule_needs_a_whole_word() -> None:
    assert required_skills([BILLING], country=None, text="my invoices-to-be") == frozenset()


def test_keyword_with_symbols_matches_as_a_word() -> None:
    rule = RoutingRule(frozenset({"dev"}), keywords=("c++",))
    assert required_skills([rule], country=None, text="help with C++ please") == {"dev"}


def test_skills_of_all_applying_rules_are_combined() -> None:
    skills = required_skills([SPANISH, BILLING], country="ES", text="necesito la factura")
    assert skills == {"lang:es", "billing"}


def test_no_rules_require_no_skills() -> None:
    assert required_skills([], country="ES", text="invoice") == frozenset()


def test_owner_must_hold_every_required_skill() -> None:
    candidates = [agent(1, "lang:es"), agent(2, "lang:es", "billing")]
    assert choose_owner(candidates, frozenset({"lang:es", "billing"}), None) == 2


def test_unavailable_agents_are_skipped() -> None:
    candidates = [agent(1, available=False), agent(2, open_tickets=9)]
    assert choose_owner(candidates, frozenset(), None) == 2


def test_least_loaded_agent_wins() -> None:
    candidates = [agent(1, open_tickets=5), agent(2, open_tickets=2), agent(3, open_tickets=3)]
    assert choose_owner(candidates, frozenset(), None) == 2


def test_tie_goes_to_the_next_id_after_the_last_assigned() -> None:
    candidates = [agent(3), agent(1), agent(5)]
    assert choose_owner(candidates, frozenset(), last_assigned_id=3) == 5


def test_tie_wraps_to_the_lowest_id() -> None:
    candidates = [agent(3), agent(1), agent(5)]
    assert choose_owner(candidates, frozenset(), last_assigned_id=5) == 1


def test_tie_without_history_goes_to_the_lowest_id() -> None:
    assert choose_owner([agent(4), agent(2)], frozenset(), None) == 2


def test_last_assigned_agent_not_among_the_tied_still_rotates() -> None:
    candidates = [agent(2), agent(6), agent(4, open_tickets=1)]
    assert choose_owner(candidates, frozenset(), last_assigned_id=4) == 6


def test_no_candidate_leaves_the_ticket_unassigned() -> None:
    candidates = [agent(1, "billing", available=False), agent(2)]
    assert choose_owner(candidates, frozenset({"billing"}), None) is None


def test_no_agents_leaves_the_ticket_unassigned() -> None:
    assert choose_owner([], frozenset(), None) is None

"""Routing of new tickets to agents (SPEC §4)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True, slots=True)
class AgentCandidate:
    id: int
    skills: frozenset[str]
    available: bool
    open_tickets: int


@dataclass(frozen=True, slots=True)
class RoutingRule:
    """Requires `required_skills` when the contact's country or the text matches."""

    required_skills: frozenset[str]
    countries: frozenset[str] = frozenset()
    keywords: tuple[str, ...] = ()

    def applies(self, *, country: str | None, text: str) -> bool:
        if country and country.upper() in {c.upper() for c in self.countries}:
            return True
        pattern = _keyword_pattern(self.keywords)
        return pattern is not None and pattern.search(text or "") is not None


@lru_cache(maxsize=256)
def _keyword_pattern(keywords: tuple[str, ...]) -> re.Pattern[str] | None:
    words = [k.strip() for k in keywords if k and k.strip()]
    if not words:
        return None
    # Look-arounds rather than \b, so keywords that start or end with a symbol ("c++") work.
    alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def required_skills(
    rules: Iterable[RoutingRule], *, country: str | None, text: str
) -> frozenset[str]:
    skills: set[str] = set()
    for rule in rules:
        if rule.applies(country=country, text=text):
            skills |= rule.required_skills
    return frozenset(skills)


def choose_owner(
    candidates: Iterable[AgentCandidate], required: frozenset[str], last_assigned_id: int | None
) -> int | None:
    """The available agent with every required skill and the fewest open tickets.

    Ties go round-robin: the first tied agent whose id follows `last_assigned_id`,
    wrapping to the lowest id.
    """
    eligible = [c for c in candidates if c.available and required <= c.skills]
    if not eligible:
        return None
    least_load = min(c.open_tickets for c in eligible)
    tied = sorted({c.id for c in eligible if c.open_tickets == least_load})
    if last_assigned_id is not None:
        for agent_id in tied:
            if agent_id > last_assigned_id:
                return agent_id
    return tied[0]

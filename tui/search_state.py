"""What a search was (query, filters, results, where the cursor was), kept while a result's
thread is open so that ``q``/``escape`` there come back to the same results."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from backend.schemas import SearchHit


@dataclass
class SearchState:
    view_id: str | None = None
    query: str = ""
    status: str = ""
    hits: list[SearchHit] = field(default_factory=list)
    next_cursor: str | None = None
    highlighted: int | None = None

    @property
    def terms(self) -> tuple[str, ...]:
        """The query's words, lower-cased (what ``n``/``N`` look for in an opened thread)."""
        return tuple(word.lower() for word in re.findall(r"\w+", self.query))

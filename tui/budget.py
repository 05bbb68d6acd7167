"""The header's budget warning follows the live stream.

The month's estimate moves when a status prices one of our messages (a ``message.updated``
event whose pricing is new); the server pushes no budget with it (the rate card is read
per request), so the app fetches ``GET /usage`` again: only when a budget is set, one
fetch at a time, and once more if more messages were priced meanwhile.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from typing import TYPE_CHECKING

from backend.schemas import Direction
from tui.client import ApiError

if TYPE_CHECKING:
    from backend.schemas import Message
    from tui.app import TtydeskApp

REMEMBERED = 2000  # messages whose pricing was seen (statuses repeat it)


class BudgetFollower:
    def __init__(self, app: TtydeskApp) -> None:
        self.app = app
        self._priced: OrderedDict[int, tuple[str, bool | None]] = OrderedDict()
        self._stale = False
        self._fetching = False

    def message_updated(self, message: Message) -> None:
        pricing = message.pricing
        usage = self.app.usage
        if message.direction != Direction.outbound or pricing is None:
            return
        key = (pricing.category, pricing.billable)
        if self._priced.get(message.id) == key:
            return
        self._priced[message.id] = key
        self._priced.move_to_end(message.id)
        while len(self._priced) > REMEMBERED:
            self._priced.popitem(last=False)
        if usage is None or usage.budget is None:
            return  # no budget set (or no rate card): nothing in the header to follow
        self._stale = True
        if not self._fetching:
            self._fetching = True
            # the method, not a coroutine made now that a worker cancelled before it starts
            # (the app exiting) would leave never awaited
            self.app.run_worker(self._fetch, group="budget", exit_on_error=False)

    async def _fetch(self) -> None:
        try:
            while self._stale and self.app.client is not None:
                self._stale = False
                with contextlib.suppress(ApiError):
                    self.app.usage = await self.app.client.usage()
        finally:
            self._fetching = False

"""The reports' reads (GET /api/v1/reports/{name}): counts and samples over a range of UTC
days, narrowed by agent (the ticket's owner), business number and view; the arithmetic
is ``backend.domain.reports``.

Messages per hour come from the hourly counts the writer keeps (below), unless an
agent or a view narrows them: then from the messages of the matching threads. Tickets are
read by their opening and closing times (0020's indexes), with the properties the store
keeps as things happen (0019); cost from the daily counts statuses keep (0017).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from backend import schemas
from backend.domain import pricing
from backend.domain import reports as rules
from backend.domain.errors import InvalidField, NotFound
from backend.store.engine import after_batch, iso
from backend.store.usage import PricingRules
from backend.store.views import ThreadFilter, ViewsStore

NOT_MESSAGES = (schemas.MessageKind.note.value, schemas.MessageKind.event.value)
NUMBER = "COALESCE(th.business_number, th.phone_number_id)"


# The hourly counts: the messages stored since the last batch (any way: after the last id
# counted), counted by hour, number and direction once per batch (notes and event lines
# are not messages). Migration 0023 took over from 0020's trigger. The mark is right for
# SQLite's one writer at a time only (see COUNT_INSERTED_MESSAGES).
after_batch(
    """INSERT INTO message_hours (hour, business_number, direction, messages)
    SELECT substr(m.created_at, 1, 13), COALESCE(th.business_number, th.phone_number_id, ''),
        m.direction, COUNT(*)
    FROM messages m JOIN threads th ON th.id = m.thread_id
    WHERE m.id > (SELECT upto FROM message_hours_counted WHERE id = 1)
        AND m.kind NOT IN ('note', 'event')
    GROUP BY 1, 2, 3
    ON CONFLICT (hour, business_number, direction)
        DO UPDATE SET messages = messages + excluded.messages""",
    """UPDATE message_hours_counted SET upto = (SELECT MAX(id) FROM messages)
    WHERE id = 1 AND upto < (SELECT MAX(id) FROM messages)""",
)

# On PostgreSQL, where several processes write at once, a message's id is taken when it is
# inserted, not when it commits: a transaction that commits a newer message first would
# move the mark past an older one still to commit, which would never be counted. So each
# transaction counts the messages it inserted (their ids), just before its COMMIT
# (postgres.PgWriter), the hours in one order, so that two transactions that add to the
# same hours lock them in the same order. (PostgreSQL's dialect: it runs there only.)
COUNT_INSERTED_MESSAGES = """
    INSERT INTO message_hours (hour, business_number, direction, messages)
    SELECT substr(m.created_at, 1, 13), COALESCE(th.business_number, th.phone_number_id, ''),
        m.direction, COUNT(*)
    FROM messages m JOIN threads th ON th.id = m.thread_id
    WHERE m.id = ANY(%s) AND m.kind NOT IN ('note', 'event')
    GROUP BY 1, 2, 3
    ORDER BY 1, 2, 3
    ON CONFLICT (hour, business_number, direction)
        DO UPDATE SET messages = message_hours.messages + excluded.messages"""


@dataclass(frozen=True, slots=True)
class ReportFilters:
    days: rules.DateRange
    agent_id: int | None = None
    business_number: str | None = None
    view_id: str | None = None


@dataclass
class _Where:
    """The filters as SQL: ``threads`` over ``threads th`` (+ ``tickets t``, ``contacts c``)
    for the agent and the view; the business number apart, since the hourly counts
    (migration 0020) have it too."""

    threads: ThreadFilter = field(default_factory=ThreadFilter)
    number: str | None = None

    def over_threads(self) -> tuple[str, str, list[object]]:
        """(joins, condition, parameters) for a query over ``threads th``: every filter,
        the number's too."""
        joins = []
        if "t" in self.threads.aliases:
            joins.append("JOIN tickets t ON t.id = th.ticket_id")
        if "c" in self.threads.aliases:
            joins.append("JOIN contacts c ON c.id = th.contact_id")
        condition, params = self.threads.where(), list(self.threads.params)
        if self.number is not None:
            condition = f"({condition}) AND {NUMBER} = ?"
            params.append(self.number)
        return " ".join(joins), condition, params

    def for_tickets(self, *, threads: bool = False) -> tuple[str, str, list[object]]:
        """(joins, condition, parameters) for a query over ``tickets t``: the ticket's
        thread is joined only when a filter (or ``threads``) needs it; the number is the
        ticket's."""
        joins = []
        if threads or self.threads.clauses:
            joins.append("JOIN threads th ON th.id = t.thread_id")
            if "c" in self.threads.aliases:
                joins.append("JOIN contacts c ON c.id = th.contact_id")
        condition, params = self.threads.where(), list(self.threads.params)
        if self.number is not None:
            condition = f"({condition}) AND t.business_number = ?"
            params.append(self.number)
        return " ".join(joins), condition, params


class ReportsStore(ViewsStore):
    async def report(
        self,
        name: str,
        filters: ReportFilters,
        *,
        viewer: schemas.Agent,
        pricing_rules: PricingRules | None = None,
    ) -> schemas.Report:
        """One report over the filters; ``viewer`` is who asks (the views they see, "me")."""
        spec = rules.report_spec(name)
        where = ThreadFilter()
        if filters.agent_id is not None:
            where.add("th.owner_id = ?", [filters.agent_id])
        if filters.agent_id is not None:
            found = await self.readers.one("SELECT 1 FROM agents WHERE id = ?", (filters.agent_id,))
            if found is None:
                raise InvalidField("There is no agent with that id.", field="agent")
        if filters.view_id is not None:
            try:
                where.extend(await self.view_filter(filters.view_id, viewer))
            except (NotFound, InvalidField):
                raise InvalidField(
                    "There is no such view (or its filters no longer apply).", field="view"
                ) from None
        notes: list[str] = []
        currency = None
        chosen = _Where(where, filters.business_number)
        days = filters.days
        if name == "messages_per_day":
            rows = rules.volume_rows(
                [day.isoformat() for day in days.days()],
                10,
                await self._messages_by_hour(days, chosen),
                await self._opened_by_hour(days, chosen),
            )
        elif name == "messages_per_hour":
            rows = rules.volume_rows(
                rules.hours(),
                -1,
                await self._messages_by_hour(days, chosen),
                await self._opened_by_hour(days, chosen),
            )
        elif name == "tickets_per_day":
            opened: dict[str, int] = {}
            for hour, count in await self._opened_by_hour(days, chosen):
                opened[hour[:10]] = opened.get(hour[:10], 0) + count
            rows = rules.day_rows(days.days(), opened, await self._closed_by_day(days, chosen))
        elif name == "expiries_to_template":
            rows = rules.day_rows(days.days(), await self._templates_after_expiry(days, chosen))
        elif name == "cost_per_day":
            chosen_rules = pricing_rules or PricingRules()
            card = chosen_rules.rate_card
            currency = card.currency if card is not None else None
            if filters.agent_id is not None or filters.view_id is not None:
                notes.append(
                    "Cost is counted per business number and day: the agent and view "
                    "filters do not narrow it."
                )
            if card is None:
                notes.append("No rate card (setting rate_card): counts only.")
            start = self.usage_rules.subscription_start
            rows = rules.cost_rows(
                days,
                await self._priced_by_day(
                    rules.cost_from(days, start), days.last, filters.business_number
                ),
                subscription_start=start,
                rate_card=card,
                free_service_messages=chosen_rules.free_service_messages,
            )
        else:
            rows = await self._response_rows(name, days, chosen, viewer)
        return schemas.Report(
            name=spec.name,
            title=spec.title,
            chart=spec.chart,
            columns=[
                schemas.ReportColumn(name=c.name, label=c.label, unit=c.unit) for c in spec.columns
            ],
            date_from=days.first,
            date_to=days.last,
            time_zone=rules.TIME_ZONE,
            agent_id=filters.agent_id,
            business_number=filters.business_number,
            view_id=filters.view_id,
            currency=currency,
            rows=rows,
            notes=notes,
        )

    # ------------------------------------------------------------------ reads

    async def _messages_by_hour(
        self, days: rules.DateRange, where: _Where
    ) -> list[tuple[str, str, int]]:
        """(YYYY-MM-DDTHH, direction, messages) of the customers' and our messages: from
        the hourly counts, or, narrowed by agent or view, from the messages of the
        threads that match (the thread and time index)."""
        if not where.threads.clauses:
            number = " AND business_number = ?" if where.number is not None else ""
            rows = await self.readers.all(
                "SELECT hour, direction, SUM(messages) FROM message_hours "
                f"WHERE hour >= ? AND hour < ?{number} GROUP BY hour, direction",
                [
                    iso(days.start)[:13],
                    iso(days.end)[:13],
                    *([where.number] if where.number is not None else []),
                ],
            )
            return [(row[0], row[1], row[2]) for row in rows]
        joins, condition, params = where.over_threads()
        rows = await self.readers.all(
            "SELECT substr(m.created_at, 1, 13) AS hour, m.direction, COUNT(*) AS n "
            "FROM messages m WHERE m.created_at >= ? AND m.created_at < ? "
            "AND m.kind NOT IN (?, ?) "
            f"AND m.thread_id IN (SELECT th.id FROM threads th {joins} WHERE {condition}) "
            "GROUP BY 1, 2",
            [iso(days.start), iso(days.end), *NOT_MESSAGES, *params],
        )
        return [(row[0], row[1], row[2]) for row in rows]

    async def _opened_by_hour(self, days: rules.DateRange, where: _Where) -> list[tuple[str, int]]:
        joins, condition, params = where.for_tickets()
        rows = await self.readers.all(
            f"SELECT substr(t.created_at, 1, 13), COUNT(*) FROM tickets t {joins} "
            f"WHERE t.created_at >= ? AND t.created_at < ? AND ({condition}) GROUP BY 1",
            [iso(days.start), iso(days.end), *params],
        )
        return [(row[0], row[1]) for row in rows]

    async def _closed_by_day(self, days: rules.DateRange, where: _Where) -> dict[str, int]:
        joins, condition, params = where.for_tickets()
        rows = await self.readers.all(
            f"SELECT substr(t.closed_at, 1, 10), COUNT(*) FROM tickets t {joins} "
            f"WHERE t.closed_at >= ? AND t.closed_at < ? AND ({condition}) GROUP BY 1",
            [iso(days.start), iso(days.end), *params],
        )
        return {row[0]: row[1] for row in rows}

    async def _templates_after_expiry(self, days: rules.DateRange, where: _Where) -> dict[str, int]:
        """Business-initiated sends (a template: the window was closed) on threads whose
        customer had written before: a session that expired and ended in a template."""
        joins, condition, params = where.over_threads()
        rows = await self.readers.all(
            "SELECT substr(u.at, 1, 10), COUNT(*) FROM usage_records u "
            f"JOIN threads th ON th.id = u.thread_id {joins} "
            "WHERE u.at >= ? AND u.at < ? AND u.business_initiated = 1 "
            f"AND th.first_inbound_at < u.at AND ({condition}) GROUP BY 1",
            [iso(days.start), iso(days.end), *params],
        )
        return {row[0]: row[1] for row in rows}

    async def _times(
        self, days: rules.DateRange, where: _Where, group: str
    ) -> dict[str, rules.Times]:
        """The response and resolution times of the tickets opened in the range, by owner
        (``group`` "agent") or business number."""
        joins, condition, params = where.for_tickets()
        column = "t.owner_id" if group == "agent" else "t.business_number"
        rows = await self.readers.all(
            f"SELECT {column}, t.first_response_seconds, t.resolution_seconds "
            f"FROM tickets t {joins} "
            f"WHERE t.created_at >= ? AND t.created_at < ? AND ({condition})",
            [iso(days.start), iso(days.end), *params],
        )
        by_key: dict[object, rules.Times] = {}
        for key, first_response, resolution in rows:
            times = by_key.get(key)
            if times is None:
                times = by_key[key] = rules.Times()
            times.add(first_response, resolution)
        if group == "agent":
            names = {
                row[0]: row[1] for row in await self.readers.all("SELECT id, name FROM agents")
            }
            labels = {key: names.get(key, rules.UNASSIGNED) if key else rules.UNASSIGNED
                      for key in by_key}  # fmt: skip
        else:
            labels = {key: str(key) if key else rules.NO_NUMBER for key in by_key}
        grouped: dict[str, rules.Times] = {}
        for key, times in by_key.items():
            into = grouped.setdefault(labels[key], rules.Times())
            into.tickets += times.tickets
            into.first_responses += times.first_responses
            into.resolutions += times.resolutions
        return grouped

    async def _response_rows(
        self, name: str, days: rules.DateRange, where: _Where, viewer: schemas.Agent
    ) -> list[list[rules.Cell]]:
        if name == "response_by_view":
            return await self._response_by_view(days, where, viewer)
        groups = await self._times(
            days, where, "agent" if name == "response_by_agent" else "number"
        )
        return [rules.response_row(label, groups[label]) for label in sorted(groups)]

    async def _response_by_view(
        self, days: rules.DateRange, where: _Where, viewer: schemas.Agent
    ) -> list[list[rules.Cell]]:
        """The times of every view the viewer sees, in one pass over the tickets opened in
        the range: a column per view says whether the ticket's thread is in it."""
        views: list[tuple[str, ThreadFilter]] = []
        for view in await self.list_views(viewer, counts=False):
            try:
                views.append((view.name, await self.view_filter(view.id, viewer)))
            except (NotFound, InvalidField):
                continue  # a view whose filters no longer compile shows nothing
        if not views:
            return []
        together = ThreadFilter()
        together.extend(where.threads)
        flags, flag_params = [], []
        for index, (_, view_filter) in enumerate(views):
            together.aliases.update(view_filter.aliases)
            flags.append(f"CASE WHEN {view_filter.where()} THEN 1 ELSE 0 END AS v{index}")
            flag_params += view_filter.params
        joins, condition, params = _Where(together, where.number).for_tickets(threads=True)
        rows = await self.readers.all(
            f"SELECT t.first_response_seconds, t.resolution_seconds, {', '.join(flags)} "
            f"FROM tickets t {joins} "
            f"WHERE t.created_at >= ? AND t.created_at < ? AND ({condition})",
            [*flag_params, iso(days.start), iso(days.end), *params],
        )
        times = [rules.Times() for _ in views]
        for row in rows:
            first_response, resolution = row[0], row[1]
            for index, in_view in enumerate(row[2:]):
                if in_view:
                    times[index].add(first_response, resolution)
        return [rules.response_row(name, times[i]) for i, (name, _) in enumerate(views)]

    async def _priced_by_day(
        self, first: date, last: date, number: str | None
    ) -> list[rules.DailyCount]:
        only = " AND business_number = ?" if number is not None else ""
        rows = await self.readers.all(
            "SELECT day, business_number, NULLIF(market, '') AS market, category, "
            "NULLIF(billable, -1) AS billable, SUM(messages) AS messages FROM pricing_daily "
            f"WHERE day >= ? AND day <= ?{only} "
            "GROUP BY day, business_number, market, category, billable HAVING SUM(messages) > 0",
            [first.isoformat(), last.isoformat(), *([number] if number is not None else [])],
        )
        return [
            rules.DailyCount(
                date.fromisoformat(row["day"]),
                pricing.PricedCount(
                    business_number=row["business_number"],
                    market=row["market"],
                    category=row["category"],
                    billable=None if row["billable"] is None else bool(row["billable"]),
                    messages=row["messages"],
                ),
            )
            for row in rows
        ]

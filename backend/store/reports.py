"""The reports' reads (GET /api/v1/reports/{name}): counts and samples over a range of UTC
days, narrowed by agent (the ticket's owner), business number and view; the arithmetic
is ``backend.domain.reports``.

Every read is an index range over one time column (messages.created_at,
tickets.created_at / closed_at, usage_records.at, pricing_daily.day: migration 0020), and
the ticket properties are the ones the store keeps as things happen (migration 0019).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from backend import schemas
from backend.domain import pricing
from backend.domain import reports as rules
from backend.domain.errors import InvalidField, NotFound
from backend.store.engine import iso
from backend.store.usage import PricingRules
from backend.store.views import ThreadFilter, ViewsStore

NOT_MESSAGES = (schemas.MessageKind.note.value, schemas.MessageKind.event.value)
NUMBER = "COALESCE(th.business_number, th.phone_number_id)"


@dataclass(frozen=True, slots=True)
class ReportFilters:
    days: rules.DateRange
    agent_id: int | None = None
    business_number: str | None = None
    view_id: str | None = None


@dataclass
class _Where:
    """The filters as SQL over ``threads th`` (+ ``tickets t`` and ``contacts c``)."""

    threads: ThreadFilter = field(default_factory=ThreadFilter)

    def over_threads(self, *, tickets_joined: bool) -> tuple[str, str, list[object]]:
        """(joins, condition, parameters) for a query that has ``threads th`` and, when
        ``tickets_joined``, ``tickets t``."""
        joins = []
        if "t" in self.threads.aliases and not tickets_joined:
            joins.append("JOIN tickets t ON t.id = th.ticket_id")
        if "c" in self.threads.aliases:
            joins.append("JOIN contacts c ON c.id = th.contact_id")
        return " ".join(joins), self.threads.where(), list(self.threads.params)


def _base_filter(filters: ReportFilters) -> ThreadFilter:
    where = ThreadFilter()
    if filters.agent_id is not None:
        where.add("th.owner_id = ?", [filters.agent_id])
    if filters.business_number is not None:
        where.add(f"{NUMBER} = ?", [filters.business_number])
    return where


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
        where = _base_filter(filters)
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
        chosen = _Where(where)
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
        """(YYYY-MM-DDTHH, direction, messages) of the customers' and our messages."""
        threads = ""
        params: list[object] = [iso(days.start), iso(days.end), *NOT_MESSAGES]
        if where.threads.clauses:
            joins, condition, extra = where.over_threads(tickets_joined=False)
            threads = f"AND m.thread_id IN (SELECT th.id FROM threads th {joins} WHERE {condition})"
            params += extra
        rows = await self.readers.all(
            "SELECT substr(m.created_at, 1, 13) AS hour, m.direction, COUNT(*) AS n "
            "FROM messages m "
            "WHERE m.created_at >= ? AND m.created_at < ? AND m.kind NOT IN (?, ?) "
            f"{threads} GROUP BY 1, 2",
            params,
        )
        return [(row[0], row[1], row[2]) for row in rows]

    async def _opened_by_hour(self, days: rules.DateRange, where: _Where) -> list[tuple[str, int]]:
        joins, condition, params = where.over_threads(tickets_joined=True)
        rows = await self.readers.all(
            "SELECT substr(t.created_at, 1, 13), COUNT(*) FROM tickets t "
            f"JOIN threads th ON th.ticket_id = t.id {joins} "
            f"WHERE t.created_at >= ? AND t.created_at < ? AND ({condition}) GROUP BY 1",
            [iso(days.start), iso(days.end), *params],
        )
        return [(row[0], row[1]) for row in rows]

    async def _closed_by_day(self, days: rules.DateRange, where: _Where) -> dict[str, int]:
        joins, condition, params = where.over_threads(tickets_joined=True)
        rows = await self.readers.all(
            "SELECT substr(t.closed_at, 1, 10), COUNT(*) FROM tickets t "
            f"JOIN threads th ON th.ticket_id = t.id {joins} "
            f"WHERE t.closed_at >= ? AND t.closed_at < ? AND ({condition}) GROUP BY 1",
            [iso(days.start), iso(days.end), *params],
        )
        return {row[0]: row[1] for row in rows}

    async def _templates_after_expiry(self, days: rules.DateRange, where: _Where) -> dict[str, int]:
        """Business-initiated sends (a template: the window was closed) on threads whose
        customer had written before: a session that expired and ended in a template."""
        joins, condition, params = where.over_threads(tickets_joined=False)
        rows = await self.readers.all(
            "SELECT substr(u.at, 1, 10), COUNT(*) FROM usage_records u "
            f"JOIN threads th ON th.id = u.thread_id {joins} "
            "WHERE u.at >= ? AND u.at < ? AND u.business_initiated = 1 "
            f"AND th.first_inbound_at < u.at AND ({condition}) GROUP BY 1",
            [iso(days.start), iso(days.end), *params],
        )
        return {row[0]: row[1] for row in rows}

    async def _samples(
        self, days: rules.DateRange, where: _Where
    ) -> list[tuple[int | None, str | None, rules.Sample]]:
        """(owner, business number, sample) of each ticket opened in the range."""
        joins, condition, params = where.over_threads(tickets_joined=True)
        rows = await self.readers.all(
            f"SELECT t.owner_id, {NUMBER} AS number, t.first_response_seconds, "
            "t.resolution_seconds FROM tickets t "
            f"JOIN threads th ON th.ticket_id = t.id {joins} "
            f"WHERE t.created_at >= ? AND t.created_at < ? AND ({condition})",
            [iso(days.start), iso(days.end), *params],
        )
        return [(row[0], row[1], rules.Sample(row[2], row[3])) for row in rows]

    async def _response_rows(
        self, name: str, days: rules.DateRange, where: _Where, viewer: schemas.Agent
    ) -> list[list[rules.Cell]]:
        if name == "response_by_view":
            rows: list[list[rules.Cell]] = []
            for view in await self.list_views(viewer, counts=False):
                try:
                    narrowed = ThreadFilter()
                    narrowed.extend(where.threads)
                    narrowed.extend(await self.view_filter(view.id, viewer))
                except (NotFound, InvalidField):
                    continue  # a view whose filters no longer compile shows nothing
                samples = await self._samples(days, _Where(narrowed))
                rows.append(rules.response_row(view.name, [s for _, _, s in samples]))
            return rows
        samples = await self._samples(days, where)
        groups: dict[str, list[rules.Sample]] = {}
        if name == "response_by_agent":
            names = {
                row[0]: row[1] for row in await self.readers.all("SELECT id, name FROM agents")
            }
            for owner, _, sample in samples:
                label = names.get(owner, rules.UNASSIGNED) if owner else rules.UNASSIGNED
                groups.setdefault(label, []).append(sample)
        else:
            for _, number, sample in samples:
                groups.setdefault(number or rules.NO_NUMBER, []).append(sample)
        return [rules.response_row(label, groups[label]) for label in sorted(groups)]

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

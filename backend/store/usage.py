"""The usage meter (SPEC §5): counted conversations are ``usage_records`` rows.

A send checks the limit and writes its record in the same transaction as the message
(``count_send``), so two concurrent sends can never both take the last conversation,
and a refused send leaves nothing behind. On PostgreSQL, where several processes write,
the check and the record are made under ``USAGE_LOCK`` (``Tx.exclusive``), held to COMMIT.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from backend import schemas
from backend.domain import pricing
from backend.domain import usage as usage_rules
from backend.domain.errors import NotFound
from backend.domain.session import is_open
from backend.store.base import StoreBase
from backend.store.engine import Tx, iso, parse_dt
from backend.store.types import PricingRules, UsageRules

# the advisory lock of the usage check-then-insert ("ttyu")
USAGE_LOCK = 0x74747975


def _midnight(day: date) -> str:
    return iso(datetime.combine(day, time(0), tzinfo=UTC))  # type: ignore[return-value]


def usage_in_tx(tx: Tx, rules: UsageRules, now: datetime | None = None) -> schemas.Usage:
    now = now or tx.now
    period = usage_rules.billing_period(now, rules.subscription_start)
    used = tx.one(
        "SELECT COUNT(*) FROM usage_records WHERE at >= ? AND at < ?",
        (_midnight(period.start), _midnight(period.resets_on)),
    )[0]
    day_ago = tx.one(
        "SELECT COUNT(*) FROM usage_records WHERE business_initiated = 1 AND at > ?",
        (iso(now - timedelta(hours=24)),),
    )[0]
    unverified = tx.one(
        "SELECT COUNT(*) FROM channels WHERE verified_business = 0 "
        "AND status IN ('connected', 'unhealthy')"
    )[0]
    return schemas.Usage(
        used=used,
        limit=rules.limit,
        period_start=period.start,
        resets_on=period.resets_on,
        business_initiated_24h=day_ago,
        verified_business=unverified == 0,
        level=usage_rules.usage_level(used, rules.limit),
    )


@dataclass(frozen=True, slots=True)
class UsageDecision:
    counts: bool
    business_initiated: bool


def count_send(
    tx: Tx,
    rules: UsageRules,
    *,
    thread_id: int,
    contact_id: int,
    verified_business: bool,
) -> UsageDecision:
    """Check the limits for one outbound message and count it; raises when refused.

    Call it *before* inserting the message: a refusal then rolls back nothing. The
    caller links the record to the message with ``link_usage_record``.
    """
    tx.exclusive(USAGE_LOCK)  # another process's send counts after this one commits
    row = tx.one(
        "SELECT session_expires_at, session_counted FROM threads WHERE id = ?", (thread_id,)
    )
    expires = parse_dt(row["session_expires_at"]) if row is not None else None
    session_open = is_open(expires, tx.now)
    counts = usage_rules.counts_as_conversation(
        tx.now,
        session_open=session_open,
        session_already_counted=bool(row["session_counted"]) if row is not None else False,
    )
    decision = UsageDecision(counts=counts, business_initiated=not session_open)
    if not counts:
        return decision
    current = usage_in_tx(tx, rules)
    usage_rules.check_usage(
        used=current.used, limit=rules.limit, counts=True, resets_on=current.resets_on
    )
    usage_rules.check_unverified(
        verified=verified_business,
        business_initiated_24h=current.business_initiated_24h,
        counts=decision.business_initiated,
    )
    tx.insert(
        "usage_records",
        {
            "message_id": None,
            "thread_id": thread_id,
            "contact_id": contact_id,
            "at": tx.now_iso,
            "business_initiated": int(decision.business_initiated),
        },
    )
    if session_open:
        tx.execute("UPDATE threads SET session_counted = 1 WHERE id = ?", (thread_id,))
    return decision


def link_usage_record(tx: Tx, thread_id: int, message_id: int) -> None:
    tx.execute(
        "UPDATE usage_records SET message_id = ? WHERE id = "
        "(SELECT MAX(id) FROM usage_records WHERE thread_id = ? AND message_id IS NULL)",
        (message_id, thread_id),
    )


def emit_usage(tx: Tx, rules: UsageRules) -> schemas.Usage:
    current = usage_in_tx(tx, rules)
    tx.emit(schemas.EventType.usage_updated, current.model_dump(mode="json"))
    return current


# the priced outbound messages of a period, by number, market and category, from the
# daily counts statuses keep (migration 0017)
PRICED_COUNTS = """SELECT business_number AS number, NULLIF(market, '') AS market, category,
    NULLIF(billable, -1) AS billable, SUM(messages) AS messages
FROM pricing_daily WHERE day >= ? AND day < ?
GROUP BY business_number, market, category, billable HAVING SUM(messages) > 0"""


def _tally(tally: pricing.Tally) -> dict[str, object]:
    return {
        "messages": tally.messages,
        "billable": tally.billable,
        "free": tally.free,
        "unknown": tally.unknown,
        "in_allowance": tally.in_allowance,
        "charged": tally.charged,
        "unpriced": tally.unpriced,
        "estimate": tally.cost,
    }


def month_view(
    period: usage_rules.Period,
    previous: usage_rules.Period,
    counts: list[pricing.PricedCount],
    previous_counts: list[pricing.PricedCount],
    rules: PricingRules,
) -> schemas.UsageMonth:
    """The month's figures, estimate, trend and budget from the two months' counts."""
    card = rules.rate_card
    this = pricing.estimate_month(
        counts, rate_card=card, free_service_messages=rules.free_service_messages
    )
    before = pricing.estimate_month(
        previous_counts, rate_card=card, free_service_messages=rules.free_service_messages
    )
    change = this.total.messages - before.total.messages
    budget = None
    if card is not None and rules.budget is not None and this.total.cost is not None:
        budget = schemas.Budget(
            amount=rules.budget,
            spent=this.total.cost,
            currency=card.currency,
            level=pricing.budget_level(this.total.cost, rules.budget),
        )
    return schemas.UsageMonth(
        month=pricing.month_label(period),
        period_start=period.start,
        resets_on=period.resets_on,
        rate_card=card is not None,
        currency=this.currency,
        free_service_messages_per_month=rules.free_service_messages,
        lines=[
            schemas.UsageMonthLine(business_number=number, category=category, **_tally(tally))
            for (number, category), tally in sorted(this.lines.items())
        ],
        total=schemas.UsageTally(**_tally(this.total)),
        previous_month=pricing.month_label(previous),
        previous=schemas.UsageTally(**_tally(before.total)),
        messages_change=change,
        messages_change_percent=(
            round(change * 100 / before.total.messages, 1) if before.total.messages else None
        ),
        estimate_change=(
            this.total.cost - before.total.cost
            if this.total.cost is not None and before.total.cost is not None
            else None
        ),
        budget=budget,
    )


class UsageStore(StoreBase):
    usage_rules: UsageRules = UsageRules()

    def set_usage_rules(self, *, limit: int, subscription_start: date) -> None:
        self.usage_rules = UsageRules(limit=limit, subscription_start=subscription_start)

    async def usage(self, rules: UsageRules | None = None) -> schemas.Usage:
        """The meter now: used/limit this period, reset date, business-initiated in 24 h."""
        chosen = rules or self.usage_rules
        return await self.write(lambda tx: usage_in_tx(tx, chosen))

    async def priced_counts(self, period: usage_rules.Period) -> list[pricing.PricedCount]:
        rows = await self.readers.all(
            PRICED_COUNTS, (period.start.isoformat(), period.resets_on.isoformat())
        )
        return [
            pricing.PricedCount(
                business_number=row["number"],
                market=row["market"],
                category=row["category"],
                billable=None if row["billable"] is None else bool(row["billable"]),
                messages=row["messages"],
            )
            for row in rows
        ]

    async def usage_month(
        self, month: tuple[int, int] | None, rules: PricingRules
    ) -> schemas.UsageMonth:
        """A usage month (the current one by the store's clock when ``month`` is None):
        messages per number and category, billable and free, the estimate with a rate
        card, the trend against the month before, the budget."""
        start = self.usage_rules.subscription_start
        if month is None:
            period = usage_rules.billing_period(self.now(), start)
        else:
            period = pricing.month_period(*month, start)
        previous = pricing.previous_period(period, start)
        return month_view(
            period,
            previous,
            await self.priced_counts(period),
            await self.priced_counts(previous),
            rules,
        )

    async def send_prices(self, thread_id: int, rules: PricingRules) -> schemas.SendPrices:
        """What a send in the thread would be billed as now, per category: by the contact's
        country, the rate card and what is left of the number's free service allowance in
        the usage month the store's clock is in."""
        row = await self.readers.one(
            "SELECT COALESCE(th.business_number, th.phone_number_id, '') AS number, "
            "c.country, mb.removed_at AS mailbox_removed_at FROM threads th "
            "LEFT JOIN contacts c ON c.id = th.contact_id "
            "LEFT JOIN email_channels mb ON mb.id = th.email_channel_id WHERE th.id = ?",
            (thread_id,),
        )
        if row is None:
            raise NotFound("There is no such thread.", code="thread_not_found")
        period = usage_rules.billing_period(self.now(), self.usage_rules.subscription_start)
        left = pricing.free_service_messages_left(
            await self.priced_counts(period), row["number"], rules.free_service_messages
        )
        market = (row["country"] or "").upper() or None
        card = rules.rate_card
        email_from = await self.readers.value(
            "SELECT address FROM email_channels WHERE removed_at IS NULL ORDER BY id LIMIT 1"
        )
        return schemas.SendPrices(
            email_from=email_from,
            mailbox_removed=row["mailbox_removed_at"] is not None,
            thread_id=thread_id,
            business_number=row["number"],
            market=market,
            rate_card=card is not None,
            currency=card.currency if card else None,
            free_service_messages_left=left,
            prices=[
                schemas.SendPrice(category=price.category, free=price.free, price=price.price)
                for price in pricing.send_prices(market, rate_card=card, free_service_left=left)
            ],
        )

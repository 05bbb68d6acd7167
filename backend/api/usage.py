"""The usage meter (conversations used this month, the limit and the reset date) and the
month view of what WhatsApp bills (messages per category and number, the estimate)."""

from __future__ import annotations

from aiohttp import web
from pydantic import Field

from backend import schemas
from backend.api.wire import operation, parse_query, path_int, respond
from backend.config import Settings, load_rate_card
from backend.domain import pricing
from backend.keys import SETTINGS, STORE
from backend.store.usage import PricingRules

routes = web.RouteTableDef()


def pricing_rules(settings: Settings) -> PricingRules:
    """The settings' pricing rules; a rate card broken since start-up is a clear error."""
    try:
        card = load_rate_card(settings.rate_card)
    except pricing.RateCardError as exc:
        raise pricing.RateCardUnusable(str(exc), code="rate_card_unusable") from None
    return PricingRules(
        rate_card=card,
        free_service_messages=settings.free_service_messages_per_month,
        budget=settings.budget,
    )


@operation(
    routes,
    "GET",
    "/api/v1/usage",
    summary="Conversations used this period, the limit, the reset date, business-initiated in "
    "24 h, and the month's estimate against the budget",
    response=schemas.Usage,
)
async def get_usage(request: web.Request) -> web.Response:
    store = request.app[STORE]
    usage = await store.usage()
    settings = request.app[SETTINGS]
    if settings.budget is not None and settings.rate_card is not None:
        month = await store.usage_month(None, pricing_rules(settings))
        usage = usage.model_copy(update={"budget": month.budget})
    return respond(usage)


class MonthQuery(schemas.WireModel):
    month: str | None = Field(default=None, max_length=16)  # YYYY-MM; the current one if absent


@operation(
    routes,
    "GET",
    "/api/v1/usage/month",
    summary="A usage month: messages per category and business number, billable and free, "
    "the estimate (with a rate card), the trend against the month before",
    query=MonthQuery,
    response=schemas.UsageMonth,
)
async def get_usage_month(request: web.Request) -> web.Response:
    query = parse_query(request, MonthQuery)
    month = pricing.parse_month(query.month) if query.month is not None else None
    rules = pricing_rules(request.app[SETTINGS])
    return respond(await request.app[STORE].usage_month(month, rules))


@operation(
    routes,
    "GET",
    "/api/v1/threads/{id}/send-price",
    summary="What a send in the thread would be billed as, per category (service, utility, "
    "marketing, authentication): free within the number's monthly allowance, and with a rate "
    "card its price in the customer's market",
    response=schemas.SendPrices,
)
async def get_send_price(request: web.Request) -> web.Response:
    thread_id = path_int(request, "id")
    rules = pricing_rules(request.app[SETTINGS])
    return respond(await request.app[STORE].send_prices(thread_id, rules))

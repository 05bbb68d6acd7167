"""What WhatsApp bills, in words: the price of a send (composer and template picker) and
amounts of money, from the server's ``SendPrices`` and ``UsageMonth``."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from rich.text import Text

from backend.schemas import SendPrice, SendPrices

if TYPE_CHECKING:
    from backend.schemas import Template

NO_PRICE = "no price on the rate card"


def money(amount: Decimal, currency: str | None) -> str:
    """``0.0625 EUR``, ``2.00 EUR``: as precise as the rate card, at least cents."""
    shown = amount.normalize()
    exponent = shown.as_tuple().exponent
    if isinstance(exponent, int) and exponent > -2:
        shown = shown.quantize(Decimal("0.01"))
    return f"{shown:f} {currency}" if currency else f"{shown:f}"


def price_for(prices: SendPrices | None, category: str) -> SendPrice | None:
    if prices is None:
        return None
    return next((p for p in prices.prices if p.category == category), None)


def _cost(prices: SendPrices, price: SendPrice | None) -> str | None:
    """``free (998 left this month)``, ``0.02 EUR``, the card's silence; None: nothing to add."""
    if price is not None and price.free:
        return f"free ({prices.free_service_messages_left} left this month)"
    if not prices.rate_card:
        return None
    if price is None or price.price is None:
        return NO_PRICE
    return money(price.price, prices.currency)


def reply_billing(prices: SendPrices | None) -> str:
    """The composer's words for a reply (a service message) in this thread."""
    if prices is None:
        return "billed as a service message"
    cost = _cost(prices, price_for(prices, "service"))
    return "billed as a service message" + (f": {cost}" if cost else "")


def template_billing(template: Template, prices: SendPrices | None) -> Text:
    """What WhatsApp bills a template send as: its category, a marketing one plainly, and
    with a rate card its price in the customer's market."""
    category = (template.category or "").strip().lower()
    if not category:
        return Text("Billed as: the category WhatsApp gives it (not known yet).", "dim")
    cost = _cost(prices, price_for(prices, category)) if prices is not None else None
    if category == "marketing":
        line = "A marketing template: WhatsApp bills it as marketing"
        return Text(line + (f", {cost}." if cost else "."), "bold")
    return Text(f"Billed as {category}" + (f": {cost}." if cost else "."), "dim")

"""Meta's error codes in plain words for agents (WHATSAPP.md "Error codes to translate").

``plain_error(code, details)`` is the one translation: the status webhooks use it for
``failed`` statuses and the outbox for synchronous Graph API errors. Branch on the code
(and ``error_data.details``), never on Meta's title text.
"""

from __future__ import annotations

PLAIN_ERRORS: dict[int, str] = {
    131047: (
        "More than 24 hours since the customer last wrote or called: send a template instead."
    ),
    131026: (
        "The message could not be delivered: the number may not be on WhatsApp, the customer "
        "may not have accepted the terms, or their app is out of date."
    ),
    131051: "This message type is not supported by WhatsApp.",
    131052: "WhatsApp could not download the attached media.",
    131053: "WhatsApp could not upload the attached media.",
    131056: (
        "Too many messages to this customer in a short time (about one per 6 seconds); "
        "it will be retried."
    ),
    130429: "WhatsApp's throughput limit was reached; it will be retried later.",
    4: "The app's WhatsApp API call-rate limit was reached; it will be retried later.",
    80007: "The WhatsApp Business Account's call-rate limit was reached; it will be retried later.",
    131048: "Spam rate limit reached: this business number is restricted for now.",
    131049: (
        "Meta chose not to deliver this message (marketing limit for a healthy ecosystem); "
        "don't resend it within 24 hours."
    ),
    131050: "The customer stopped marketing messages from this business.",
    131042: "There is a payment problem on the WhatsApp Business Account (billing).",
    132000: "The number of template variables does not match the template.",
    132001: "The template does not exist in that language, or it is not approved.",
    132005: "The template text is too long once the variables are filled in.",
    132007: "The template's content breaks WhatsApp's template policy.",
    132008: "A template variable has an invalid value.",
    132012: "A template variable does not have the format the template expects.",
    132015: "The template is paused (poor quality); pick another one.",
    132016: "The template is disabled; pick another one.",
    131008: "A required parameter is missing from the request.",
    131009: "A parameter of the request is invalid.",
    100: "A parameter of the request is invalid.",
    131062: "This message cannot be sent to a customer known only by their WhatsApp user id.",
    137000: "The customer's identity key changed; the message was not sent.",
    190: "The WhatsApp access token expired or was revoked: the channel needs reconnecting.",
    368: "This business number is temporarily blocked for policy violations.",
    131031: "The WhatsApp Business Account is locked (this also follows a wrong two-step PIN).",
    133010: "The business phone number is not registered with WhatsApp.",
    131057: "The WhatsApp Business Account is in maintenance mode; it will be retried later.",
    131060: "This message is currently unavailable.",
    1: "WhatsApp had an internal error or was unavailable; it will be retried.",
    2: "WhatsApp's service was temporarily unavailable; it will be retried.",
    131000: "WhatsApp had an internal error; it will be retried.",
    131016: "WhatsApp's service is overloaded or unavailable; it will be retried.",
}

DETAILS_MAX = 200


def plain_error(code: int | None, details: str | None = None) -> str:
    """The agent's sentence for a Meta error code; unknown codes keep Meta's details."""
    if code is not None and code in PLAIN_ERRORS:
        return PLAIN_ERRORS[code]
    detail = " ".join((details or "").split())[:DETAILS_MAX]
    if code is None:
        return f"WhatsApp reported an error: {detail}" if detail else "WhatsApp reported an error."
    if detail:
        return f"WhatsApp error {code}: {detail}"
    return f"WhatsApp error {code}."

"""Meta's error shapes: synchronous Graph API errors and asynchronous status errors."""

from __future__ import annotations

import secrets
from typing import Any

from aiohttp import web

# code -> (title, HTTP status of a synchronous answer)
ERROR_CATALOGUE: dict[int, tuple[str, int]] = {
    1: ("API Unknown", 500),
    2: ("API Service", 503),
    4: ("API Too Many Calls", 400),
    100: ("Invalid parameter", 400),
    190: ("Access token has expired", 401),
    368: ("Temporarily blocked for policies violations", 400),
    80007: ("Rate limit issues", 400),
    130429: ("Rate limit hit", 429),
    131000: ("Something went wrong", 500),
    131008: ("Required parameter is missing", 400),
    131009: ("Parameter value is not valid", 400),
    131016: ("Service unavailable", 503),
    131026: ("Message undeliverable", 400),
    131031: ("Business Account locked", 400),
    131042: ("Business eligibility payment issue", 400),
    131047: ("Re-engagement message", 400),
    131048: ("Spam rate limit hit", 400),
    131049: ("This message was not delivered to maintain healthy ecosystem engagement.", 400),
    131050: ("Unable to deliver the message. This recipient has chosen to stop receiving", 400),
    131051: ("Message type unknown", 400),
    131052: ("Media download error", 400),
    131053: ("Media upload error", 400),
    131056: ("(Business Account, Consumer Account) pair rate limit hit", 400),
    131057: ("Account in maintenance mode", 400),
    131062: ("Message cannot be sent to a BSUID recipient", 400),
    132000: ("Number of parameters does not match the expected number of params", 400),
    132001: ("Template name does not exist in the translation", 400),
    132005: ("Translated text too long", 400),
    132007: ("Template Format Character Policy Violated", 400),
    132008: ("Template parameter value is invalid", 400),
    132012: ("Parameter format does not match format in the created template", 400),
    132015: ("Template is Paused", 400),
    132016: ("Template is Disabled", 400),
    133005: ("Two step verification PIN Mismatch", 400),
    133006: ("Phone number re-verification needed", 400),
    133008: ("Too many two step verification PIN guesses", 400),
    133010: ("Phone number Not Registered", 400),
    136025: ("Verification code incorrect", 400),
    2200: ("Callback verification failed", 400),
    2500: ("Unknown path components", 400),
}

# Connected to another WhatsApp account / app / integration. Meta's exact code for this
# refusal is not documented in our references; the simulator uses 100 with this subcode
# and says in `error_data.details` that the number must be disconnected there first.
NUMBER_CONNECTED_ELSEWHERE_SUBCODE = 2388001

ERROR_HREF = "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"


def error_title(code: int) -> str:
    return ERROR_CATALOGUE.get(code, ("Error", 400))[0]


def fbtrace_id() -> str:
    return "A" + secrets.token_urlsafe(16)


class GraphError(Exception):
    """A synchronous Graph API error, rendered in Meta's JSON shape."""

    def __init__(
        self,
        code: int,
        details: str | None = None,
        *,
        message: str | None = None,
        http_status: int | None = None,
        subcode: int | None = None,
        error_type: str = "OAuthException",
        with_error_data: bool = True,
    ) -> None:
        title, default_status = ERROR_CATALOGUE.get(code, ("Error", 400))
        self.code = code
        self.details = details or title
        self.message = message or f"(#{code}) {title}"
        self.http_status = http_status or default_status
        self.subcode = subcode
        self.error_type = error_type
        self.with_error_data = with_error_data
        super().__init__(self.message)

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {
            "message": self.message,
            "type": self.error_type,
            "code": self.code,
        }
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        if self.with_error_data:
            error["error_data"] = {"messaging_product": "whatsapp", "details": self.details}
        error["fbtrace_id"] = fbtrace_id()
        return {"error": error}

    def response(self) -> web.Response:
        return web.json_response(self.body(), status=self.http_status)


def token_error(expired: bool) -> GraphError:
    """Meta's OAuth error for a bad or expired token: code 190, no `error_data`."""
    if expired:
        return GraphError(
            190,
            message="Error validating access token: Session has expired.",
            subcode=463,
            with_error_data=False,
        )
    return GraphError(
        190,
        message="Invalid OAuth access token - Cannot parse access token",
        with_error_data=False,
    )


def unknown_object(object_id: str, method: str) -> GraphError:
    return GraphError(
        100,
        message=(
            f"Unsupported {method.lower()} request. Object with ID '{object_id}' does not "
            "exist, cannot be loaded due to missing permissions, or does not support this "
            "operation."
        ),
        subcode=33,
        error_type="GraphMethodException",
        with_error_data=False,
    )


def unknown_path(components: str) -> GraphError:
    """Meta's answer to an edge it does not know (`GET /{id}/no_such_edge`): HTTP 400."""
    return GraphError(
        2500,
        message=f"Unknown path components: {components}",
        http_status=400,
        with_error_data=False,
    )


def status_error(code: int, details: str | None = None) -> dict[str, Any]:
    """The `errors[]` item of a `failed` status webhook."""
    title = error_title(code)
    return {
        "code": code,
        "title": title,
        "message": title,
        "error_data": {"details": details or STATUS_ERROR_DETAILS.get(code, title)},
        "href": ERROR_HREF,
    }


STATUS_ERROR_DETAILS: dict[int, str] = {
    131047: "Message failed to send because more than 24 hours have passed since the "
    "customer last replied to this number.",
    131026: "Message Undeliverable.",
    131049: "In order to maintain a healthy ecosystem engagement, the message failed to "
    "be delivered.",
    131050: "Unable to deliver the message. This recipient has chosen to stop receiving "
    "marketing messages on WhatsApp from your business.",
    131053: "Unable to upload the media used in the message.",
    131052: "Unable to download the media sent by the user.",
}

"""The channel connection wizard (SPEC §2) against the Graph API, shared by the API and the CLI.

Each step is validated at Meta before anything is recorded as connected: a number is
``connected`` only once it is registered and the app is subscribed to its WABA's
webhooks; a refusal leaves it ``pending`` (or not recorded at all).
"""

from __future__ import annotations

import logging
import re
import zoneinfo
from dataclasses import dataclass
from functools import cache

from backend import schemas
from backend.domain.errors import Conflict, InvalidField, LimitReached
from backend.store import Store
from backend.whatsapp.graph import GraphClient, GraphError, GraphTimeout, GraphUnreachable
from backend.whatsapp.template_sync import sync_templates
from backend.whatsapp.upstream import upstream_error

log = logging.getLogger(__name__)

# WhatsApp's business profile categories (``vertical``)
BUSINESS_CATEGORIES = (
    "UNDEFINED", "OTHER", "AUTO", "BEAUTY", "APPAREL", "EDU", "ENTERTAIN", "EVENT_PLAN",
    "FINANCE", "GROCERY", "GOVT", "HOTEL", "HEALTH", "NONPROFIT", "PROF_SERVICES", "RETAIL",
    "TRAVEL", "RESTAURANT", "ALCOHOL", "ONLINE_GAMBLING", "PHYSICAL_GAMBLING", "OTC_DRUGS",
)  # fmt: skip
CONNECTED_ELSEWHERE_SUBCODE = 2388001
NUMBER_GUIDANCE = (
    "The number must be able to receive an SMS or a voice call, and must not be an IVR."
)
URL_PATTERN = re.compile(
    r"^https?://(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}(?::\d{1,5})?(?:[/?#]\S*)?$"
)
EMAIL_PATTERN = re.compile(
    r"^[^@\s]+@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)


@dataclass
class WebhookTarget:
    """Where Meta should deliver this backend's webhooks (None: the app's configured URL)."""

    callback_url: str | None = None
    verify_token: str | None = None


@cache
def _time_zones() -> frozenset[str]:
    """The IANA names this machine knows, read once: ``available_timezones()`` walks the
    whole tz database (600 files, 60-150 ms) at every call, on the event loop."""
    return frozenset(zoneinfo.available_timezones())


def validate_business(details: schemas.BusinessDetails, profile: schemas.BusinessProfile) -> None:
    if not URL_PATTERN.match(details.website.strip()):
        raise InvalidField(
            "The website must be a full address such as https://example.com.",
            field="business.website",
        )
    if not EMAIL_PATTERN.match(details.email.strip()):
        raise InvalidField(
            "The business e-mail must be an address such as support@example.com.",
            field="business.email",
        )
    if not details.country.isalpha():
        raise InvalidField(
            "The country must be a two-letter code such as ES or US.", field="business.country"
        )
    if details.time_zone not in _time_zones():
        raise InvalidField(
            "The time zone must be an IANA name such as Europe/Madrid.", field="business.time_zone"
        )
    if profile.category.upper() not in BUSINESS_CATEGORIES:
        raise InvalidField(
            f"The category must be one of WhatsApp's: {', '.join(BUSINESS_CATEGORIES)}.",
            field="profile.category",
        )


async def create_channel(
    store: Store, graph: GraphClient, spec: schemas.ChannelCreate, *, actor_id: int | None
) -> schemas.Channel:
    """Steps 1–3: business details, the account (read at Meta), the profile."""
    validate_business(spec.business, spec.profile)
    try:
        account = await graph.get_account(spec.access_token, spec.waba_id)
    except GraphError as exc:
        if exc.code == 190:
            raise InvalidField(
                "Meta refused this access token (expired, revoked or mistyped); create a "
                "system-user token with whatsapp_business_management and "
                "whatsapp_business_messaging permissions.",
                field="access_token",
                code="invalid_token",
            ) from None
        if exc.code == 100:
            raise InvalidField(
                "No WhatsApp Business Account with this id is visible with this token.",
                field="waba_id",
                code="account_not_found",
            ) from None
        raise await upstream_error(None, exc) from None
    except (GraphTimeout, GraphUnreachable) as exc:
        raise await upstream_error(None, exc) from None
    if str(account.get("account_type", "BUSINESS")).upper() == "PERSONAL":
        raise InvalidField(
            "This is a personal WhatsApp account, not a business one. Convert it first: create "
            "a business portfolio at business.facebook.com, add a WhatsApp Business Account to "
            "it (or migrate the number from the WhatsApp Business app), then connect that "
            "account's id here.",
            field="waba_id",
            code="personal_account",
        )
    verified = str(account.get("business_verification_status", "")).lower() == "verified"
    channel = await store.upsert_channel(spec, verified_business=verified, actor_id=actor_id)
    try:
        await sync_templates(store, graph, channel_id=channel.id)
    except Exception:  # the channel stands; templates can be synced on demand
        log.warning("template sync after connecting channel %d failed", channel.id, exc_info=True)
    return channel


async def available_numbers(
    store: Store, graph: GraphClient, channel_id: int
) -> list[schemas.AvailablePhoneNumber]:
    secret = await store.channel_secret(channel_id)
    try:
        numbers = await graph.list_phone_numbers(secret.access_token, secret.waba_id)
    except (GraphError, GraphTimeout, GraphUnreachable) as exc:
        raise await upstream_error(store, exc, channel_id=channel_id) from None
    return [
        schemas.AvailablePhoneNumber(
            phone_number_id=str(n.get("id")),
            display_phone_number=str(n.get("display_phone_number") or n.get("id")),
            verified_name=n.get("verified_name"),
            code_verification_status=n.get("code_verification_status"),
        )
        for n in numbers
        if n.get("id")
    ]


async def add_phone_number(
    store: Store,
    graph: GraphClient,
    channel_id: int,
    spec: schemas.PhoneNumberAdd,
    *,
    actor_id: int | None,
    webhook: WebhookTarget | None = None,
) -> schemas.PhoneNumber:
    """Step 4: pick a number of the WABA (connected at once when it is registered or a PIN
    is given) or create a new one (then request-code and verify-code)."""
    secret = await store.channel_secret(channel_id)
    token = secret.access_token
    if spec.phone_number_id:
        await store.check_room_for_number(channel_id, spec.phone_number_id)
        try:
            numbers = await graph.list_phone_numbers(token, secret.waba_id)
        except (GraphError, GraphTimeout, GraphUnreachable) as exc:
            raise await upstream_error(store, exc, channel_id=channel_id) from None
        info = next((n for n in numbers if str(n.get("id")) == spec.phone_number_id), None)
        if info is None:
            raise InvalidField(
                "This WhatsApp Business Account has no phone number with that id.",
                field="phone_number_id",
            )
        registered = str(info.get("status", "")).upper() == "CONNECTED"
        verified = str(info.get("code_verification_status", "")).upper() == "VERIFIED"
        if spec.pin is None and not registered:
            if verified:
                raise InvalidField(
                    "Registering this verified number needs its 6-digit two-step PIN.",
                    field="pin",
                )
            return await store.add_phone_number(channel_id, info, actor_id=actor_id)
        if spec.pin is not None:
            await _register(store, graph, channel_id, spec.phone_number_id, spec.pin)
        await _subscribe(store, graph, channel_id, webhook)
        number = await store.add_phone_number(channel_id, info, actor_id=actor_id)
        connected = await store.connect_phone_number(channel_id, number.id, actor_id=actor_id)
        await _apply_profile(store, graph, channel_id, connected.phone_number_id)
        return connected
    missing = [name for name in ("cc", "phone_number", "verified_name") if not getattr(spec, name)]
    if missing:
        raise InvalidField(
            "Pick an existing number (phone_number_id) or give cc, phone_number and "
            f"verified_name for a new one. {NUMBER_GUIDANCE}",
            field=missing[0],
        )
    await store.check_room_for_number(channel_id, None)
    assert spec.cc and spec.phone_number and spec.verified_name
    try:
        new_id = await graph.create_phone_number(
            token,
            secret.waba_id,
            cc=spec.cc.lstrip("+"),
            phone_number=spec.phone_number,
            verified_name=spec.verified_name,
        )
    except GraphError as exc:
        if exc.code == 100 and exc.http_status < 500:
            raise InvalidField(
                f"Meta refused the number: {exc.details or exc.message}", field="phone_number"
            ) from None
        raise await upstream_error(store, exc, channel_id=channel_id) from None
    except (GraphTimeout, GraphUnreachable) as exc:
        raise await upstream_error(store, exc, channel_id=channel_id) from None
    digits = re.sub(r"\D", "", f"{spec.cc}{spec.phone_number}")
    info = {
        "id": new_id,
        "display_phone_number": digits,
        "verified_name": spec.verified_name,
        "code_verification_status": "NOT_VERIFIED",
    }
    return await store.add_phone_number(channel_id, info, actor_id=actor_id)


async def request_code(
    store: Store, graph: GraphClient, channel_id: int, number_id: int, spec: schemas.RequestCode
) -> schemas.PhoneNumber:
    number = await store.get_phone_number(channel_id, number_id)
    if number.status == schemas.ChannelStatus.connected:
        raise Conflict("This number is connected already.", code="number_already_connected")
    secret = await store.channel_secret(channel_id)
    try:
        await graph.request_code(
            secret.access_token,
            number.phone_number_id,
            code_method=spec.code_method,
            language=spec.language,
        )
    except GraphError as exc:
        if exc.http_status < 500 and exc.code not in (190, 4, 80007, 130429):
            raise InvalidField(
                f"Meta could not send the code: {exc.details or exc.message}. {NUMBER_GUIDANCE}",
                field="code_method",
            ) from None
        raise await upstream_error(store, exc, channel_id=channel_id) from None
    except (GraphTimeout, GraphUnreachable) as exc:
        raise await upstream_error(store, exc, channel_id=channel_id) from None
    return number


async def verify_code(
    store: Store,
    graph: GraphClient,
    channel_id: int,
    number_id: int,
    spec: schemas.VerifyCode,
    *,
    actor_id: int | None,
    webhook: WebhookTarget | None = None,
) -> schemas.PhoneNumber:
    """Step 4–5: the code, registration with the PIN, the webhook subscription → connected."""
    number = await store.get_phone_number(channel_id, number_id)
    if number.status == schemas.ChannelStatus.connected:
        raise Conflict("This number is connected already.", code="number_already_connected")
    await store.check_room_for_number(channel_id, number.phone_number_id)
    secret = await store.channel_secret(channel_id)
    try:
        await graph.verify_code(secret.access_token, number.phone_number_id, spec.code)
    except GraphError as exc:
        if exc.http_status < 500 and exc.code not in (190, 4, 80007, 130429):
            raise InvalidField(
                "That code is not correct, or no code was requested; request a new one.",
                field="code",
                code="wrong_code",
            ) from None
        raise await upstream_error(store, exc, channel_id=channel_id) from None
    except (GraphTimeout, GraphUnreachable) as exc:
        raise await upstream_error(store, exc, channel_id=channel_id) from None
    await store.set_code_verification(channel_id, number_id, "VERIFIED")
    await _register(store, graph, channel_id, number.phone_number_id, spec.pin)
    await _subscribe(store, graph, channel_id, webhook)
    connected = await store.connect_phone_number(channel_id, number_id, actor_id=actor_id)
    await _apply_profile(store, graph, channel_id, connected.phone_number_id)
    return connected


async def _register(
    store: Store, graph: GraphClient, channel_id: int, phone_number_id: str, pin: str
) -> None:
    secret = await store.channel_secret(channel_id)
    try:
        await graph.register_phone_number(secret.access_token, phone_number_id, pin)
    except GraphError as exc:
        details = exc.details or exc.message
        if exc.subcode == CONNECTED_ELSEWHERE_SUBCODE or "another" in details.lower():
            raise Conflict(
                f"Meta refused to register the number: {details} Disconnect it from the other "
                "WhatsApp account, app or integration (or delete that WhatsApp account), then "
                "connect it here again.",
                code="number_connected_elsewhere",
            ) from None
        if exc.code == 133005:
            raise InvalidField(
                "The two-step verification PIN does not match the number's PIN.", field="pin"
            ) from None
        if exc.code == 133008:
            raise LimitReached(
                "Too many wrong PINs: Meta allows 10 attempts in 72 hours; try again later.",
                code="pin_attempts_exhausted",
            ) from None
        if exc.code == 133006:
            raise Conflict(
                "The number must be verified with a code first (request-code, verify-code).",
                code="number_not_verified",
            ) from None
        raise await upstream_error(store, exc, channel_id=channel_id) from None
    except (GraphTimeout, GraphUnreachable) as exc:
        raise await upstream_error(store, exc, channel_id=channel_id) from None


async def _subscribe(
    store: Store, graph: GraphClient, channel_id: int, webhook: WebhookTarget | None
) -> None:
    secret = await store.channel_secret(channel_id)
    try:
        await graph.subscribe_app(
            secret.access_token,
            secret.waba_id,
            override_callback_uri=webhook.callback_url if webhook else None,
            verify_token=webhook.verify_token if webhook else None,
        )
    except (GraphError, GraphTimeout, GraphUnreachable) as exc:
        raise await upstream_error(store, exc, channel_id=channel_id) from None


async def _apply_profile(
    store: Store, graph: GraphClient, channel_id: int, phone_number_id: str
) -> None:
    """Step 3's business profile, set on the connected number (best effort)."""
    secret = await store.channel_secret(channel_id)
    profile = secret.profile
    if not profile:
        return
    body = {"vertical": str(profile.get("category", "OTHER")).upper()}
    if profile.get("description"):
        body["description"] = str(profile["description"])
    try:
        await graph.update_business_profile(secret.access_token, phone_number_id, body)
    except (GraphError, GraphTimeout, GraphUnreachable) as exc:
        log.warning("setting the business profile of %s failed: %s", phone_number_id, exc)

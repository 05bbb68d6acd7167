"""Webhooks as a third-party client (`pywa`) reads Meta's API, posted to the backend.

pywa ships no sample webhooks, so each sample here is written by hand and first parsed
by pywa into the update type it names: the shape is then one that someone else's
reading of Meta accepts, not only ours. The backend must answer every one 200, never
5xx, whatever it makes of it. pywa is a test-only dependency, imported plainly: a
missing pywa fails this module instead of skipping it.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

import httpx
import pytest
from pywa import WhatsApp as ParsingClient
from pywa import types as pt
from pywa.types.base_update import BaseUpdate, RawUpdate

from tests.support import TEST_TLS
from tests.whatsapp import payloads as p
from tests.whatsapp.conftest import NOW, serialise, signed_post

BUSINESS_REPLIED = "wamid.HBgLMzQ2MTIzNDU2NzgVAgARGBJCQUZGRkFGRjAwMDEA"


def account_envelope(field: str, value: dict[str, Any], at: datetime) -> dict[str, Any]:
    """An account-level change: Meta stamps its entry with `time`."""
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": p.WABA_ID,
                "time": int(at.timestamp()),
                "changes": [{"field": field, "value": value}],
            }
        ],
    }


def interactive(kind: str, reply: dict[str, Any], *, at: datetime) -> dict[str, Any]:
    return p.message(
        "interactive",
        {"type": kind, kind: reply},
        at=at,
        context={"from": p.DISPLAY_NUMBER, "id": BUSINESS_REPLIED},
    )


def template_change(**fields: Any) -> dict[str, Any]:
    return {
        "message_template_id": 1234567890,
        "message_template_name": "order_update",
        "message_template_language": "en_US",
    } | fields


def samples(at: datetime) -> dict[str, tuple[dict[str, Any], type[BaseUpdate]]]:
    """One webhook of each kind pywa 4.5 tells apart, with the update type it parses to."""
    customer = p.contact(username="@maria")
    status = p.status
    return {
        "text": (p.messages_envelope(p.text("hola", at=at)), pt.Message),
        "text_from_an_ad": (
            p.messages_envelope(
                p.text(
                    "Is the offer still on?",
                    at=at,
                    referral={
                        "source_url": "https://fb.me/3cr4Wqqkv",
                        "source_id": "120226305854810726",
                        "source_type": "ad",
                        "headline": "Spring offers",
                        "body": "Chat with us",
                        "media_type": "image",
                        "image_url": "https://scontent.xx.fbcdn.net/ad.jpg",
                        "ctwa_clid": "ARAkLkA8rmlFeiCktEJQ",
                    },
                )
            ),
            pt.Message,
        ),
        "product_enquiry": (
            p.messages_envelope(
                p.text(
                    "Do you have it in blue?",
                    at=at,
                    context={
                        "from": p.DISPLAY_NUMBER,
                        "id": BUSINESS_REPLIED,
                        "referred_product": {
                            "catalog_id": "1234567890",
                            "product_retailer_id": "SKU-1",
                        },
                    },
                )
            ),
            pt.Message,
        ),
        "group_text": (
            p.messages_envelope(p.text("hi all", at=at, group_id="120363025246125486")),
            pt.Message,
        ),
        "image": (p.messages_envelope(p.image(at=at, caption="the box")), pt.Message),
        "edited": (
            p.messages_envelope(
                p.message(
                    "edit",
                    {
                        "original_message_id": p.wamid("orig"),
                        "message": {"type": "text", "text": {"body": "hola, edited"}},
                    },
                    at=at,
                )
            ),
            pt.EditedMessage,
        ),
        "revoked": (
            p.messages_envelope(
                p.message("revoke", {"original_message_id": p.wamid("gone")}, at=at)
            ),
            pt.DeletedMessage,
        ),
        "button_reply": (
            p.messages_envelope(interactive("button_reply", {"id": "yes", "title": "Yes"}, at=at)),
            pt.CallbackButton,
        ),
        "list_reply": (
            p.messages_envelope(
                interactive(
                    "list_reply",
                    {"id": "billing", "title": "Billing", "description": "Invoices"},
                    at=at,
                )
            ),
            pt.CallbackSelection,
        ),
        "template_quick_reply": (
            p.messages_envelope(
                p.message(
                    "button",
                    {"payload": "Talk to us", "text": "Talk to us"},
                    at=at,
                    context={"from": p.DISPLAY_NUMBER, "id": BUSINESS_REPLIED},
                )
            ),
            pt.CallbackButton,
        ),
        "flow_answer": (
            p.messages_envelope(
                interactive(
                    "nfm_reply",
                    {
                        "name": "flow",
                        "body": "Sent",
                        "response_json": json.dumps(
                            {"flow_token": "tok-1", "date": "2026-12-24", "people": "4"}
                        ),
                    },
                    at=at,
                )
            ),
            pt.FlowCompletion,
        ),
        "call_permission_reply": (
            p.messages_envelope(
                interactive(
                    "call_permission_reply",
                    {
                        "response": "accept",
                        "is_permanent": False,
                        "expiration_timestamp": int(at.timestamp()) + 7 * 86400,
                        "response_source": "user_action",
                    },
                    at=at,
                )
            ),
            pt.CallPermissionUpdate,
        ),
        "changed_number": (
            p.envelope(
                (
                    "messages",
                    p.value(
                        messages=[
                            p.message(
                                "system",
                                {
                                    "body": "User Maria changed from 34612345678 to 34612345679",
                                    "wa_id": "34612345679",
                                    "user_id": p.CUSTOMER_USER_ID,
                                    "type": "user_changed_number",
                                },
                                at=at,
                            )
                        ],
                        contacts=[],
                    ),
                )
            ),
            pt.PhoneNumberChange,
        ),
        "identity_changed": (
            p.messages_envelope(
                p.message(
                    "system",
                    {
                        "body": "User Maria's security code changed",
                        "type": "customer_identity_changed",
                    },
                    at=at,
                    identity={
                        "acknowledged": True,
                        "created_timestamp": p.ts(at),
                        "hash": "Sjvjlx8G6Z0=",
                    },
                )
            ),
            pt.IdentityChange,
        ),
        "unsupported_with_errors": (
            p.messages_envelope(
                p.message(
                    "unsupported",
                    {"type": "poll"},
                    at=at,
                    errors=[p.error(131051, "Message type unknown")],
                )
            ),
            pt.Message,
        ),
        **{
            f"status_{kind}": (
                p.statuses_envelope(status(p.wamid(), kind, at=at), contacts=[customer]),
                pt.MessageStatus,
            )
            for kind in ("sent", "delivered", "read", "played")
        },
        "status_failed": (
            p.statuses_envelope(
                status(p.wamid(), "failed", at=at, errors=[p.error(131047, "Re-engagement")]),
                contacts=[p.contact()],
            ),
            pt.MessageStatus,
        ),
        "group_status": (
            p.statuses_envelope(
                status(p.wamid(), "delivered", at=at, recipient_id="120363025246125486")
                | {
                    "recipient_type": "group",
                    "recipient_participant_id": p.CUSTOMER_WA_ID,
                    "recipient_participant_user_id": p.CUSTOMER_USER_ID,
                },
                contacts=[p.contact()],
            ),
            pt.GroupMessageStatuses,
        ),
        "call_connect": (
            p.envelope(("calls", calls_value(at, event="connect", direction="USER_INITIATED"))),
            pt.CallConnect,
        ),
        "call_terminate": (
            p.envelope(
                (
                    "calls",
                    calls_value(
                        at,
                        event="terminate",
                        direction="USER_INITIATED",
                        status="COMPLETED",
                        start_time=p.ts(at),
                        end_time=p.ts(at),
                        duration=42,
                    ),
                )
            ),
            pt.CallTerminate,
        ),
        "call_status": (
            p.envelope(
                (
                    "calls",
                    p.value(
                        statuses=[
                            {
                                "id": "wacid.HBgLMTIxODU1NTI4MjgVAgARGCA",
                                "type": "call",
                                "status": "RINGING",
                                "timestamp": p.ts(at),
                                "recipient_id": p.CUSTOMER_WA_ID,
                            }
                        ],
                        contacts=[p.contact()],
                    ),
                )
            ),
            pt.CallStatus,
        ),
        "marketing_preference": (
            p.envelope(
                (
                    "user_preferences",
                    p.value(contacts=[p.contact()])
                    | {
                        "user_preferences": [
                            {
                                "wa_id": p.CUSTOMER_WA_ID,
                                "detail": "User requested to stop marketing messages",
                                "category": "marketing_messages",
                                "value": "stop",
                                "timestamp": int(at.timestamp()),
                            }
                        ]
                    },
                )
            ),
            pt.UserMarketingPreferences,
        ),
        "echo_from_the_phone": (
            p.envelope(
                (
                    "smb_message_echoes",
                    p.value(contacts=[p.contact()])
                    | {
                        "message_echoes": [
                            {
                                "from": p.DISPLAY_NUMBER,
                                "to": p.CUSTOMER_WA_ID,
                                "id": p.wamid("echo"),
                                "timestamp": p.ts(at),
                                "type": "text",
                                "text": {"body": "Sent from the phone"},
                            }
                        ]
                    },
                )
            ),
            pt.OutgoingMessage,
        ),
        "template_status": (
            account_envelope(
                "message_template_status_update",
                template_change(
                    event="APPROVED", reason="NONE", message_template_category="UTILITY"
                ),
                at,
            ),
            pt.TemplateStatusUpdate,
        ),
        "template_category": (
            account_envelope(
                "template_category_update",
                template_change(previous_category="UTILITY", new_category="MARKETING"),
                at,
            ),
            pt.TemplateCategoryUpdate,
        ),
        "template_quality": (
            account_envelope(
                "message_template_quality_update",
                template_change(previous_quality_score="GREEN", new_quality_score="YELLOW"),
                at,
            ),
            pt.TemplateQualityUpdate,
        ),
        "template_components": (
            account_envelope(
                "message_template_components_update",
                template_change(message_template_element="Hi {{1}}, your order is here"),
                at,
            ),
            pt.TemplateComponentsUpdate,
        ),
        "account_update": (
            account_envelope(
                "account_update",
                {
                    "phone_number": p.DISPLAY_NUMBER,
                    "event": "ACCOUNT_VIOLATION",
                    "violation_info": {"violation_type": "SCAM"},
                },
                at,
            ),
            pt.AccountUpdate,
        ),
    }


def calls_value(at: datetime, **call: Any) -> dict[str, Any]:
    return p.value(contacts=[p.contact()]) | {
        "calls": [
            {
                "id": "wacid.HBgLMTIxODU1NTI4MjgVAgARGCA",
                "to": p.DISPLAY_NUMBER,
                "from": p.CUSTOMER_WA_ID,
                "timestamp": p.ts(at),
            }
            | call
        ]
    }


SAMPLES = samples(NOW)


def pywa_parse(payload: dict[str, Any]) -> BaseUpdate:
    """pywa's own parsing, without its web server (errors propagate)."""
    client = ParsingClient(
        phone_id=p.PHONE_NUMBER_ID,
        token="unused",
        waba_id=p.WABA_ID,
        app_secret="unused",
        # never used (it makes no request): on the run's TLS context, not a new one's CA
        # bundle read (50 ms a client on a loaded machine)
        session=httpx.Client(verify=TEST_TLS),
    )
    body = serialise(payload)
    raw = RawUpdate(body, hmac_header=None, update_hash=hashlib.sha256(body).hexdigest())
    handler = client._get_handler_type(raw)
    assert handler is not None, f"pywa found no handler for {payload}"
    return client._handlers_to_updates[handler].from_update(client=client, update=raw)


@pytest.mark.parametrize("name", list(SAMPLES))
async def test_a_webhook_pywa_reads_as_meta_is_answered_200(
    name: str, meta: httpx.AsyncClient
) -> None:
    payload, update_type = SAMPLES[name]
    assert isinstance(pywa_parse(payload), update_type)
    response = await signed_post(meta, payload)
    assert response.status_code == 200, (name, response.text)
    # Meta redelivers what was not answered 200: the same bytes again must be fine too
    assert (await signed_post(meta, payload)).status_code == 200


async def test_all_of_pywas_samples_in_one_notification_are_answered_200(
    meta: httpx.AsyncClient,
) -> None:
    entries = [entry for payload, _ in SAMPLES.values() for entry in payload["entry"]]
    payload = {"object": "whatsapp_business_account", "entry": entries}
    response = await signed_post(meta, payload)
    assert response.status_code == 200, response.text

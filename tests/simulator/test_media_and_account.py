"""Media, templates paging, account info, phone numbers, registration and subscriptions."""

from __future__ import annotations

import hashlib

from aiohttp import FormData

from backend.simulator.config import PhoneNumberConfig, WabaConfig

from .conftest import (
    PHONE_ID,
    VERIFY_TOKEN,
    WABA_ID,
    RunningSimulator,
    StartSimulator,
    WebhookReceiver,
)

PDF = b"%PDF-1.4\n% ttydesk \xe2\x9c\x93\n%%EOF\n"


def _upload_form(data: bytes, mime_type: str, filename: str = "f.bin") -> FormData:
    form = FormData({"messaging_product": "whatsapp", "type": mime_type})
    form.add_field("file", data, filename=filename, content_type=mime_type)
    return form


async def test_upload_retrieve_download_and_delete(running: RunningSimulator) -> None:
    status, uploaded = await running.graph(
        "POST", f"/{PHONE_ID}/media", data=_upload_form(PDF, "application/pdf", "a.pdf")
    )
    assert status == 200 and set(uploaded) == {"id"}
    status, info = await running.graph("GET", f"/{uploaded['id']}?phone_number_id={PHONE_ID}")
    assert status == 200
    assert info == {
        "url": info["url"],
        "mime_type": "application/pdf",
        "sha256": hashlib.sha256(PDF).hexdigest(),
        "file_size": len(PDF),
        "id": uploaded["id"],
        "messaging_product": "whatsapp",
    }
    status, data = await running.download(info["url"])
    assert status == 200 and data == PDF
    # The download needs the bearer token.
    status, _ = await running.download(info["url"], token=None)
    assert status == 401
    status, _ = await running.download(info["url"], token="wrong")
    assert status == 401

    # The URL expires after 5 minutes; a fresh GET gives a new one.
    await running.control("POST", "/clock", json={"advance_seconds": 301})
    status, _ = await running.download(info["url"])
    assert status == 404
    _, fresh = await running.graph("GET", f"/{uploaded['id']}")
    assert (await running.download(fresh["url"]))[0] == 200
    # A tampered URL is refused.
    assert (await running.download(fresh["url"].replace("hash=", "hash=0")))[0] == 404

    status, deleted = await running.graph("DELETE", f"/{uploaded['id']}")
    assert (status, deleted) == (200, {"success": True})
    status, body = await running.graph("GET", f"/{uploaded['id']}")
    assert status == 400 and body["error"]["code"] == 100
    assert (await running.download(fresh["url"]))[0] == 404


async def test_upload_refusals(running: RunningSimulator) -> None:
    status, body = await running.graph(
        "POST", f"/{PHONE_ID}/media", data=_upload_form(b"x", "application/x-msdownload")
    )
    assert status == 400 and body["error"]["code"] == 100
    assert "image/jpeg" in body["error"]["error_data"]["details"]
    status, body = await running.graph(
        "POST", f"/{PHONE_ID}/media", data=_upload_form(b"x" * (5 * 1024 * 1024 + 1), "image/png")
    )
    assert status == 400 and body["error"]["code"] == 100
    form = FormData({"messaging_product": "whatsapp"})
    status, body = await running.graph("POST", f"/{PHONE_ID}/media", data=form)
    assert status == 400 and body["error"]["code"] in (100, 131008)


async def test_template_paging_follows_next_until_absent(running: RunningSimulator) -> None:
    for i in range(7):
        await running.control("POST", "/templates", json={"name": f"extra_{i}", "components": []})
    names: list[str] = []
    status, page = await running.graph(
        "GET",
        f"/{WABA_ID}/message_templates?fields=name,language,status,category,parameter_format,"
        "components&limit=4",
    )
    pages = 0
    while True:
        assert status == 200
        pages += 1
        assert len(page["data"]) <= 4
        names += [f"{t['name']}/{t['language']}" for t in page["data"]]
        for template in page["data"]:
            assert {"name", "language", "id", "status", "category", "parameter_format", "components"} <= set(template)  # fmt: skip
        assert set(page["paging"]["cursors"]) == {"before", "after"}
        if "next" not in page["paging"]:
            break
        assert "limit=4" in page["paging"]["next"]
        async with running.client.session.get(
            page["paging"]["next"], headers={"Authorization": "Bearer test-access-token"}
        ) as response:
            status, page = response.status, await response.json()
    assert pages == 4  # 8 seeded + 7 added = 15 templates
    assert len(names) == len(set(names)) == 15
    assert "appointment_reminder/en_US" in names and "extra_6/en_US" in names

    _, approved = await running.graph("GET", f"/{WABA_ID}/message_templates?status=REJECTED")
    assert [t["name"] for t in approved["data"]] == ["winter_sale"]
    _, named = await running.graph("GET", f"/{WABA_ID}/message_templates?name=appointment")
    assert named["data"][0]["parameter_format"] == "NAMED"


async def test_account_info_and_personal_accounts(start_simulator: StartSimulator) -> None:
    running = await start_simulator(
        wabas=[
            WabaConfig(),
            WabaConfig(
                id="2001", name="Jo", account_type="PERSONAL", business_verified=False,
                phone_numbers=[PhoneNumberConfig(id="3001", display_phone_number="15550003333")],
            ),
        ]
    )  # fmt: skip
    status, business = await running.graph("GET", f"/{WABA_ID}")
    assert status == 200
    assert business["account_type"] == "BUSINESS"
    assert business["business_verification_status"] == "verified"
    _, personal = await running.graph("GET", "/2001")
    assert personal["account_type"] == "PERSONAL"
    assert personal["business_verification_status"] == "not_verified"
    status, body = await running.graph("GET", "/999")
    assert status == 400 and body["error"]["error_subcode"] == 33


async def test_phone_numbers_list_and_details(running: RunningSimulator) -> None:
    status, body = await running.graph("GET", f"/{WABA_ID}/phone_numbers")
    assert status == 200
    first = body["data"][0]
    assert {
        "id",
        "display_phone_number",
        "verified_name",
        "code_verification_status",
        "quality_rating",
    } <= set(first)
    assert first["id"] == PHONE_ID and first["code_verification_status"] == "VERIFIED"
    _, single = await running.graph("GET", f"/{PHONE_ID}")
    assert single["display_phone_number"] == "15550001111"


async def test_registration_steps(running: RunningSimulator) -> None:
    status, created = await running.graph(
        "POST",
        f"/{WABA_ID}/phone_numbers",
        json={"cc": "34", "phone_number": "911 222 333", "verified_name": "Demo"},
    )
    assert status == 200
    phone_id = created["id"]
    _, listed = await running.graph("GET", f"/{WABA_ID}/phone_numbers")
    new = next(p for p in listed["data"] if p["id"] == phone_id)
    assert new["code_verification_status"] == "NOT_VERIFIED"
    assert new["display_phone_number"] == "34911222333"

    # Registering before verification is refused.
    status, body = await running.graph(
        "POST", f"/{phone_id}/register", json={"messaging_product": "whatsapp", "pin": "123456"}
    )
    assert status == 400 and body["error"]["code"] == 133006

    status, body = await running.graph(
        "POST", f"/{phone_id}/request_code", json={"code_method": "FAX", "language": "en_US"}
    )
    assert status == 400 and body["error"]["code"] == 100
    status, body = await running.graph(
        "POST", f"/{phone_id}/request_code", data={"code_method": "VOICE", "language": "en_US"}
    )
    assert (status, body) == (200, {"success": True})
    _, code = await running.control("GET", f"/codes/{phone_id}")
    assert code["requested"] is True and code["code_method"] == "VOICE"
    assert len(code["code"]) == 6 and code["code"].isdigit()

    status, body = await running.graph(
        "POST", f"/{phone_id}/verify_code", json={"code": "000000" if code["code"] != "000000" else "111111"}
    )  # fmt: skip
    assert status == 400 and body["error"]["code"] == 136025
    status, body = await running.graph(
        "POST", f"/{phone_id}/verify_code", json={"code": code["code"]}
    )
    assert (status, body) == (200, {"success": True})

    status, body = await running.graph(
        "POST", f"/{phone_id}/register", json={"messaging_product": "whatsapp", "pin": "12345"}
    )
    assert status == 400 and body["error"]["code"] == 100
    status, body = await running.graph(
        "POST", f"/{phone_id}/register", json={"messaging_product": "whatsapp", "pin": "123456"}
    )
    assert (status, body) == (200, {"success": True})
    _, details = await running.graph("GET", f"/{phone_id}")
    assert details["code_verification_status"] == "VERIFIED" and details["status"] == "CONNECTED"

    # Re-registering needs the same two-step PIN.
    status, body = await running.graph(
        "POST", f"/{phone_id}/register", json={"messaging_product": "whatsapp", "pin": "654321"}
    )
    assert status == 400 and body["error"]["code"] == 133005

    # The same number cannot be created twice.
    status, body = await running.graph(
        "POST",
        f"/{WABA_ID}/phone_numbers",
        json={"cc": "34", "phone_number": "911222333", "verified_name": "Demo"},
    )
    assert status == 400


async def test_a_number_connected_elsewhere_is_refused(start_simulator: StartSimulator) -> None:
    running = await start_simulator(numbers_connected_elsewhere=["34911000111"])
    _, created = await running.graph(
        "POST",
        f"/{WABA_ID}/phone_numbers",
        json={"cc": "34", "phone_number": "911000111", "verified_name": "Demo"},
    )
    phone_id = created["id"]
    await running.graph("POST", f"/{phone_id}/request_code", json={"code_method": "SMS", "language": "en_US"})  # fmt: skip
    _, code = await running.control("GET", f"/codes/{phone_id}")
    await running.graph("POST", f"/{phone_id}/verify_code", json={"code": code["code"]})
    status, body = await running.graph(
        "POST", f"/{phone_id}/register", json={"messaging_product": "whatsapp", "pin": "123456"}
    )
    assert status == 400
    assert body["error"]["code"] == 100 and body["error"]["error_subcode"] == 2388001
    assert "disconnected there first" in body["error"]["error_data"]["details"]

    # Disconnected there (control API): now it registers.
    await running.control("POST", f"/phone_numbers/{phone_id}", json={"connected_elsewhere": False})
    status, _ = await running.graph(
        "POST", f"/{phone_id}/register", json={"messaging_product": "whatsapp", "pin": "123456"}
    )
    assert status == 200


async def test_phone_number_cap(start_simulator: StartSimulator) -> None:
    running = await start_simulator(max_phone_numbers_per_waba=2)
    status, body = await running.graph(
        "POST",
        f"/{WABA_ID}/phone_numbers",
        json={"cc": "1", "phone_number": "5550009999", "verified_name": "Demo"},
    )
    assert status == 400 and body["error"]["code"] == 100


async def test_subscribed_apps_and_override_callback(
    running: RunningSimulator, receiver: WebhookReceiver
) -> None:
    status, body = await running.graph("POST", f"/{WABA_ID}/subscribed_apps")
    assert (status, body) == (200, {"success": True})
    _, apps = await running.graph("GET", f"/{WABA_ID}/subscribed_apps")
    assert apps["data"][0]["whatsapp_business_api_data"]["name"] == "ttydesk"

    status, body = await running.graph(
        "POST",
        f"/{WABA_ID}/subscribed_apps",
        json={"override_callback_uri": receiver.url, "verify_token": "wrong"},
    )
    assert status == 400 and body["error"]["code"] == 2200
    await running.control("POST", "/webhook", json={"url": None})
    status, body = await running.graph(
        "POST",
        f"/{WABA_ID}/subscribed_apps",
        json={"override_callback_uri": receiver.url, "verify_token": VERIFY_TOKEN},
    )
    assert status == 200
    await running.customer_writes("34600000001", {"type": "text", "text": "via override"})
    await running.sim.wait_idle()
    assert receiver.messages()[0]["text"]["body"] == "via override"
    status, _ = await running.graph("DELETE", f"/{WABA_ID}/subscribed_apps")
    assert status == 200


async def test_business_profile(running: RunningSimulator) -> None:
    status, body = await running.graph(
        "POST",
        f"/{PHONE_ID}/whatsapp_business_profile",
        json={"messaging_product": "whatsapp", "description": "We help", "vertical": "RETAIL"},
    )
    assert (status, body) == (200, {"success": True})
    _, profile = await running.graph("GET", f"/{PHONE_ID}/whatsapp_business_profile")
    assert profile["data"][0]["description"] == "We help"
    status, body = await running.graph(
        "POST",
        f"/{PHONE_ID}/whatsapp_business_profile",
        json={"messaging_product": "whatsapp", "vertical": "SPACESHIPS"},
    )
    assert status == 400

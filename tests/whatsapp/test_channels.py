"""The connection wizard (SPEC §2) against the real simulator, with its refusals."""

from __future__ import annotations

import pytest

from backend.simulator.config import PhoneNumberConfig, WabaConfig
from tests.whatsapp.outbound_fixtures import (
    PHONE_ID,
    PHONE_ID_2,
    SIM_TOKEN,
    WABA_ID,
    channel_body,
    start_env,
    stop_env,
)


@pytest.fixture
async def env(tmp_path):
    env = await start_env(tmp_path / "data")
    try:
        yield env
    finally:
        await stop_env(env)


async def create(env, **changes):
    return await env.admin.post("/api/v1/channels", json=channel_body(**changes))


async def test_agents_get_403(env):
    assert (await env.agent.post("/api/v1/channels", json=channel_body())).status_code == 403
    assert (await env.agent.get("/api/v1/channels")).status_code == 403


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("website", "not a url"),
        ("website", "ftp://example.com"),
        ("email", "nobody@"),
        ("time_zone", "Mars/Base"),
    ],
)
async def test_business_details_are_validated(env, field, value):
    body = channel_body()
    body["business"][field] = value
    response = await env.admin.post("/api/v1/channels", json=body)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == f"business.{field}"


async def test_bad_token_and_unknown_account(env):
    bad = await create(env, access_token="wrong")
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "access_token"
    unknown = await create(env, waba_id="999")
    assert unknown.status_code == 422 and unknown.json()["error"]["field"] == "waba_id"
    assert (await env.admin.get("/api/v1/channels")).json()["items"] == []


async def test_personal_account_is_refused_with_how_to_convert(tmp_path):
    env = await start_env(tmp_path / "data", wabas=[WabaConfig(account_type="PERSONAL")])
    try:
        response = await create(env)
        assert response.status_code == 422
        error = response.json()["error"]
        assert error["code"] == "personal_account" and "business" in error["message"].lower()
    finally:
        await stop_env(env)


async def test_connect_existing_number_subscribes_and_syncs_templates(env):
    response = await create(env)
    assert response.status_code == 201, response.text
    channel = response.json()
    assert channel["status"] == "pending" and channel["verified_business"] is True
    assert SIM_TOKEN not in response.text and "access_token" not in response.text
    available = (await env.admin.get(f"/api/v1/channels/{channel['id']}/available-numbers")).json()
    assert {n["phone_number_id"] for n in available["items"]} == {PHONE_ID, PHONE_ID_2}
    number = await env.admin.post(
        f"/api/v1/channels/{channel['id']}/phone-numbers", json={"phone_number_id": PHONE_ID}
    )
    assert number.status_code == 201, number.text
    assert number.json()["status"] == "connected" and number.json()["connected_at"]
    assert env.sim.state.wabas[WABA_ID].subscribed_apps
    listed = (await env.admin.get("/api/v1/channels")).json()["items"][0]
    assert listed["status"] == "connected"
    templates = (await env.agent.get("/api/v1/templates")).json()["items"]
    assert len(templates) == len(env.sim.state.wabas[WABA_ID].templates)
    again = await env.admin.post(
        f"/api/v1/channels/{channel['id']}/phone-numbers", json={"phone_number_id": PHONE_ID}
    )
    assert again.status_code == 409
    frames = [f for _, f in await env.backend.store.events_after(0) if '"channel.updated"' in f]
    assert frames and all(SIM_TOKEN not in f for f in frames)
    # disconnect keeps the history
    gone = await env.admin.delete(
        f"/api/v1/channels/{channel['id']}/phone-numbers/{number.json()['id']}"
    )
    assert gone.status_code == 200
    assert gone.json()["phone_numbers"][0]["status"] == "disconnected"
    assert gone.json()["status"] == "pending"


async def test_new_number_with_sms_code_then_register(env):
    channel = (await create(env)).json()
    refused = await env.admin.post(
        f"/api/v1/channels/{channel['id']}/phone-numbers", json={"cc": "34"}
    )
    assert refused.status_code == 422
    number = await env.admin.post(
        f"/api/v1/channels/{channel['id']}/phone-numbers",
        json={"cc": "34", "phone_number": "600111222", "verified_name": "Acme Support"},
    )
    assert number.status_code == 201, number.text
    pid = number.json()["id"]
    assert number.json()["status"] == "pending"
    base = f"/api/v1/channels/{channel['id']}/phone-numbers/{pid}"
    assert (
        await env.admin.post(base + "/request-code", json={"code_method": "SMS"})
    ).status_code == 200
    wrong = await env.admin.post(base + "/verify-code", json={"code": "000000", "pin": "123456"})
    assert wrong.status_code == 422 and wrong.json()["error"]["field"] == "code"
    code = (await env.control("GET", f"/codes/{number.json()['phone_number_id']}"))["code"]
    done = await env.admin.post(base + "/verify-code", json={"code": code, "pin": "123456"})
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "connected"


async def test_number_connected_elsewhere_is_refused_and_left_pending(tmp_path):
    env = await start_env(tmp_path / "data", numbers_connected_elsewhere=["34600999888"])
    try:
        channel = (await create(env)).json()
        number = (
            await env.admin.post(
                f"/api/v1/channels/{channel['id']}/phone-numbers",
                json={"cc": "34", "phone_number": "600999888", "verified_name": "Acme"},
            )
        ).json()
        base = f"/api/v1/channels/{channel['id']}/phone-numbers/{number['id']}"
        await env.admin.post(base + "/request-code", json={"code_method": "VOICE"})
        code = (await env.control("GET", f"/codes/{number['phone_number_id']}"))["code"]
        refused = await env.admin.post(base + "/verify-code", json={"code": code, "pin": "123456"})
        assert refused.status_code == 409
        error = refused.json()["error"]
        assert (
            error["code"] == "number_connected_elsewhere"
            and "disconnect" in error["message"].lower()
        )
        numbers = (await env.admin.get("/api/v1/channels")).json()["items"][0]["phone_numbers"]
        assert numbers[0]["status"] == "pending"
    finally:
        await stop_env(env)


async def test_number_of_the_inbox_is_refused_with_the_fix(env):
    channel = (await create(env)).json()

    def to_inbox(tx):
        tx.insert(
            "phone_numbers",
            {
                "channel_id": channel["id"],
                "phone_number_id": PHONE_ID_2,
                "display_phone_number": "15550002222",
                "destination": "inbox",
                "status": "connected",
                "created_at": tx.now_iso,
            },
        )

    await env.backend.store.write(to_inbox)
    refused = await env.admin.post(
        f"/api/v1/channels/{channel['id']}/phone-numbers", json={"phone_number_id": PHONE_ID_2}
    )
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "number_in_inbox"
    assert "Remove it from the inbox first" in refused.json()["error"]["message"]


async def test_at_most_25_numbers(tmp_path):
    numbers = [
        PhoneNumberConfig(id=f"5000{n:02d}", display_phone_number=f"155500{n:05d}")
        for n in range(26)
    ]
    env = await start_env(tmp_path / "data", wabas=[WabaConfig(phone_numbers=numbers)])
    try:
        channel = (await create(env)).json()
        for number in numbers[:25]:
            response = await env.admin.post(
                f"/api/v1/channels/{channel['id']}/phone-numbers",
                json={"phone_number_id": number.id},
            )
            assert response.status_code == 201, response.text
        refused = await env.admin.post(
            f"/api/v1/channels/{channel['id']}/phone-numbers",
            json={"phone_number_id": numbers[25].id},
        )
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "too_many_numbers"
    finally:
        await stop_env(env)

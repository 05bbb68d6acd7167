"""Templates: every page synced, statuses kept, only APPROVED sendable, mapping validated."""

from __future__ import annotations

from backend.simulator.config import TemplateConfig, WabaConfig
from backend.whatsapp.graph import GraphClient
from tests.whatsapp.outbound_fixtures import SIM_TOKEN, WABA_ID, start_env, stop_env


def many_templates(count: int) -> list[TemplateConfig]:
    return [
        TemplateConfig(
            name=f"t{n:03d}",
            status="APPROVED" if n % 3 else "PAUSED",
            components=[{"type": "BODY", "text": "Hi {{1}}, ticket {{2}}"}],
        )
        for n in range(count)
    ]


async def test_graph_client_follows_paging_next(tmp_path):
    env = await start_env(tmp_path / "data", wabas=[WabaConfig(templates=many_templates(23))])
    graph = GraphClient(env.sim_url, "v26.0")
    try:
        items = await graph.message_templates(SIM_TOKEN, WABA_ID, page_size=5)
        assert [t["name"] for t in items] == [f"t{n:03d}" for n in range(23)]
    finally:
        await graph.close()
        await stop_env(env)


async def test_sync_all_pages_then_changes_and_removals(tmp_path):
    env = await start_env(tmp_path / "data", wabas=[WabaConfig(templates=many_templates(130))])
    try:
        await env.connect_channel()  # syncs on connection (pages of 100)
        listed = (await env.agent.get("/api/v1/templates")).json()
        assert listed["total"] == 130
        by_name = {t["name"]: t for t in listed["items"]}
        assert by_name["t000"]["sendable"] is False and by_name["t001"]["sendable"] is True
        assert by_name["t001"]["variables"] == ["1", "2"]
        mapped = await env.agent.patch(
            f"/api/v1/templates/{by_name['t001']['id']}",
            json={"variable_mapping": {"1": "first_name"}},
        )
        assert mapped.status_code == 200 and mapped.json()["variable_mapping"] == {
            "1": "first_name"
        }
        bad = await env.agent.patch(
            f"/api/v1/templates/{by_name['t001']['id']}", json={"variable_mapping": {"9": "x"}}
        )
        assert bad.status_code == 422 and bad.json()["error"]["field"] == "variable_mapping.9"
        waba = env.sim.state.wabas[WABA_ID]
        waba.templates = waba.templates[:50]
        waba.templates[1].status = "DISABLED"
        result = await env.agent.post("/api/v1/templates/sync")
        assert result.status_code == 200, result.text
        assert result.json()["synced"] == 50
        after = {t["name"]: t for t in (await env.agent.get("/api/v1/templates")).json()["items"]}
        assert len(after) == 50 and after["t001"]["status"] == "DISABLED"
        assert after["t001"]["sendable"] is False
        assert after["t001"]["variable_mapping"] == {"1": "first_name"}  # kept across syncs
    finally:
        await stop_env(env)


async def test_sync_with_an_expired_token_is_502_and_channel_unhealthy(tmp_path):
    env = await start_env(tmp_path / "data")
    try:
        await env.connect_channel()
        await env.faults(token_expired=True)
        response = await env.agent.post("/api/v1/templates/sync")
        assert response.status_code == 502
        channels = (await env.admin.get("/api/v1/channels")).json()["items"]
        assert channels[0]["status"] == "unhealthy"
    finally:
        await stop_env(env)

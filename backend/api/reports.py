"""Reports for a help desk lead: conversations and messages per day and hour, first
response and resolution times per agent, view and number, tickets opened and closed,
expired sessions that ended in a template, cost per day (``backend.domain.reports``)."""

from __future__ import annotations

from aiohttp import web
from pydantic import Field

from backend import schemas
from backend.api.auth import current_agent
from backend.api.usage import pricing_rules
from backend.api.wire import operation, parse_query, respond
from backend.domain import reports as rules
from backend.keys import SETTINGS, STORE
from backend.store.reports import ReportFilters

routes = web.RouteTableDef()


class ReportQuery(schemas.WireModel):
    # whole UTC days, YYYY-MM-DD, both included: the 30 days up to today by default
    date_from: str | None = Field(default=None, alias="from", max_length=32)
    date_to: str | None = Field(default=None, alias="to", max_length=32)
    agent: str | None = Field(default=None, max_length=32)  # an agent id, or "me"
    number: str | None = Field(default=None, max_length=32)  # a business number
    view: str | None = Field(default=None, max_length=64)  # a view id (builtin:mine, 12)


def report_infos() -> list[schemas.ReportInfo]:
    return [
        schemas.ReportInfo(
            name=spec.name,
            title=spec.title,
            chart=spec.chart,
            columns=[
                schemas.ReportColumn(name=c.name, label=c.label, unit=c.unit) for c in spec.columns
            ],
        )
        for spec in rules.REPORTS.values()
    ]


@operation(
    routes,
    "GET",
    "/api/v1/reports",
    summary="The reports there are: name, title, chart and columns",
    response=schemas.Page[schemas.ReportInfo],
)
async def list_reports(request: web.Request) -> web.Response:
    infos = report_infos()
    return respond(schemas.Page[schemas.ReportInfo](items=infos, total=len(infos)))


@operation(
    routes,
    "GET",
    "/api/v1/reports/{name}",
    summary="One report over whole UTC days, narrowed by agent, business number and view",
    query=ReportQuery,
    response=schemas.Report,
)
async def get_report(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    rules.report_spec(name)  # an unknown report is a 404 before its filters are read
    query = parse_query(request, ReportQuery)
    store = request.app[STORE]
    agent = current_agent(request)
    filters = ReportFilters(
        days=rules.date_range(query.date_from, query.date_to, now=store.now()),
        agent_id=rules.agent_filter(query.agent, me=agent.id),
        business_number=rules.number_filter(query.number),
        view_id=query.view.strip() if query.view is not None else None,
    )
    settings = request.app[SETTINGS]
    chosen = pricing_rules(settings) if name == "cost_per_day" else None
    return respond(await store.report(name, filters, viewer=agent, pricing_rules=chosen))

"""Reports: their list, and one report's columns and rows."""

from datetime import date
from typing import Literal

from backend.schemas.base import ResponseModel


class ReportColumn(ResponseModel):
    name: str
    label: str
    unit: Literal["day", "hour", "text", "count", "seconds", "money"]


class ReportInfo(ResponseModel):
    name: str
    title: str
    chart: Literal["bar", "line"]  # x: the first column; a series per count/seconds/money column
    columns: list[ReportColumn]


class Report(ReportInfo):
    """A report's table over whole UTC days (``date_from`` to ``date_to``, both included),
    with the filters it was asked with; ``rows`` follow ``columns`` (money as text)."""

    date_from: date
    date_to: date
    time_zone: str = "UTC"
    agent_id: int | None = None
    business_number: str | None = None
    view_id: str | None = None
    currency: str | None = None
    rows: list[list[str | int | None]]
    notes: list[str] = []

"""Views (saved filters of the thread list) and their counts."""

from pydantic import Field

from backend.schemas.base import ResponseModel, WireModel
from backend.schemas.enums import FilterOperator, ViewSharing


class ViewFilter(WireModel):
    property: str = Field(min_length=1, max_length=64)
    operator: FilterOperator
    values: list[str] = []


class View(ResponseModel):
    id: str  # "builtin:all_open" or a number as string for custom views
    name: str
    builtin: bool = False
    sharing: ViewSharing = ViewSharing.everyone
    owner_id: int | None = None
    filters: list[ViewFilter] = []
    position: int = 0
    count: int | None = None


class ViewCreate(WireModel):
    name: str = Field(min_length=1, max_length=80)
    sharing: ViewSharing = ViewSharing.private
    filters: list[ViewFilter] = []


class ViewUpdate(WireModel):
    name: str | None = Field(default=None, min_length=1, max_length=80)
    sharing: ViewSharing | None = None
    filters: list[ViewFilter] | None = None


class ViewCounts(ResponseModel):
    counts: dict[str, int]  # view id → thread count (for "builtin:mine": the caller's)
    mine: dict[str, int] = {}  # agent id → count of "Assigned to me", for pushed events


class FilterProperty(ResponseModel):
    name: str
    label: str
    kind: str
    operators: list[FilterOperator]
    values: list[str] = []

"""WhatsApp message templates and the inserts an agent can put in a reply."""

from datetime import datetime
from typing import Any

from backend.schemas.base import ResponseModel, WireModel
from backend.schemas.enums import InsertKind


class TemplateComponent(ResponseModel):
    type: str
    format: str | None = None
    text: str | None = None
    buttons: list[dict[str, Any]] = []


class Template(ResponseModel):
    id: int
    waba_id: str | None = None
    external_id: str | None = None
    name: str
    language: str
    status: str  # Meta's status, e.g. APPROVED; anything else is not sendable
    category: str | None = None
    parameter_format: str = "POSITIONAL"
    components: list[TemplateComponent] = []
    # in order: "header" (a media header's link) or "header.1"…, the body's "1"… or
    # named ones, "button.0"… (a URL button's suffix); each component has its own
    variables: list[str] = []
    variable_mapping: dict[str, str] = {}  # variable → contact property
    sendable: bool = False
    updated_at: datetime


class TemplateMappingUpdate(WireModel):
    variable_mapping: dict[str, str]


class TemplateSyncResult(ResponseModel):
    synced: int
    templates: list[Template]


class Insert(ResponseModel):
    id: int
    kind: InsertKind
    title: str
    body: str
    url: str | None = None
    tags: list[str] = []

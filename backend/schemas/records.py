"""Contacts, companies, deals and the records around them."""

from datetime import datetime
from typing import Any

from pydantic import Field

from backend.schemas.base import ResponseModel, WireModel
from backend.schemas.enums import TicketPriority, TicketStatus
from backend.schemas.messages import TemplateSend
from backend.schemas.threads import ContactSummary


class Contact(ResponseModel):
    id: int
    first_name: str | None = None
    last_name: str | None = None
    name: str
    email: str | None = None
    phone: str | None = None
    mobile_phone: str | None = None
    # "phone", "mobile_phone": a number kept as written, in a range the phone library
    # does not know (it could not be checked)
    unchecked_phones: list[str] = []
    country: str | None = None
    wa_user_id: str | None = None
    wa_parent_user_id: str | None = None
    wa_id: str | None = None
    wa_username: str | None = None
    owner_id: int | None = None
    properties: dict[str, Any] = {}
    # WhatsApp language codes the contact likely reads, best first ("es_ES", "es"): their
    # `language`/`locale` property, then their country's; the template picker offers these first
    languages: list[str] = []
    created_at: datetime
    updated_at: datetime


class CompanySummary(ResponseModel):
    id: int
    name: str
    domain: str | None = None


class DealSummary(ResponseModel):
    id: int
    name: str
    stage: str | None = None
    amount: float | None = None
    currency: str | None = None


class TicketSummary(ResponseModel):
    id: int
    subject: str
    status: TicketStatus
    priority: TicketPriority
    owner_id: int | None = None
    thread_id: int | None = None
    created_at: datetime


class ContactDetail(Contact):
    companies: list[CompanySummary] = []
    deals: list[DealSummary] = []
    tickets: list[TicketSummary] = []


class ContactCreate(WireModel):
    first_name: str | None = Field(default=None, max_length=200)
    last_name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=40)
    mobile_phone: str | None = Field(default=None, max_length=40)
    country: str | None = Field(default=None, max_length=2)
    wa_id: str | None = Field(default=None, max_length=40)
    wa_user_id: str | None = Field(default=None, max_length=160)
    owner_id: int | None = None
    company_id: int | None = None
    properties: dict[str, Any] = {}


class ContactUpdate(WireModel):
    first_name: str | None = Field(default=None, max_length=200)
    last_name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=40)
    mobile_phone: str | None = Field(default=None, max_length=40)
    country: str | None = Field(default=None, max_length=2)
    owner_id: int | None = None
    properties: dict[str, Any] | None = None


class Company(ResponseModel):
    id: int
    name: str
    domain: str | None = None
    properties: dict[str, Any] = {}
    contacts: list[ContactSummary] = []
    created_at: datetime


class Deal(ResponseModel):
    id: int
    name: str
    stage: str | None = None
    amount: float | None = None
    currency: str | None = None
    properties: dict[str, Any] = {}
    contacts: list[ContactSummary] = []
    created_at: datetime


class StartConversation(WireModel):
    """Start a WhatsApp conversation from a record: a template when no session is open."""

    phone_number_id: str | None = None  # business number; the first connected one if omitted
    template: "TemplateSend | None" = None
    text: str | None = Field(default=None, max_length=4096)


class ContactImportReport(ResponseModel):
    imported: int
    updated: int
    errors: "list[ImportRowError]"


class ImportRowError(ResponseModel):
    line: int
    field: str | None = None
    message: str

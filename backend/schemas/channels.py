"""Channels: WhatsApp numbers, their business profile, and e-mail mailboxes."""

from datetime import datetime
from typing import Literal

from pydantic import Field

from backend.schemas.base import ResponseModel, WireModel
from backend.schemas.enums import ChannelStatus, ChannelType, PhoneDestination


class BusinessDetails(WireModel):
    legal_name: str = Field(min_length=1, max_length=200)
    display_name: str = Field(min_length=1, max_length=200)
    display_name_differs: bool = False
    website: str = Field(min_length=1, max_length=500)
    email: str = Field(min_length=3, max_length=320)
    country: str = Field(min_length=2, max_length=2)
    time_zone: str = Field(min_length=1, max_length=64)


class BusinessProfile(WireModel):
    display_name: str = Field(min_length=1, max_length=200)
    category: str = Field(min_length=1, max_length=80)
    description: str = Field(default="", max_length=512)


class ChannelCreate(WireModel):
    business: BusinessDetails
    access_token: str = Field(min_length=1, max_length=4096)
    waba_id: str = Field(min_length=1, max_length=64)
    profile: BusinessProfile


MAIL_HOST = r"^[A-Za-z0-9]([A-Za-z0-9.:\-]*[A-Za-z0-9])?$"  # a name, IPv4 or IPv6 address


class MailboxCreate(WireModel):
    """Connect a support mailbox: the IMAP and relay logins are tried before it is saved;
    the passwords go in and never come out."""

    address: str = Field(min_length=3, max_length=320)
    display_name: str | None = Field(default=None, max_length=200)
    imap_host: str | None = Field(default=None, max_length=255, pattern=MAIL_HOST)
    imap_port: int = Field(default=993, ge=1, le=65535)
    imap_tls: bool = True
    imap_user: str | None = Field(default=None, max_length=320)
    imap_password: str | None = Field(default=None, max_length=4096, repr=False)
    imap_folder: str = Field(default="INBOX", min_length=1, max_length=255)
    imap_poll_seconds: int = Field(default=60, ge=10, le=3600)
    smtp_host: str | None = Field(default=None, max_length=255, pattern=MAIL_HOST)
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_starttls: bool = True
    smtp_user: str | None = Field(default=None, max_length=320)
    smtp_password: str | None = Field(default=None, max_length=4096, repr=False)


class MailboxUpdate(WireModel):
    """Edit a mailbox: only the fields given change (``imap_host`` / ``smtp_host`` null:
    no more fetching / its own relay). A changed login is tried before it is saved; a
    password left out is kept."""

    address: str | None = Field(default=None, min_length=3, max_length=320)
    display_name: str | None = Field(default=None, max_length=200)
    imap_host: str | None = Field(default=None, max_length=255, pattern=MAIL_HOST)
    imap_port: int | None = Field(default=None, ge=1, le=65535)
    imap_tls: bool | None = None
    imap_user: str | None = Field(default=None, max_length=320)
    imap_password: str | None = Field(default=None, max_length=4096, repr=False)
    imap_folder: str | None = Field(default=None, min_length=1, max_length=255)
    imap_poll_seconds: int | None = Field(default=None, ge=10, le=3600)
    smtp_host: str | None = Field(default=None, max_length=255, pattern=MAIL_HOST)
    smtp_port: int | None = Field(default=None, ge=1, le=65535)
    smtp_starttls: bool | None = None
    smtp_user: str | None = Field(default=None, max_length=320)
    smtp_password: str | None = Field(default=None, max_length=4096, repr=False)


class EmailMailbox(ResponseModel):
    """A support address; how it is reached when an admin connected it (no passwords)."""

    id: int
    type: ChannelType = ChannelType.email
    address: str
    display_name: str | None = None
    imap_host: str | None = None
    imap_user: str | None = None
    smtp_host: str | None = None
    smtp_user: str | None = None
    imap_port: int | None = None
    imap_tls: bool | None = None
    imap_folder: str | None = None
    imap_poll_seconds: int | None = None  # how often a server without IDLE is asked
    smtp_port: int | None = None
    smtp_starttls: bool | None = None


class MailboxState(ResponseModel):
    """``mailbox.updated``: a support address connected (again), edited (``address`` the
    new one) or removed; its threads can (or can no longer) be replied to."""

    id: int
    address: str
    removed: bool = False


class PhoneNumber(ResponseModel):
    id: int
    channel_id: int
    phone_number_id: str
    display_phone_number: str
    verified_name: str | None = None
    code_verification_status: str | None = None
    quality_rating: str | None = None
    destination: PhoneDestination = PhoneDestination.help_desk
    status: ChannelStatus
    connected_at: datetime | None = None


class Channel(ResponseModel):
    id: int
    type: ChannelType = ChannelType.whatsapp
    waba_id: str
    legal_name: str
    display_name: str
    status: ChannelStatus
    status_reason: str | None = None
    verified_business: bool = False
    phone_numbers: list[PhoneNumber] = []
    created_at: datetime


class PhoneNumberAdd(WireModel):
    """Pick an existing verified number of the WABA, or register a new one."""

    phone_number_id: str | None = None
    cc: str | None = Field(default=None, max_length=4)
    phone_number: str | None = Field(default=None, max_length=20)
    verified_name: str | None = Field(default=None, max_length=200)
    pin: str | None = Field(default=None, pattern=r"^\d{6}$")  # registers a verified number now


class RequestCode(WireModel):
    code_method: Literal["SMS", "VOICE"]
    language: str = "en_US"


class VerifyCode(WireModel):
    code: str = Field(min_length=4, max_length=10)
    pin: str = Field(pattern=r"^\d{6}$")


class AvailablePhoneNumber(ResponseModel):
    phone_number_id: str
    display_phone_number: str
    verified_name: str | None = None
    code_verification_status: str | None = None

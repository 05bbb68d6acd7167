"""Messages, what is sent (text, media, template, note, reaction), drafts and uploads."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, RootModel

from backend.schemas.base import ResponseModel, WireModel
from backend.schemas.enums import ChannelType, DeliveryStatus, Direction, MediaState, MessageKind
from backend.schemas.threads import Thread


class Media(ResponseModel):
    id: int | None = None  # our media id: GET /api/v1/media/{id}
    mime_type: str | None = None
    filename: str | None = None
    size: int | None = None
    sha256: str | None = None
    caption: str | None = None
    state: MediaState = MediaState.pending
    animated: bool | None = None


class Location(ResponseModel):
    latitude: float
    longitude: float
    name: str | None = None
    address: str | None = None
    url: str | None = None


class SharedContact(ResponseModel):
    name: str
    phones: list[str] = []
    emails: list[str] = []
    org: str | None = None


class Reaction(ResponseModel):
    emoji: str
    by: Direction  # in: the contact reacted; out: an agent did
    agent_id: int | None = None
    at: datetime


class QuotedMessage(ResponseModel):
    id: int | None = None
    wamid: str | None = None
    preview: str | None = None
    direction: Direction | None = None


class AdReferral(ResponseModel):
    """Where a message came from: the click-to-WhatsApp ad (or post) the customer tapped."""

    source_type: str | None = None  # ad | post
    source_id: str | None = None
    source_url: str | None = None
    headline: str | None = None
    body: str | None = None
    media_type: str | None = None  # image | video
    image_url: str | None = None
    video_url: str | None = None
    thumbnail_url: str | None = None
    ctwa_clid: str | None = None


class ReferredProduct(ResponseModel):
    """The catalog product a customer asked about (a product enquiry)."""

    catalog_id: str | None = None
    product_retailer_id: str | None = None


class GroupSender(ResponseModel):
    """Who sent a message in a WhatsApp group."""

    name: str | None = None
    wa_id: str | None = None
    user_id: str | None = None


class FormField(ResponseModel):
    """One field a customer submitted in a WhatsApp Flow (form)."""

    name: str
    value: str


class OrderItem(ResponseModel):
    product_retailer_id: str
    quantity: int
    item_price: float | None = None
    currency: str | None = None


class MessagePricing(ResponseModel):
    """What WhatsApp bills an outbound message as, from its statuses (lenient: a new
    category is kept as given; ``unknown`` when a status carried no pricing)."""

    category: str  # service | utility | marketing | authentication | unknown | …
    billable: bool | None = None
    pricing_model: str | None = None  # e.g. PMP
    type: str | None = None  # e.g. regular, free_customer_service


class EmailAuth(ResponseModel):
    """What the receiving server found of a received mail (Authentication-Results)."""

    spf: str | None = None
    dkim: str | None = None
    dmarc: str | None = None  # "fail": the message is quarantined (rule dmarc_fail)


class EmailDetails(ResponseModel):
    """An e-mail message's envelope as shown: the body is ``Message.text`` (a received
    mail's new part; its whole text is ``GET /api/v1/messages/{id}/email``)."""

    subject: str | None = None  # None while quarantined
    sender: str | None = None
    to: list[str] = []
    cc: list[str] = []
    auth: EmailAuth | None = None
    attachments: int = 0
    left_out: list[str] = []  # attachments over the size limit, by name


class EmailSource(ResponseModel):
    """An e-mail message's whole text (the quoted history and signature the thread folds
    away) and the ids that thread it."""

    message_id: int
    header_id: str  # its Message-ID
    subject: str
    full_text: str
    in_reply_to: str | None = None
    references: list[str] = []


class Message(ResponseModel):
    id: int
    thread_id: int
    direction: Direction
    kind: MessageKind
    text: str | None = None  # body, caption-less text, note text, rendered template
    author_id: int | None = None  # agent for outbound and notes
    author_name: str | None = None
    wamid: str | None = None
    status: DeliveryStatus | None = None  # outbound only
    error_code: int | None = None
    error_message: str | None = None  # plain words for the agent
    reply_to: QuotedMessage | None = None
    forwarded: bool = False
    media: Media | None = None
    location: Location | None = None
    contacts: list[SharedContact] = []
    order: list[OrderItem] = []
    reactions: list[Reaction] = []
    template_name: str | None = None
    template_language: str | None = None
    unsupported_reason: str | None = None  # e.g. "poll_creation", "unsupported media type"
    quarantine_rule: str | None = None  # the content-policy rule that hid it
    quarantine_revealed: bool = False
    event: str | None = None  # for kind=event: user_changed_number, request_welcome, ...
    referral: AdReferral | None = None  # the message came from an ad
    referred_product: ReferredProduct | None = None  # the product asked about
    form: list[FormField] = []  # a Flow answer's submitted fields
    sent_from_phone: bool = False  # sent from the WhatsApp Business app (coexistence)
    group_sender: GroupSender | None = None  # in a group's thread: who wrote it
    from_number: str | None = None
    to_number: str | None = None
    created_at: datetime
    sent_at: datetime | None = None
    delivered_at: datetime | None = None
    read_at: datetime | None = None
    failed_at: datetime | None = None
    pricing: MessagePricing | None = None  # outbound, once a status came
    channel_type: ChannelType = ChannelType.whatsapp  # the channel it came or went by
    email: EmailDetails | None = None  # an e-mail's subject, addresses and verdicts
    # an e-mail's files in order, each openable (GET /api/v1/media/{id}); ``media`` is the
    # one shown first. [] on WhatsApp and while quarantined
    attachments: list[Media] = []


class TemplateValues(WireModel):
    """A template's values component by component (a header's {{1}} is not the body's)."""

    header: dict[str, str] = {}  # a TEXT header's variables; {"link": url} for a media header
    body: dict[str, str] = {}  # "1" or a named parameter → value
    buttons: dict[str, str] = {}  # a URL button's index ("0") → its variable's value


class TemplateSend(WireModel):
    name: str = Field(min_length=1, max_length=512)
    language: str = Field(min_length=2, max_length=15)
    # Template.variables names → value ("1", "header.1", "button.0"); missing or blank
    # ones are filled from the contact; ``components`` gives the same per component
    variables: dict[str, str] = {}
    components: TemplateValues | None = None


class SendText(WireModel):
    kind: Literal["text"]
    text: str = Field(min_length=1, max_length=4096)
    reply_to: int | None = None  # our message id
    preview_url: bool = True
    client_id: str | None = Field(default=None, max_length=64)  # idempotency key
    # a reply written against this message: refused (409 thread_changed) when another
    # message (not a note or an event line, nor the sender's own) has come in since
    expected_last_message_id: int | None = None
    # the channel switch: EMAIL writes to the contact's address from a WhatsApp thread
    # (the message stays in the thread, marked e-mail); None: the thread's own channel
    channel: ChannelType | None = None
    # e-mail only: the subject (None: the ticket's) and addresses copied in
    subject: str | None = Field(default=None, max_length=998)
    cc: list[str] = Field(default=[], max_length=20)
    # the composer state sent (DraftUpdate.revision): a save of the draft not newer than
    # it is refused (409 draft_outdated), and a draft saved with a newer one stays
    draft_revision: int | None = Field(default=None, ge=0)


WHATSAPP_CAPTION = 1024  # characters in a WhatsApp media message's caption


class SendMedia(WireModel):
    kind: Literal["media"]
    media_id: int
    # an e-mail's text, as long as SendText's; on WhatsApp at most 1,024 (WHATSAPP_CAPTION)
    caption: str | None = Field(default=None, max_length=4096)
    reply_to: int | None = None
    client_id: str | None = Field(default=None, max_length=64)
    expected_last_message_id: int | None = None  # as in SendText
    channel: ChannelType | None = None  # as in SendText
    subject: str | None = Field(default=None, max_length=998)  # as in SendText
    cc: list[str] = Field(default=[], max_length=20)  # as in SendText
    # e-mail only: more uploaded files in the same mail, after media_id (WhatsApp takes
    # one file a message; domain/email_attachments.py says how many and how large)
    more_media_ids: list[int] = Field(default=[], max_length=50)
    draft_revision: int | None = Field(default=None, ge=0)  # as in SendText


class SendTemplate(WireModel):
    kind: Literal["template"]
    name: str = Field(min_length=1, max_length=512)
    language: str = Field(min_length=2, max_length=15)
    variables: dict[str, str] = {}  # as in TemplateSend
    components: TemplateValues | None = None
    client_id: str | None = Field(default=None, max_length=64)
    expected_last_message_id: int | None = None  # as in SendText


class SendNote(WireModel):
    kind: Literal["note"]
    text: str = Field(min_length=1, max_length=65536)
    client_id: str | None = Field(default=None, max_length=64)
    draft_revision: int | None = Field(default=None, ge=0)  # as in SendText


class SendReaction(WireModel):
    kind: Literal["reaction"]
    message_id: int  # our id of the message reacted to
    emoji: str = Field(max_length=16)  # "" removes the reaction
    client_id: str | None = Field(default=None, max_length=64)


SendRequest = SendText | SendMedia | SendTemplate | SendNote | SendReaction


class SendBody(WireModel):
    """Discriminated wrapper used for validation of POST …/messages."""

    body: SendText | SendMedia | SendTemplate | SendNote | SendReaction = Field(
        discriminator="kind"
    )


class SendMessage(
    RootModel[
        Annotated[
            SendText | SendMedia | SendTemplate | SendNote | SendReaction,
            Field(discriminator="kind"),
        ]
    ]
):
    """The body of POST /threads/{id}/messages: one of the Send* shapes, chosen by ``kind``."""

    model_config = ConfigDict(defer_build=True)


class StartedConversation(ResponseModel):
    """The answer of POST /contacts/{id}/conversations: the thread and its queued message."""

    thread: Thread
    message: Message


class Draft(ResponseModel):
    """An agent's unsent reply or note in a thread: only that agent sees it."""

    thread_id: int
    text: str
    note: bool = False
    reply_to: int | None = None  # our message id
    updated_at: datetime
    revision: int | None = None  # DraftUpdate.revision it was saved with


class DraftUpdate(WireModel):
    text: str = Field(min_length=1, max_length=65536)  # an empty composer: DELETE the draft
    note: bool = False
    reply_to: int | None = None
    # when the client read this composer state: milliseconds since the epoch, newer for each
    # change (the same client orders its own saves and sends). A save not newer than the
    # last send from the composer (its draft_revision), nor than the draft kept, is refused
    # with 409 draft_outdated and changes nothing: the text was sent or written over since.
    # None (an older client): kept as it comes.
    revision: int | None = Field(default=None, ge=0)


class UploadedMedia(ResponseModel):
    id: int
    mime_type: str
    kind: MessageKind
    filename: str | None = None
    size: int
    sha256: str

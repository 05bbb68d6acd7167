"""How one message looks in the thread: pure functions from a ``Message`` to ``rich.text.Text``.

Customer content goes through ``tui.text`` (inert, WhatsApp formatting, clipped); nothing here
ever parses markup.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from rich.text import Text

from backend.schemas import MEDIA_KINDS, ChannelType, DeliveryStatus, Direction, MessageKind
from tui.glyphs import glyphs
from tui.text import clip, clock, cut, human_size, inert, one_line, whatsapp

if TYPE_CHECKING:
    from backend.schemas import AdReferral, EmailDetails, Media, Message, ReferredProduct


@dataclass(frozen=True)
class DeliveryLook:
    """How a delivery state is shown, everywhere: the thread's mark, the details, the composer."""

    glyph: str  # its name in ``Glyphs``
    style: str
    label: str  # the state in words
    # the mark is followed by the words: a state in transit the glyph alone does not tell
    spelled: bool = False


DELIVERY_LOOKS: dict[DeliveryStatus, DeliveryLook] = {
    DeliveryStatus.queued: DeliveryLook("queued", "dim", "queued"),
    DeliveryStatus.sending: DeliveryLook("sending", "dim", "sending", spelled=True),
    # sent or not is unknown until WhatsApp's status arrives: said in words, not a glyph alone
    DeliveryStatus.checking: DeliveryLook(
        "queued", "dim italic", "checking whether it was sent", spelled=True
    ),
    DeliveryStatus.sent: DeliveryLook("sent", "", "sent"),
    DeliveryStatus.delivered: DeliveryLook("delivered", "", "delivered"),
    # plus the accent colour, applied by the caller
    DeliveryStatus.read: DeliveryLook("read", "bold", "read"),
    DeliveryStatus.failed: DeliveryLook("failed", "bold", "failed"),
}


def delivery_label(status: DeliveryStatus | None) -> str:
    """A delivery state in words ("sending"); "—" for none."""
    if status is None:
        return "—"
    look = DELIVERY_LOOKS.get(status)
    return look.label if look is not None else status.value


EVENT_WORDS = {
    "request_welcome": "The contact opened the chat for the first time",
    "user_changed_number": "The contact changed their phone number",
    "user_changed_user_id": "The contact changed their WhatsApp user id",
    "reaction_target_missing": "The contact reacted to a message that never arrived",
    "call": "Call",  # after the call glyph
    "identity_key_changed": "The contact's security code changed"
    " (WhatsApp reinstalled or a new phone)",
}

MEDIA_LABELS = {
    MessageKind.image: "Image",
    MessageKind.video: "Video",
    MessageKind.audio: "Audio",
    MessageKind.voice: "Voice message",
    MessageKind.document: "Document",
    MessageKind.sticker: "Sticker",
}


def marked(glyph: str) -> str:
    """The picture named ``glyph`` and a space before what it marks; "" when the glyph set
    has none (ASCII)."""
    picture = getattr(glyphs(), glyph)
    return f"{picture} " if picture else ""


def delivery_mark(status: DeliveryStatus | None, accent: str = "") -> Text:
    if status is None:
        return Text()
    look = DELIVERY_LOOKS.get(status)
    if look is None:
        return Text("?")
    style = look.style
    mark = getattr(glyphs(), look.glyph) + (f" {look.label}" if look.spelled else "")
    if status == DeliveryStatus.read and accent:
        style = f"{style} {accent}"
    if status == DeliveryStatus.failed and accent:
        style = "bold red"
    return Text(mark, style=style)


def author_label(
    message: Message, contact_name: str, agent_name: Callable[[int | None], str]
) -> str:
    if message.kind == MessageKind.note:
        return message.author_name or agent_name(message.author_id) or "agent"
    if message.direction == Direction.inbound:
        sender = message.group_sender
        if sender is not None:  # in a group's thread: the participant who wrote it
            return sender.name or sender.wa_id or sender.user_id or contact_name
        return contact_name
    if message.sent_from_phone:
        return "WhatsApp Business app"
    return message.author_name or agent_name(message.author_id) or "ttydesk"


def header_line(
    message: Message,
    *,
    contact_name: str,
    agent_name: Callable[[int | None], str],
    accent: str = "",
    now: datetime | None = None,
) -> Text:
    """``▸ Alice · 10:42`` / ``◂ Bob · 10:43 ✓✓`` / ``✎ Note · Bob · 10:44``."""
    line = Text()
    who = author_label(message, contact_name, agent_name)
    if message.kind == MessageKind.note:
        line.append(f"{glyphs().note} Note · ", "bold")
        line.append_text(one_line(who, "bold"))
    elif message.direction == Direction.inbound:
        line.append(f"{glyphs().inbound} ", "bold")
        line.append_text(one_line(who, "bold"))
    else:
        line.append(f"{glyphs().outbound} ", "bold")
        line.append_text(one_line(who, "bold"))
    line.append(f" · {clock(message.created_at, now)}", "dim")
    if message.forwarded:
        line.append(" · forwarded", "dim italic")
    if message.sent_from_phone:
        line.append(" · sent from the phone", "dim italic")
    if message.channel_type == ChannelType.email:
        line.append(" · by e-mail", "dim italic")  # the channel mark: WhatsApp is unmarked
    if message.direction == Direction.outbound and message.kind != MessageKind.note:
        line.append(" ")
        line.append_text(delivery_mark(message.status, accent))
    return line


AD_BODY_CHARS = 200


def ad_line(referral: AdReferral) -> Text:
    """``From ad: <headline> (ad 1234)`` and the ad's text under it, all as data."""
    out = Text()
    source = referral.source_type or "ad"
    out.append(f"{marked('ad')}From {'post' if source == 'post' else 'ad'}: ", "bold")
    out.append_text(one_line(referral.headline or referral.source_url or "(no headline)", "bold"))
    if referral.source_id:
        out.append(" (", "dim")
        out.append_text(one_line(f"{source} {referral.source_id}", "dim"))
        out.append(")", "dim")
    if referral.body:
        ad_body = referral.body
        if len(ad_body) > AD_BODY_CHARS:
            ad_body = ad_body[: AD_BODY_CHARS - 1] + "…"
        out.append("\n")
        out.append_text(one_line(ad_body, "dim italic"))
    return out


def product_line(product: ReferredProduct) -> Text:
    """``Asked about product sku-9 (catalog 123)``, as data."""
    out = Text()
    out.append(f"{marked('product')}Asked about product ", "bold")
    out.append_text(one_line(product.product_retailer_id or "?", "bold"))
    if product.catalog_id:
        out.append(" (catalog ", "dim")
        out.append_text(one_line(product.catalog_id, "dim"))
        out.append(")", "dim")
    return out


def email_lines(email: EmailDetails, files: Sequence[Media] = ()) -> Text:
    """An e-mail's subject and addresses, a failed check and the attachments (each of
    ``files`` on its line, else their count), as data."""
    out = Text()
    if email.subject is not None:
        out.append("Subject: ", "dim")
        out.append_text(one_line(email.subject or "(no subject)", "bold"))
        out.append("\n")
    for label, addresses in (("From", [email.sender] if email.sender else []),
                             ("To", email.to), ("Cc", email.cc)):  # fmt: skip
        if addresses:
            out.append(f"{label}: ", "dim")
            out.append_text(one_line(", ".join(addresses), "dim"))
            out.append("\n")
    auth = email.auth
    failed = [
        name.upper()
        for name, verdict in (("spf", auth.spf), ("dkim", auth.dkim), ("dmarc", auth.dmarc))
        if verdict in ("fail", "softfail", "permerror")
    ] if auth is not None else []  # fmt: skip
    if failed:
        out.append(f"{glyphs().warning} Sender not verified: {', '.join(failed)} failed", "bold")
        out.append("\n")
    if files:
        out.append_text(file_lines(files))
        out.append("\n")
    elif email.attachments:
        plural = "s" if email.attachments != 1 else ""
        out.append(f"{marked('attachment')}{email.attachments} attachment{plural}", "dim")
        out.append("\n")
    if email.left_out:
        out.append("Left out (too large): ", "dim")
        out.append_text(one_line(", ".join(email.left_out), "dim"))
        out.append("\n")
    out.rstrip()
    return out


def file_lines(files: Sequence[Media]) -> Text:
    """An e-mail's files, one a line: its name, type and size; the keys that open or save
    one (which one is asked when there are several)."""
    out = Text()
    for number, file in enumerate(files, 1):
        out.append(marked("attachment"), "bold")
        if len(files) > 1:
            out.append(f"{number}. ", "bold")
        out.append_text(one_line(file.filename or "unnamed"))
        out.append(f" · {file.mime_type or 'unknown type'} · {human_size(file.size)}", "dim")
        if number == 1:
            out.append("  [x open · w save]", "dim")
        out.append("\n")
    out.rstrip()
    return out


def body(message: Message, *, expanded: bool = False, is_admin: bool = False) -> Text:
    """The message content, clipped unless ``expanded``."""
    out = Text()
    if message.reply_to is not None:
        quoted = message.reply_to
        who = "them" if quoted.direction == Direction.inbound else "us"
        out.append("│ ↪ ", "dim")
        out.append(f"{who}: ", "dim")
        out.append_text(one_line(quoted.preview or "(earlier message)", "dim italic"))
        out.append("\n")
    if message.email is not None:
        out.append_text(email_lines(message.email, message.attachments))
        out.append("\n")
    if message.referral is not None:
        out.append_text(ad_line(message.referral))
        out.append("\n")
    if message.referred_product is not None:
        out.append_text(product_line(message.referred_product))
        out.append("\n")

    kind = message.kind
    if kind == MessageKind.unsupported:
        out.append(f"{glyphs().warning} Unsupported message", "bold reverse")
        reason = message.unsupported_reason
        out.append(" — ")
        out.append_text(inert(reason or "WhatsApp did not say why", "italic"))
        out.append("\n")
        out.append("The original is kept on the server.", "dim")
        return out
    if kind == MessageKind.quarantined and not message.quarantine_revealed:
        out.append(f"{marked('blocked')}Quarantined message", "bold reverse")
        out.append(" — rule: ")
        out.append_text(inert(message.quarantine_rule or "content policy", "bold"))
        out.append("\n")
        hint = (
            "Content hidden. Press R to reveal it (logged)."
            if is_admin
            else "Content hidden by the content policy."
        )
        out.append(hint, "dim")
        return out
    if kind == MessageKind.event:
        words = EVENT_WORDS.get(message.event or "", message.event or "event")
        if message.event == "call":
            words = marked("call") + words
        out.append("— ", "dim")
        out.append_text(inert(words, "dim italic"))
        if message.text:
            out.append(": ", "dim")
            out.append_text(inert(message.text, "dim"))
        out.append(" —", "dim")
        return out

    if kind in MEDIA_KINDS and message.attachments:  # listed with the e-mail's lines
        media = message.media
        caption = (media.caption if media else None) or message.text
        if caption:
            out.append_text(_clipped(caption, expanded))
        else:
            out.rstrip()
    elif kind in MEDIA_KINDS:
        media = message.media
        label = MEDIA_LABELS.get(kind, kind.value)
        out.append(f"{marked('attachment')}{label}", "bold")
        if media is not None:
            if media.animated:
                out.append(" (GIF)")
            out.append(" · ")
            out.append_text(one_line(media.filename or media.mime_type or "unnamed"))
            out.append(f" · {human_size(media.size)}", "dim")
            if media.state.value != "ready":
                out.append(f" · {media.state.value}", "dim italic")
            out.append("  [x open · w save]", "dim")
        caption = (media.caption if media else None) or message.text
        if caption:
            out.append("\n")
            out.append_text(_clipped(caption, expanded))
    elif kind == MessageKind.location and message.location is not None:
        loc = message.location
        out.append(f"{marked('location')}Location", "bold")
        if loc.name:
            out.append(" · ")
            out.append_text(one_line(loc.name))
        if loc.address:
            out.append("\n")
            out.append_text(inert(loc.address))
        out.append(f"\n{loc.latitude:.6f}, {loc.longitude:.6f}", "dim")
        url = loc.url or f"https://maps.google.com/?q={loc.latitude},{loc.longitude}"
        out.append("\n")
        out.append_text(one_line(url, "underline"))
    elif kind == MessageKind.contacts:
        plural = "s" if len(message.contacts) != 1 else ""
        out.append(f"{marked('person')}Shared contact{plural}", "bold")
        out.append("  [+ add as contact]", "dim")
        for shared in message.contacts:
            out.append("\n• ")
            out.append_text(one_line(shared.name, "bold"))
            for phone in shared.phones:
                out.append("  ")
                out.append_text(one_line(phone))
            for email in shared.emails:
                out.append("  ")
                out.append_text(one_line(email))
            if shared.org:
                out.append("  (")
                out.append_text(one_line(shared.org))
                out.append(")")
    elif kind == MessageKind.interactive_reply and message.form:
        out.append(f"{marked('form')}Form answer", "bold")
        for form_field in message.form:
            out.append("\n• ")
            out.append_text(one_line(form_field.name, "bold"))
            out.append(": ")
            out.append_text(one_line(form_field.value))
    elif kind in (MessageKind.button_reply, MessageKind.interactive_reply):
        out.append("↳ chose: ", "dim")
        out.append_text(_clipped(message.text or "", expanded))
    elif kind == MessageKind.template:
        out.append("Template ", "dim")
        out.append_text(one_line(message.template_name or "?", "bold"))
        if message.template_language:
            out.append(f" ({message.template_language})", "dim")
        if message.text:
            out.append("\n")
            out.append_text(_clipped(message.text, expanded))
    elif kind == MessageKind.order:
        out.append(f"{marked('order')}Order", "bold")
        for item in message.order:
            out.append("\n• ")
            out.append_text(one_line(item.product_retailer_id))
            out.append(f" × {item.quantity}")
            if item.item_price is not None:
                out.append(f" @ {item.item_price:g} {item.currency or ''}".rstrip(), "dim")
    else:
        if kind == MessageKind.quarantined:
            out.append(f"{marked('blocked')}revealed (rule: ", "dim")
            out.append_text(inert(message.quarantine_rule or "?", "dim"))
            out.append(")\n", "dim")
        out.append_text(_clipped(message.text or "", expanded))

    if message.status == DeliveryStatus.failed:
        out.append(f"\n{glyphs().failed} Not delivered: ", "bold")
        out.append_text(inert(message.error_message or "WhatsApp refused the message", "bold"))
        if message.error_code:
            out.append(f" (error {message.error_code})", "dim")
        out.append(" — press y to retry", "dim")
    if message.reactions:
        out.append("\n")
        for reaction in message.reactions:
            out.append_text(inert(reaction.emoji))
            out.append(" them  " if reaction.by == Direction.inbound else " us  ", "dim")
    return out


def _clipped(text: str, expanded: bool) -> Text:
    if expanded:
        return whatsapp(text)
    clipped = clip(text)
    out = whatsapp(clipped.text)
    if clipped.truncated:
        out.append(
            f"\n… {clipped.hidden_chars:,} more characters — press e to show more", "dim italic"
        )
    return out


def is_truncated(message: Message) -> bool:
    return clip(message.text or "").truncated


def preview(message: Message) -> str:
    """A one-line description for quotes and the composer's reply-to line."""
    if message.kind == MessageKind.quarantined and not message.quarantine_revealed:
        return "quarantined message"
    if message.kind == MessageKind.unsupported:
        return "unsupported message"
    if message.kind in MEDIA_KINDS:
        return MEDIA_LABELS.get(message.kind, "attachment") + (
            f": {message.media.caption}" if message.media and message.media.caption else ""
        )
    return cut(message.text or message.kind.value, 200)

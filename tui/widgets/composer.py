"""The composer: a multi-line reply (or private note) with reply-to and attachments
(one file on WhatsApp, several in an e-mail).

It only edits the draft and says what the agent wants to send (``Composer.Submitted``); the
screen does the sending and tells the composer how it went (``sent()`` clears the draft,
``refused(reason)`` keeps it and shows why).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message as TMessage
from textual.reactive import reactive
from textual.widgets import Static, TextArea

from backend.schemas import Direction, SendPrices, Ticket
from tui import render
from tui.billing import reply_billing
from tui.glyphs import glyphs
from tui.text import human_size, one_line, writable

if TYPE_CHECKING:
    from textual.widgets.text_area import Edit, EditResult

    from backend.schemas import Message

MAX_ATTACHMENT = 100 * 2**20
MAX_EMAIL_FILES = 10  # backend/domain/email_attachments.py


def path_from_paste(text: str) -> Path | None:
    """A pasted or dropped file path (plain, quoted, escaped or ``file://``) that exists."""
    candidate = text.strip()
    if not candidate or "\n" in candidate or len(candidate) > 4096:
        return None
    if candidate.startswith("file://"):
        candidate = unquote(urlsplit(candidate).path)
    else:
        try:
            parts = shlex.split(candidate)
        except ValueError:
            return None
        if len(parts) != 1:
            return None
        candidate = parts[0]
    if not (candidate.startswith(("/", "~", "./", "../")) or "/" in candidate):
        return None
    path = Path(candidate).expanduser()
    try:
        return path if path.is_file() else None
    except OSError:
        return None


_TICKET_TOKEN = re.compile(r"\s*\[#\d+\]")
_REPLY_PREFIX = re.compile(r"^\s*((re|aw|sv|antw)\s*:\s*)+", re.IGNORECASE)


class ComposerArea(TextArea):
    """The composer's text box: what is pasted, inserted or loaded into it is written
    without escape sequences, controls and bidi overrides (``tui.text.writable``)."""

    def edit(self, edit: Edit) -> EditResult:
        edit.text = writable(edit.text)
        return super().edit(edit)

    def load_text(self, text: str) -> None:
        super().load_text(writable(text))


def reply_all_cc(
    messages: Sequence[Message], recipient: str | None, own: str | None
) -> tuple[str, ...]:
    """Who else the newest mail of the thread was for (its sender, To and Cc), copied in
    on the reply as a mail client's "reply all" does; a colleague of the customer who
    wrote into the thread is among them. Not the recipient, and no address of our own
    (``own``, the mailbox's, and any other at its domain or that sent our replies)."""
    mails = [(m.direction, m.email) for m in messages if m.email is not None]
    ours = {own.lower()} if own else set()
    ours.update(
        envelope.sender.lower()
        for direction, envelope in mails
        if direction == Direction.outbound and envelope.sender
    )
    domains = {address.partition("@")[2] for address in ours}
    mail = next((envelope for way, envelope in reversed(mails) if way == Direction.inbound), None)
    if mail is None:
        return ()
    skip = {recipient.lower()} if recipient else set()
    copied: list[str] = []
    for address in [mail.sender, *mail.to, *mail.cc]:
        if not address or "@" not in address:
            continue
        key = address.lower()
        if key in skip or key in ours or key.partition("@")[2] in domains:
            continue
        skip.add(key)
        copied.append(address)
    return tuple(copied)


def email_reply_subject(ticket: Ticket) -> str:
    """The subject the server gives a reply on an e-mail thread: one ``Re:``, the ticket's
    token (``backend/email/compose.py`` is the rule; this is its picture)."""
    bare = _REPLY_PREFIX.sub("", _TICKET_TOKEN.sub("", ticket.subject)).strip()
    return f"Re: {bare or 'Your request'} [#{ticket.id}]"


class Composer(Vertical):
    """Reply or note editor."""

    BINDINGS = [
        Binding(
            "ctrl+s",
            "send",
            "Send",
            id="composer.send",
            tooltip="Send the reply or note",
            priority=True,
        ),
        Binding(
            "ctrl+n",
            "toggle_note",
            "Note/Reply",
            id="composer.note",
            tooltip="Switch between a reply and a private note",
        ),
        Binding(
            "ctrl+b",
            "wrap('*')",
            "Bold",
            show=False,
            id="composer.bold",
            tooltip="*bold* the selection",
        ),
        Binding(
            "ctrl+g",
            "wrap('_')",
            "Italic",
            show=False,
            id="composer.italic",
            tooltip="_italic_ the selection",
        ),
        Binding(
            "ctrl+r",
            "wrap('~')",
            "Strike",
            show=False,
            id="composer.strike",
            tooltip="~strike~ the selection",
        ),
        Binding(
            "ctrl+o",
            "wrap('```')",
            "Mono",
            show=False,
            id="composer.mono",
            tooltip="```monospace``` the selection",
        ),
        Binding(
            "ctrl+t", "templates", "Templates", id="composer.templates", tooltip="Pick a template"
        ),
        Binding(
            "ctrl+l",
            "inserts",
            "Insert",
            id="composer.insert",
            tooltip="Insert a snippet, article, link…",
        ),
        Binding(
            "ctrl+f", "attach", "Attach", id="composer.attach", tooltip="Attach a file by its path"
        ),
        Binding(
            "ctrl+x",
            "clear_extras",
            "Drop file/reply-to",
            show=False,
            id="composer.clear_extras",
            tooltip="Drop an attached file (which one, when several), else the reply-to message",
            # before the text box's cut, which keeps the key when nothing is attached or
            # text is selected (check_action)
            priority=True,
        ),
        Binding(
            "alt+e",
            "switch_channel",
            "By e-mail",
            id="composer.channel",
            tooltip="Reply by e-mail instead of WhatsApp (the contact has an address)",
            # a terminal sends alt+e as ESC and "e": the text box would type the "e"
            priority=True,
        ),
        Binding(
            "alt+s",
            "subject_cc",
            "Subject/Cc",
            id="composer.subject_cc",
            tooltip="This e-mail's subject and the addresses copied in (Cc)",
            priority=True,  # as alt+e
        ),
        Binding("escape", "leave", "Leave", id="composer.leave", tooltip="Back to the messages"),
    ]

    DEFAULT_CSS = """
    Composer {
        height: auto;
        max-height: 50%;
        border-top: solid $primary 40%;
        & > #composer-status { height: auto; color: $text-muted; padding: 0 1; display: none; }
        & > #composer-status.-shown { display: block; }
        & > #composer-status.-error { color: $text-error; text-style: bold; }
        & > #composer-bar { height: auto; padding: 0 1; }
        & > TextArea { height: auto; min-height: 1; max-height: 12; border: none; padding: 0 1; }
        &:focus-within > TextArea { min-height: 3; }
        & > TextArea:focus { border: none; }
        &.-note > TextArea { background: $warning 12%; }
        &.-note > #composer-bar { color: $text-warning; }
    }
    """

    note_mode: reactive[bool] = reactive(False)
    reply_to: reactive[Message | None] = reactive(None)
    # the files attached, in order: one on WhatsApp, up to MAX_EMAIL_FILES in an e-mail
    attachments: reactive[tuple[Path, ...]] = reactive(())
    session_open: reactive[bool] = reactive(True)
    # an e-mail thread's: the reply goes out as an e-mail under this subject
    email_subject: reactive[str | None] = reactive(None)
    # the channel switch in a WhatsApp thread: the contact's address (None: not reachable
    # by e-mail) and whether this reply goes there
    email_address: reactive[str | None] = reactive(None)
    by_email: reactive[bool] = reactive(False)
    # this e-mail's own subject (None: the ticket's) and the addresses copied in
    chosen_subject: reactive[str | None] = reactive(None)
    cc: reactive[tuple[str, ...]] = reactive(())
    cc_chosen = False  # the agent set the Cc (alt+s): the thread's "reply all" leaves it
    send_prices: reactive[SendPrices | None] = reactive(None)  # the open thread's
    sending: reactive[bool] = reactive(False)

    @dataclass
    class Submitted(TMessage):
        composer: Composer
        note: bool
        text: str
        reply_to: Message | None
        attachments: tuple[Path, ...]
        by_email: bool = False  # the channel switch: to the contact's address
        subject: str | None = None  # an e-mail's own subject (None: the ticket's)
        cc: tuple[str, ...] = ()  # an e-mail's addresses copied in

        @property
        def control(self) -> Composer:
            return self.composer

    @dataclass
    class Request(TMessage):
        """The composer asks the screen for a picker: ``templates``, ``inserts``, ``attach``."""

        composer: Composer
        what: str

        @property
        def control(self) -> Composer:
            return self.composer

    @dataclass
    class Typing(TMessage):
        composer: Composer

        @property
        def control(self) -> Composer:
            return self.composer

        def can_replace(self, message: TMessage) -> bool:
            return isinstance(message, Composer.Typing)

    @dataclass
    class Left(TMessage):
        composer: Composer

        @property
        def control(self) -> Composer:
            return self.composer

    def compose(self) -> ComposeResult:
        yield Static("", id="composer-bar", markup=False)
        area = ComposerArea(
            "", id="composer-text", soft_wrap=True, tab_behavior="focus", show_line_numbers=False
        )
        area.placeholder = (
            f"Write a reply{glyphs().ellipsis}  (ctrl+s send · ctrl+n note · esc back)"
        )
        yield area
        yield Static("", id="composer-status", markup=False)

    @property
    def area(self) -> TextArea:
        return self.query_one("#composer-text", TextArea)

    @property
    def text(self) -> str:
        return self.area.text

    @property
    def attachment(self) -> Path | None:
        """The first file attached (WhatsApp's one)."""
        return self.attachments[0] if self.attachments else None

    @attachment.setter
    def attachment(self, path: Path | None) -> None:
        self.attachments = () if path is None else (path,)

    def add_attachment(self, path: Path) -> None:
        """Attach ``path``: beside the others in an e-mail; on WhatsApp, which takes one
        file a message, in place of the one attached, and the composer says so."""
        if path in self.attachments:
            self.set_status(f"{path.name} is attached already.")
        elif not self.writes_email and self.attachments:
            replaced = self.attachments[0]
            self.attachments = (path,)
            self.set_status(
                f"WhatsApp takes one file a message: {path.name} replaces {replaced.name}. "
                "Send that one in a message of its own (or by e-mail, several at once)."
            )
        elif len(self.attachments) >= MAX_EMAIL_FILES:
            self.set_status(f"An e-mail takes at most {MAX_EMAIL_FILES} files.", error=True)
        else:
            self.attachments = (*self.attachments, path)
            more = f" ({len(self.attachments)} files)" if len(self.attachments) > 1 else ""
            self.set_status(f"Attached {path.name}{more}; write a caption or press ctrl+s.")

    def on_mount(self) -> None:
        self._render_bar()
        if hasattr(self.app, "me"):  # a signature saved in Settings shows at once
            self.watch(self.app, "me", lambda _: self._render_bar(), init=False)

    # ----------------------------------------------------------------- state → display

    def _render_bar(self) -> None:
        bar = Text()
        if self.note_mode:
            bar.append(f"{glyphs().note} Private note", "bold")
            bar.append(" — never sent to the contact", "dim")
        elif self.by_email and self.email_address is not None:
            bar.append("Reply by e-mail", "bold")
            bar.append(" to ", "dim")
            bar.append_text(one_line(self.email_address))
            bar.append("  alt+e: WhatsApp", "dim")
            if self.chosen_subject is not None:
                bar.append(" · Subject: ", "dim")
                bar.append_text(one_line(self.chosen_subject))
        elif self.email_subject is not None and self.removed_mailbox is not None:
            bar.append("Cannot reply: ", "bold")
            bar.append_text(one_line(f"the mailbox {self.removed_mailbox}"))
            bar.append(
                " was disconnected (an admin connects it again in Settings → Channels); "
                "notes still work",
                "dim",
            )
        elif self.email_subject is not None:
            bar.append("Reply by e-mail", "bold")
            bar.append(" · Subject: ", "dim")
            bar.append_text(one_line(self.chosen_subject or self.email_subject))
        else:
            bar.append("Reply", "bold")
            if self.session_open:
                bar.append(f" · {reply_billing(self.send_prices)}", "dim")
            else:
                bar.append(
                    f"  {glyphs().session} session expired: only a template can be sent (t / ctrl+t)",
                    "bold",
                )
        if self.cc and self.writes_email:
            bar.append("\nCc: ", "dim")
            bar.append_text(one_line(", ".join(self.cc)))
        signature = self._signature_preview() if self.writes_email else None
        if signature:
            bar.append("\n-- ", "dim")
            bar.append_text(one_line(signature, "dim"))
        if self.reply_to is not None:
            bar.append("\n↪ replying to: ", "dim")
            bar.append_text(one_line(render.preview(self.reply_to), "italic"))
        if self.attachments:
            bar.append("\n" + render.marked("attachment"))
            if len(self.attachments) > 1:
                bar.append(f"{len(self.attachments)} files: ", "dim")
            for number, path in enumerate(self.attachments):
                if number:
                    bar.append(" · ", "dim")
                bar.append_text(one_line(path.name, "bold"))
                try:
                    bar.append(f" ({human_size(path.stat().st_size)})", "dim")
                except OSError:
                    pass
            bar.append("  ctrl+x to drop" + (" one" if len(self.attachments) > 1 else ""), "dim")
        self.query_one("#composer-bar", Static).update(bar)
        self.set_class(self.note_mode, "-note")
        area = self.area
        area.placeholder = (
            f"Write a private note{glyphs().ellipsis}  (ctrl+s save · ctrl+n reply)"
            if self.note_mode
            else f"Write a reply{glyphs().ellipsis}  (ctrl+s send · ctrl+n note · esc back)"
        )

    def _signature_preview(self) -> str | None:
        """The agent's own e-mail signature on one line (the server signs the mail; the
        mailbox's name is filled in there), None without one."""
        me = getattr(self.app, "me", None)
        signature = getattr(me, "signature", None)
        if me is None or not signature:
            return None
        lines = (line.strip() for line in signature.replace("{agent}", me.name).splitlines())
        return " · ".join(line for line in lines if line)

    def footer_description(self, action: str) -> str | None:
        """What ctrl+s and alt+e do now (``KeyFooter``): a note is saved, never sent."""
        if action == "send" and self.note_mode:
            return "Save note"
        if action == "switch_channel" and self.by_email:
            return "By WhatsApp"
        return None

    def watch_note_mode(self) -> None:
        if self.is_mounted:
            self._render_bar()
        self.refresh_bindings()

    def watch_chosen_subject(self) -> None:
        if self.is_mounted:
            self._render_bar()

    def watch_cc(self) -> None:
        if self.is_mounted:
            self._render_bar()

    def watch_reply_to(self) -> None:
        if self.is_mounted:
            self._render_bar()

    def watch_attachments(self) -> None:
        if self.is_mounted:
            self._render_bar()

    def watch_session_open(self) -> None:
        if self.is_mounted:
            self._render_bar()

    def watch_email_subject(self) -> None:
        if self.is_mounted:
            self._render_bar()
        self.refresh_bindings()

    def watch_email_address(self) -> None:
        if self.email_address is None:
            self.by_email = False
        if self.is_mounted:
            self._render_bar()
        self.refresh_bindings()

    def watch_by_email(self) -> None:
        if self.is_mounted:
            self._render_bar()
        self.refresh_bindings()

    @property
    def writes_email(self) -> bool:
        """The reply goes out as an e-mail (an e-mail thread's, or by the channel switch)."""
        if self.note_mode:
            return False
        return self.email_subject is not None or (self.by_email and self.email_address is not None)

    @property
    def removed_mailbox(self) -> str | None:
        """The e-mail thread's mailbox, when it was removed (the server refuses a reply)."""
        prices = self.send_prices
        return prices.business_number if prices is not None and prices.mailbox_removed else None

    def watch_send_prices(self) -> None:
        if self.is_mounted:
            self._render_bar()

    def set_status(self, message: str, *, error: bool = False) -> None:
        status = self.query_one("#composer-status", Static)
        status.update(Text(message))
        status.set_class(error, "-error")
        status.set_class(bool(message), "-shown")

    # ----------------------------------------------------------------- outcome from the screen

    def sent(self, text: str) -> None:
        """``text`` is sent: it leaves the composer, and what was written after ctrl+s (the
        send took a while) stays, to go on with."""
        written = self.text.strip("\n")
        if written == text:
            self.area.clear()
        elif written.startswith(text):
            self.restore(written[len(text) :].lstrip())
        self.chosen_subject = None
        self.cc = ()
        self.cc_chosen = False
        self.reply_to = None
        self.attachments = ()
        self.sending = False
        self.set_status("")

    def refused(self, reason: str) -> None:
        self.sending = False
        self.set_status(reason, error=True)

    def restore(self, text: str) -> None:
        """A kept draft back in the composer, the cursor at its end to go on writing."""
        self.area.load_text(text)
        self.area.move_cursor(self.area.document.end)

    def reset(self) -> None:
        self.area.clear()
        self.send_prices = None
        self.reply_to = None
        self.attachments = ()
        self.note_mode = False
        self.email_address = None  # the next thread's contact says (the channel switch)
        self.by_email = False
        self.chosen_subject = None
        self.cc = ()
        self.cc_chosen = False
        self.sending = False
        self.set_status("")

    # ----------------------------------------------------------------- actions

    def action_send(self) -> None:
        if self.sending:
            return
        text = self.text.strip("\n")
        if not text.strip() and not self.attachments:
            self.set_status("Nothing to send: write something first.", error=True)
            return
        if len(self.attachments) > 1 and not self.writes_email:
            self.set_status(
                f"WhatsApp takes one file a message and {len(self.attachments)} are attached: "
                "drop all but one (ctrl+x), or send them by e-mail.",
                error=True,
            )
            return
        for path in self.attachments:
            try:
                size = path.stat().st_size
            except OSError:
                self.set_status(f"Cannot read {path}.", error=True)
                return
            if size > MAX_ATTACHMENT:
                self.set_status(
                    f"{path.name} is {human_size(size)}: the largest WhatsApp accepts is 100 MB (documents).",
                    error=True,
                )
                return
        self.sending = True
        self.set_status(f"Sending{glyphs().ellipsis}")
        self.post_message(
            self.Submitted(
                self,
                self.note_mode,
                text,
                self.reply_to,
                self.attachments,
                self.by_email and self.email_address is not None,
                self.chosen_subject if self.writes_email else None,
                self.cc if self.writes_email else (),
            )
        )

    def action_switch_channel(self) -> None:
        if self.email_address is not None:
            self.by_email = not self.by_email

    def action_subject_cc(self) -> None:
        if not self.writes_email:
            return
        from tui.dialogs.simple import PromptDialog  # not needed for the first paint

        def got_cc(value: str | None) -> None:
            if value is not None:
                self.cc = tuple(part.strip() for part in value.split(",") if part.strip())
                self.cc_chosen = True
            self.area.focus()

        def got_subject(value: str | None) -> None:
            if value is None:
                self.area.focus()
                return
            self.chosen_subject = value.strip() or None
            self.app.push_screen(
                PromptDialog(
                    "Cc: addresses copied in, separated by commas",
                    value=", ".join(self.cc),
                    placeholder="accounts@example.com",
                ),
                got_cc,
            )

        self.app.push_screen(
            PromptDialog(
                "Subject of this e-mail (empty: the ticket's)",
                value=self.chosen_subject or "",
                placeholder=self.email_subject or "",
            ),
            got_subject,
        )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "switch_channel":
            return self.email_address is not None
        if action == "subject_cc":
            return self.writes_email
        if action == "clear_extras":
            extras = bool(self.attachments) or self.reply_to is not None
            return extras and not (self.is_mounted and self.area.selected_text)
        return True

    def action_toggle_note(self) -> None:
        self.note_mode = not self.note_mode

    def action_wrap(self, marker: str) -> None:
        area = self.area
        selected = area.selected_text
        if selected:
            area.replace(f"{marker}{selected}{marker}", *area.selection)
        else:
            area.insert(marker * 2)
            row, col = area.cursor_location
            area.cursor_location = (row, col - len(marker))

    def action_templates(self) -> None:
        self.post_message(self.Request(self, "templates"))

    def action_inserts(self) -> None:
        self.post_message(self.Request(self, "inserts"))

    def action_attach(self) -> None:
        self.post_message(self.Request(self, "attach"))

    def action_clear_extras(self) -> None:
        if len(self.attachments) == 1:
            self.attachments = ()
        elif self.attachments:
            self._pick_file_to_drop()
        else:
            self.reply_to = None

    def _pick_file_to_drop(self) -> None:
        from tui.dialogs.picker import FuzzyPicker, PickItem  # only when several are attached

        attached = self.attachments
        items = [
            PickItem(value=path, label=one_line(path.name), search=path.name) for path in attached
        ]

        def chosen(path: Path | None) -> None:
            if path is not None and self.attachments == attached:
                self.attachments = tuple(kept for kept in attached if kept != path)
                self.set_status(f"Dropped {path.name}.")
            self.area.focus()

        self.app.push_screen(FuzzyPicker("Drop which file?", items), chosen)

    def action_leave(self) -> None:
        self.post_message(self.Left(self))

    def insert_text(self, text: str) -> None:
        self.area.insert(text)
        self.area.focus()

    def begin(self, *, note: bool | None = None, reply_to: Message | None = None) -> None:
        if note is not None:
            self.note_mode = note
        if reply_to is not None:
            self.reply_to = reply_to
        if self.area.focusable:
            # now, not after the keys already queued (``focus()`` waits its turn): the app
            # hands what was typed right after ``r`` to the text box (``TtydeskApp._on_key``)
            self.screen.set_focus(self.area)
        else:
            self.area.focus()  # shown a moment from now (the thread opens first)

    @on(TextArea.Changed, "#composer-text")
    def _changed(self, event: TextArea.Changed) -> None:
        text = event.text_area.text
        path = path_from_paste(text)
        if path is not None:
            event.text_area.clear()
            self.add_attachment(path)
            return
        if text:
            self.post_message(self.Typing(self))

"""The marks the inbox draws states with, in Unicode or in plain ASCII.

Every state has a mark that needs neither colour nor Unicode: a terminal whose locale is
not UTF-8 (``LC_ALL=C`` over an old SSH setup, a serial console) gets the ASCII set, in
which ticked is ``[x]``, unread ``*`` and a read message ``VV``. ``tui.toml`` can choose
either (``glyphs = "ascii"`` or ``"unicode"``); by default the locale decides, as it does
for mutt.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Glyphs:
    cursor: str  # the thread list's cursor marker
    ticked: str  # a thread selected for a bulk action
    unticked: str
    unread: str
    session: str  # before the time left in the 24-hour window
    replied: str  # the last message is ours
    active: str  # the view being shown
    inbound: str  # a message from the contact
    outbound: str  # a message from an agent
    note: str
    queued: str
    sending: str  # a send on its way to WhatsApp
    sent: str
    delivered: str
    read: str
    failed: str
    warning: str
    loading: str
    online: str
    away: str
    offline: str
    connecting: str
    nobody: str  # an empty field, such as no owner
    # after words that go on ("Sending…", "Write a reply…"); a cut text ends with Rich's and
    # Textual's own "…", which an ASCII terminal shows as "~" (terminal_output.to_ascii)
    ellipsis: str
    group: str  # a WhatsApp group's thread
    # the pictures before a file, a place, a call, an ad: none in ASCII (a two-cell emoji
    # has no spelling there, "??" read as a broken message), the words say it
    attachment: str
    location: str
    call: str
    ad: str
    product: str
    blocked: str  # a quarantined message, a revealed one
    person: str  # a shared contact card
    form: str
    order: str


UNICODE = Glyphs(
    cursor="▌",
    ticked="✔",
    unticked=" ",
    unread="●",
    session="⏱",
    replied="↩",
    active="▸",
    inbound="▸",
    outbound="◂",
    note="✎",
    queued="◷",
    sending="↑",
    sent="✓",
    delivered="✓✓",
    read="✓✓",
    failed="✗",
    warning="⚠",
    loading="···",
    online="●",
    away="◐",
    offline="○",
    connecting="◌",
    nobody="—",
    ellipsis="…",
    group="👥",
    attachment="📎",
    location="📍",
    call="📞",
    ad="📣",
    product="🛍",
    blocked="⛔",
    person="👤",
    form="📝",
    order="🛒",
)

ASCII = Glyphs(
    cursor=">",
    ticked="[x]",
    unticked="[ ]",
    unread="*",
    session="@",
    replied="<",
    active=">",
    inbound=">",
    outbound="<",
    note="#",
    queued="..",
    sending="^",
    sent="v",
    delivered="vv",
    read="VV",
    failed="X",
    warning="!",
    loading="...",
    online="+",
    away="~",
    offline="-",
    connecting="~",
    nobody="-",
    ellipsis="...",
    group="(group)",
    attachment="",
    location="",
    call="",
    ad="",
    product="",
    blocked="",
    person="",
    form="",
    order="",
)

_current = UNICODE


def glyphs() -> Glyphs:
    """The set in use."""
    return _current


def use(chosen: Glyphs) -> None:
    global _current
    _current = chosen


def for_locale(env: Mapping[str, str] | None = None) -> Glyphs:
    """ASCII unless the locale says UTF-8 (the first of LC_ALL, LC_CTYPE, LANG that is
    set, as the C library reads them; Python itself runs in UTF-8 either way)."""
    env = os.environ if env is None else env
    for name in ("LC_ALL", "LC_CTYPE", "LANG"):
        value = env.get(name)
        if value:
            normalized = value.lower().replace("-", "")
            return UNICODE if "utf8" in normalized else ASCII
    return ASCII

"""The insert picker (``i``): snippets (contact tokens filled), KB articles, meeting links,
quotes, documents and videos, fuzzy-searched."""

from __future__ import annotations

import re

from rich.text import Text

from backend.schemas import Contact, Insert, InsertKind
from tui.dialogs.picker import FuzzyPicker, PickItem
from tui.dialogs.template_picker import contact_value
from tui.text import clip, inert, one_line

_TOKEN = re.compile(r"\{\{\s*(contact\.[A-Za-z0-9_]+|[A-Za-z0-9_.]+)\s*\}\}")

KIND_LABELS = {
    InsertKind.snippet: "snippet",
    InsertKind.kb_article: "article",
    InsertKind.meeting_link: "meeting",
    InsertKind.quote: "quote",
    InsertKind.document: "document",
    InsertKind.video: "video",
}


def fill_tokens(body: str, contact: Contact | None) -> str:
    """``Hi {{contact.first_name}}`` → ``Hi Ana``; unknown tokens stay as they are."""

    def replace(match: re.Match[str]) -> str:
        value = contact_value(contact, match.group(1))
        return value or match.group(0)

    return _TOKEN.sub(replace, body)


def insert_text(insert: Insert, contact: Contact | None) -> str:
    if insert.kind == InsertKind.snippet:
        return fill_tokens(insert.body, contact)
    if insert.kind in (
        InsertKind.kb_article,
        InsertKind.meeting_link,
        InsertKind.document,
        InsertKind.video,
    ):
        text = f"{insert.title}: {insert.url}" if insert.url else fill_tokens(insert.body, contact)
        return text
    body = fill_tokens(insert.body, contact)
    if insert.url and insert.url not in body:
        body = f"{body}\n{insert.url}"
    return body


def insert_picker(inserts: list[Insert], contact: Contact | None) -> FuzzyPicker[str]:
    items: list[PickItem[str]] = []
    for insert in inserts:
        label = Text()
        label.append(f"{KIND_LABELS.get(insert.kind, insert.kind.value):<9}", "dim")
        label.append_text(one_line(insert.title))
        if insert.tags:
            label.append("  " + " ".join(f"#{t}" for t in insert.tags[:3]), "dim")
        text = insert_text(insert, contact)
        detail = inert(clip(text, 400, 6).text)
        items.append(
            PickItem(
                text,
                label,
                f"{insert.kind.value} {insert.title} {' '.join(insert.tags)} {insert.body[:200]}",
                detail=detail,
            )
        )
    return FuzzyPicker(
        "Insert", items, placeholder="search snippets, articles, links, quotes, files"
    )

"""Template variables ({{1}}, {{name}}) and snippet tokens ({{contact.first_name}})."""

from __future__ import annotations

import re
from collections.abc import Mapping

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]{1,64})\s*\}\}")
_CONTACT_TOKEN = re.compile(r"\{\{\s*contact\.([A-Za-z0-9_]{1,64})\s*\}\}")


def placeholders(text: str | None) -> list[str]:
    """Variable names in order of first appearance, each once."""
    return list(dict.fromkeys(_PLACEHOLDER.findall(text or "")))


def render(text: str | None, values: Mapping[str, str]) -> str:
    """The text with each variable replaced; variables without a value are left as they are."""

    def substitute(match: re.Match[str]) -> str:
        value = values.get(match.group(1))
        return match.group(0) if value is None else str(value)

    return _PLACEHOLDER.sub(substitute, text or "")


def missing(text: str | None, values: Mapping[str, str]) -> list[str]:
    """Variables with no value or a blank one: a template with any of them cannot be sent."""
    return [name for name in placeholders(text) if not str(values.get(name) or "").strip()]


def _contact_property(contact: Mapping[str, object], name: str) -> str | None:
    value = contact.get(name)
    if value is None:
        extra = contact.get("properties")
        if isinstance(extra, Mapping):
            value = extra.get(name)
    if value is None or isinstance(value, Mapping | list | tuple):
        return None
    text = str(value).strip()
    return text or None


def fill_from_contact(mapping: Mapping[str, str], contact: Mapping[str, object]) -> dict[str, str]:
    """Values for template variables from contact properties; blank or missing ones are left out.

    A property is looked up on the contact, then among its free `properties`.
    """
    filled: dict[str, str] = {}
    for variable, property_name in mapping.items():
        value = _contact_property(contact, property_name)
        if value is not None:
            filled[variable] = value
    return filled


def fill_snippet(text: str | None, contact: Mapping[str, object]) -> str:
    """Replace {{contact.x}} tokens; a token with no value is left as it is for the agent to see."""

    def substitute(match: re.Match[str]) -> str:
        value = _contact_property(contact, match.group(1))
        return match.group(0) if value is None else value

    return _CONTACT_TOKEN.sub(substitute, text or "")

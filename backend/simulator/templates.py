"""Message templates as Meta lists them: every placeholder comes with its `example`.

Meta refuses to create a template whose placeholders have no sample values, so a listed
template always carries them (`example.header_text`, `example.body_text`,
`example.body_text_named_params`, a URL button's `example`). Clients rely on that: some
refuse to parse a component without them. Seeded templates give their own examples;
one created through the control API without them gets made-up ones here.
"""

from __future__ import annotations

import copy
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .state import Template

PLACEHOLDER_PATTERN = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")
MEDIA_HEADER_FORMATS = ("IMAGE", "VIDEO", "DOCUMENT")
SAMPLE_MEDIA_HANDLE = "4::aW1hZ2UvanBlZw==:ARZ-sample-handle"
# Templates a WABA may hold: 250, or 6,000 once its business is verified.
MESSAGE_TEMPLATE_LIMIT = 250
MESSAGE_TEMPLATE_LIMIT_VERIFIED = 6000


def placeholders(text: str) -> list[str]:
    """The distinct placeholder names of a text, in order of first use."""
    return list(dict.fromkeys(PLACEHOLDER_PATTERN.findall(text)))


def with_examples(components: list[dict[str, Any]], parameter_format: str) -> list[dict[str, Any]]:
    """A copy of `components` where every component with placeholders has its `example`."""
    named = parameter_format.upper() == "NAMED"
    result = copy.deepcopy(components)
    for component in result:
        kind = str(component.get("type", "")).upper()
        if kind == "HEADER":
            _header_example(component, named)
        elif kind == "BODY":
            _body_example(component, named)
        elif kind == "BUTTONS":
            for button in component.get("buttons") or []:
                if isinstance(button, dict):
                    _url_button_example(button)
    return result


def _sample_values(names: list[str]) -> list[str]:
    return [f"sample {name}" for name in names]


def _header_example(component: dict[str, Any], named: bool) -> None:
    example = component.get("example")
    if str(component.get("format", "")).upper() in MEDIA_HEADER_FORMATS:
        if not (isinstance(example, dict) and example.get("header_handle")):
            component["example"] = {"header_handle": [SAMPLE_MEDIA_HANDLE]}
        return
    names = placeholders(str(component.get("text", "")))
    if not names or isinstance(example, dict) and example:
        return
    if named:
        component["example"] = {
            "header_text_named_params": [
                {"param_name": name, "example": value}
                for name, value in zip(names, _sample_values(names), strict=True)
            ]
        }
    else:
        component["example"] = {"header_text": _sample_values(names)}


def _body_example(component: dict[str, Any], named: bool) -> None:
    names = placeholders(str(component.get("text", "")))
    example = component.get("example")
    if not names or isinstance(example, dict) and example:
        return
    if named:
        component["example"] = {
            "body_text_named_params": [
                {"param_name": name, "example": value}
                for name, value in zip(names, _sample_values(names), strict=True)
            ]
        }
    else:
        component["example"] = {"body_text": [_sample_values(names)]}


def _url_button_example(button: dict[str, Any]) -> None:
    if str(button.get("type", "")).upper() != "URL" or button.get("example"):
        return
    url = str(button.get("url", ""))
    if placeholders(url):
        button["example"] = [PLACEHOLDER_PATTERN.sub("sample", url)]


def translations_complete(templates: list[Template]) -> bool:
    """Whether every template name exists in every language the account uses."""
    languages = {t.language for t in templates}
    by_name: dict[str, set[str]] = {}
    for template in templates:
        by_name.setdefault(template.name, set()).add(template.language)
    return all(found == languages for found in by_name.values())


def template_summary(
    fields: str, *, matching: int, total: int, limit: int, translations_complete: bool
) -> dict[str, Any]:
    """The `summary` object of a template list, with the fields asked for (`summary=a,b`)."""
    known: dict[str, Any] = {
        "total_count": matching,
        "message_template_count": total,
        "message_template_limit": limit,
        "are_translations_complete": translations_complete,
    }
    wanted = [f.strip() for f in fields.split(",") if f.strip()]
    if wanted in (["true"], ["1"]):
        wanted = ["total_count"]
    return {name: known[name] for name in wanted if name in known}

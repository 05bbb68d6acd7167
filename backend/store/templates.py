"""Message templates synced from the WABAs, with a per-template variable mapping.

Variables a template needs, in order (``Template.variables``); each component has its own:
- ``"header"`` for a media header (IMAGE, VIDEO, DOCUMENT): a https link, or
  ``"header.<placeholder>"`` for each placeholder of a TEXT header (``"header.1"``);
- the body's placeholders as they are (``"1"``, ``"2"`` or named ones): the names a
  body-only template always had, so flat ``variables`` and mappings keep working;
- ``"button.<index>"`` for a URL button whose URL has a placeholder.
A header's ``{{1}}`` and the body's ``{{1}}`` are different variables.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from backend import schemas
from backend.domain import templates as template_rules
from backend.domain.errors import InvalidField, NotFound
from backend.store.base import StoreBase, loads
from backend.store.engine import Tx, dumps, parse_dt
from backend.store.types import FilledTemplate, TemplateDefinition, TemplateValue

SENDABLE_STATUS = "APPROVED"
MEDIA_HEADER_FORMATS = {"IMAGE": "image", "VIDEO": "video", "DOCUMENT": "document"}


def _component(components: list[dict[str, Any]], kind: str) -> dict[str, Any] | None:
    for component in components:
        if str(component.get("type", "")).upper() == kind:
            return component
    return None


def _url_buttons(components: list[dict[str, Any]]) -> list[tuple[int, str]]:
    buttons = (_component(components, "BUTTONS") or {}).get("buttons") or []
    return [
        (index, str(button.get("url") or ""))
        for index, button in enumerate(buttons)
        if isinstance(button, dict)
        and str(button.get("type", "")).upper() == "URL"
        and template_rules.placeholders(str(button.get("url") or ""))
    ]


HEADER_PREFIX = "header."
BUTTON_PREFIX = "button."


def template_variables(components: list[dict[str, Any]]) -> list[str]:
    header = _component(components, "HEADER") or {}
    body = _component(components, "BODY") or {}
    names: list[str] = []
    header_format = str(header.get("format", "")).upper()
    if header_format in MEDIA_HEADER_FORMATS:
        names.append("header")
    elif header_format == "TEXT":
        names.extend(
            HEADER_PREFIX + name for name in template_rules.placeholders(header.get("text"))
        )
    names.extend(template_rules.placeholders(body.get("text")))
    names.extend(f"{BUTTON_PREFIX}{index}" for index, _ in _url_buttons(components))
    return list(dict.fromkeys(names))


def given_values(
    row: sqlite3.Row | Mapping[str, Any],
    variables: Mapping[str, str],
    by_component: schemas.TemplateValues | None,
) -> dict[str, str]:
    """The agent's values under the names of ``template_variables``: the flat ``variables``
    as they are, then the per-component ones (a media header's ``link`` is ``"header"``)."""
    given = dict(variables)
    if by_component is None:
        return given
    components = loads(row["components"], [])
    media_header = str((_component(components, "HEADER") or {}).get("format", "")).upper()
    for name, value in by_component.header.items():
        if media_header in MEDIA_HEADER_FORMATS and name == "link":
            given["header"] = value
        else:
            given[HEADER_PREFIX + name] = value
    given.update(by_component.body)
    given.update(
        {f"{BUTTON_PREFIX}{index}": value for index, value in by_component.buttons.items()}
    )
    return given


def template_from_row(row: sqlite3.Row | Mapping[str, Any]) -> schemas.Template:
    components = loads(row["components"], [])
    return schemas.Template(
        id=row["id"],
        waba_id=row["waba_id"],
        external_id=row["external_id"],
        name=row["name"],
        language=row["language"],
        status=row["status"],
        category=row["category"],
        parameter_format=row["parameter_format"],
        components=[
            schemas.TemplateComponent(
                type=str(c.get("type", "")),
                format=c.get("format"),
                text=c.get("text"),
                buttons=[b for b in c.get("buttons") or [] if isinstance(b, dict)],
            )
            for c in components
            if isinstance(c, dict)
        ],
        variables=template_variables(components),
        variable_mapping=loads(row["variable_mapping"], {}),
        sendable=str(row["status"]).upper() == SENDABLE_STATUS,
        updated_at=parse_dt(row["updated_at"]),
    )


@dataclass(frozen=True, slots=True)
class PreparedTemplate:
    """A template filled in: what the channel sends, and the text agents see."""

    filled: FilledTemplate
    text: str
    values: dict[str, str]


def prepare_template(
    row: sqlite3.Row | Mapping[str, Any],
    given: Mapping[str, str],
    contact: Mapping[str, Any],
) -> PreparedTemplate:
    """Agent-given values first, then the contact via the mapping; a gap is a 422."""
    if str(row["status"]).upper() != SENDABLE_STATUS:
        raise InvalidField(
            f"The template {row['name']!r} ({row['language']}) is {row['status']}; only approved "
            "templates can be sent.",
            field="name",
            code="template_not_approved",
        )
    components: list[dict[str, Any]] = loads(row["components"], [])
    mapping = loads(row["variable_mapping"], {})
    values = template_rules.fill_from_contact(mapping, contact)
    values.update({k: v for k, v in given.items() if str(v).strip()})
    needed = template_variables(components)
    for name in needed:
        if not str(values.get(name) or "").strip():
            raise InvalidField(
                f"The template variable {name!r} has no value: type it, or map it to a contact "
                "property that this contact has.",
                field=f"variables.{name}",
                code="template_variable_missing",
            )
    unknown = sorted(set(given) - set(needed))
    if unknown:
        raise InvalidField(
            f"The template has no variable {unknown[0]!r}; its variables are "
            f"{', '.join(needed) or 'none'}.",
            field=f"variables.{unknown[0]}",
        )

    def filled(text: str | None, prefix: str = "") -> tuple[TemplateValue, ...]:
        return tuple(
            TemplateValue(name, values[prefix + name]) for name in template_rules.placeholders(text)
        )

    header_media: str | None = None
    header_link: str | None = None
    header_values: tuple[TemplateValue, ...] = ()
    body_values: tuple[TemplateValue, ...] = ()
    parts: list[str] = []
    header = _component(components, "HEADER")
    if header is not None:
        header_format = str(header.get("format", "")).upper()
        if header_format in MEDIA_HEADER_FORMATS:
            header_media = MEDIA_HEADER_FORMATS[header_format]
            header_link = values["header"]
            if not header_link.startswith(("https://", "http://")):
                raise InvalidField(
                    f"The template's header needs a link (https://…) to the {header_media} "
                    "to show.",
                    field="variables.header",
                )
            parts.append(f"[{header_media.capitalize()}] {header_link}")
        elif header_format == "TEXT":
            header_values = filled(header.get("text"), HEADER_PREFIX)
            shown = {
                name.removeprefix(HEADER_PREFIX): value
                for name, value in values.items()
                if name.startswith(HEADER_PREFIX)
            }
            parts.append(template_rules.render(header.get("text"), shown))
    body = _component(components, "BODY")
    if body is not None:
        body_values = filled(body.get("text"))
        parts.append(template_rules.render(body.get("text"), values))
    url_buttons = tuple(
        TemplateValue(str(index), values[f"{BUTTON_PREFIX}{index}"])
        for index, _ in _url_buttons(components)
    )
    footer = _component(components, "FOOTER")
    if footer is not None and footer.get("text"):
        parts.append(str(footer["text"]))
    text = "\n\n".join(part for part in parts if part)
    return PreparedTemplate(
        filled=FilledTemplate(
            name=row["name"],
            language=row["language"],
            by_name=str(row["parameter_format"]).upper() == "NAMED",
            header_media=header_media,
            header_link=header_link,
            header=header_values,
            body=body_values,
            url_buttons=url_buttons,
        ),
        text=text,
        values={k: values[k] for k in needed},
    )


def find_template(tx: Tx, name: str, language: str) -> sqlite3.Row:
    row = tx.one("SELECT * FROM templates WHERE name = ? AND language = ?", (name, language))
    if row is None:
        raise InvalidField(
            f"There is no template {name!r} in {language}; sync the templates or pick another.",
            field="name",
            code="template_not_found",
        )
    return row


def _emit_template(tx: Tx, template_id: int) -> schemas.Template:
    row = tx.one("SELECT * FROM templates WHERE id = ?", (template_id,))
    template = template_from_row(row)
    tx.emit(schemas.EventType.template_updated, template.model_dump(mode="json"))
    return template


class TemplatesStore(StoreBase):
    async def list_templates(self) -> list[schemas.Template]:
        rows = await self.readers.all("SELECT * FROM templates ORDER BY name, language")
        return [template_from_row(row) for row in rows]

    async def replace_templates(
        self, waba_id: str, definitions: list[TemplateDefinition]
    ) -> list[schemas.Template]:
        """Store a WABA's templates as its channel lists them; ones no longer listed go.

        The variable mapping of a template that stays is kept.
        """

        def replace(tx: Tx) -> list[schemas.Template]:
            seen: list[int] = []
            for definition in definitions:
                name, language = definition.name, definition.language
                values = {
                    "waba_id": waba_id,
                    "external_id": definition.external_id,
                    "status": definition.status,
                    "category": definition.category,
                    "parameter_format": definition.parameter_format,
                    "components": dumps(definition.parts),
                    "updated_at": tx.now_iso,
                }
                row = tx.one(
                    "SELECT id, status, components, category, parameter_format, external_id "
                    "FROM templates WHERE name = ? AND language = ?",
                    (name, language),
                )
                if row is None:
                    template_id = tx.insert(
                        "templates", {**values, "name": name, "language": language}
                    )
                else:
                    template_id = row["id"]
                    unchanged = all(
                        row[key] == values[key]
                        for key in ("status", "components", "category", "parameter_format")
                    )
                    tx.update("templates", template_id, values)
                    if unchanged:
                        seen.append(template_id)
                        continue
                seen.append(template_id)
                _emit_template(tx, template_id)
            marks = ",".join("?" for _ in seen) or "NULL"
            gone = tx.all(
                f"SELECT id FROM templates WHERE waba_id = ? AND id NOT IN ({marks})",
                (waba_id, *seen),
            )
            for row in gone:
                tx.execute("DELETE FROM templates WHERE id = ?", (row["id"],))
            rows = tx.all(
                "SELECT * FROM templates WHERE waba_id = ? ORDER BY name, language", (waba_id,)
            )
            return [template_from_row(row) for row in rows]

        return await self.write(replace)

    async def update_template_mapping(
        self, template_id: int, mapping: dict[str, str]
    ) -> schemas.Template:
        def update(tx: Tx) -> schemas.Template:
            row = tx.one("SELECT * FROM templates WHERE id = ?", (template_id,))
            if row is None:
                raise NotFound("There is no such template.", code="template_not_found")
            variables = template_variables(loads(row["components"], []))
            cleaned: dict[str, str] = {}
            for variable, prop in mapping.items():
                if variable not in variables:
                    raise InvalidField(
                        f"The template has no variable {variable!r}; its variables are "
                        f"{', '.join(variables) or 'none'}.",
                        field=f"variable_mapping.{variable}",
                    )
                prop = str(prop).strip()
                if prop.startswith("contact."):
                    prop = prop.removeprefix("contact.")
                if not prop:
                    continue  # an empty property removes the mapping
                cleaned[variable] = prop
            tx.update(
                "templates",
                template_id,
                {"variable_mapping": dumps(cleaned), "updated_at": tx.now_iso},
            )
            return _emit_template(tx, template_id)

        return await self.write(update)

"""The template picker (``t``): fuzzy list, variables pre-filled from the contact, live preview."""

from __future__ import annotations

import re
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.fuzzy import Matcher
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from backend.schemas import Contact, SendPrices, SendTemplate, Template, TemplateValues
from tui.billing import template_billing
from tui.text import inert, one_line

_VARIABLE = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")


def contact_value(contact: Contact | None, prop: str | None) -> str:
    """The value of a contact property named by a template mapping (``first_name``,
    ``contact.first_name``, ``properties.plan`` or a free property name)."""
    if contact is None or not prop:
        return ""
    name = prop.removeprefix("contact.").removeprefix("properties.")
    if name in type(contact).model_fields and name != "properties":
        value: Any = getattr(contact, name)
    else:
        value = contact.properties.get(name)
    return "" if value is None else str(value)


def template_variables(template: Template) -> list[str]:
    if template.variables:
        return list(template.variables)
    found: list[str] = []
    for component in template.components:
        for name in _VARIABLE.findall(component.text or ""):
            if name not in found:
                found.append(name)
    return found


HEADER, BODY, BUTTONS = "header", "body", "buttons"


def component_of(variable: str) -> tuple[str, str]:
    """(component, name inside it) of a ``Template.variables`` name: ``"header.1"`` is the
    header's {{1}}, ``"header"`` a media header's link, ``"button.0"`` the first button's
    URL, anything else the body's own variable."""
    if variable == "header":
        return HEADER, "link"
    if variable.startswith("header."):
        return HEADER, variable.removeprefix("header.")
    if variable.startswith("button."):
        return BUTTONS, variable.removeprefix("button.")
    return BODY, variable


def by_component(values: dict[str, str]) -> dict[str, dict[str, str]]:
    grouped: dict[str, dict[str, str]] = {HEADER: {}, BODY: {}, BUTTONS: {}}
    for variable, value in values.items():
        component, name = component_of(variable)
        grouped[component][name] = value
    return grouped


def fill(text: str, values: dict[str, str]) -> Text:
    """Template text with its variables replaced; filled values are inert, missing ones marked."""
    out = Text()
    pos = 0
    for match in _VARIABLE.finditer(text):
        out.append_text(inert(text[pos : match.start()]))
        value = values.get(match.group(1), "")
        if value:
            out.append_text(inert(value, "bold underline"))
        else:
            out.append(f"{{{{{match.group(1)}}}}}", "reverse")
        pos = match.end()
    out.append_text(inert(text[pos:]))
    return out


def preview(template: Template, values: dict[str, str]) -> Text:
    """The message as the customer will see it; ``values`` by ``Template.variables`` name,
    each component filled with its own."""
    grouped = by_component(values)
    out = Text()
    for component in template.components:
        kind = component.type.upper()
        if kind == "HEADER":
            if component.text:
                start = len(out)
                out.append_text(fill(component.text, grouped[HEADER]))
                out.stylize("bold", start, len(out))
            elif component.format:
                out.append(f"[{component.format.lower()} header]", "dim")
                link = grouped[HEADER].get("link")
                if link:
                    out.append(" ")
                    out.append_text(one_line(link, "dim"))
            out.append("\n")
        elif kind == "BODY":
            out.append_text(fill(component.text or "", grouped[BODY]))
            out.append("\n")
        elif kind == "FOOTER":
            out.append_text(inert(component.text or "", "dim"))
            out.append("\n")
        elif kind == "BUTTONS":
            for index, button in enumerate(component.buttons):
                out.append("[ ")
                out.append_text(one_line(button.get("text", "button")))
                url = str(button.get("url") or "")
                if str(button.get("type", "")).upper() == "URL" and _VARIABLE.search(url):
                    out.append(" → ")
                    suffix = grouped[BUTTONS].get(str(index), "")
                    out.append_text(fill(url, dict.fromkeys(_VARIABLE.findall(url), suffix)))
                out.append(" ] ")
            out.append("\n")
    return out


SECTION_TITLES = {HEADER: "Header", BODY: "Body", BUTTONS: "Buttons"}


def described(variable: str) -> str:
    """A variable as agents read it: ``header {{1}}``, ``body {{1}}``, ``button 1 URL``."""
    component, name = component_of(variable)
    if component == BUTTONS:
        return f"button {int(name) + 1} URL"
    if variable == "header":
        return "header link"
    return f"{component} {{{{{name}}}}}"


def language_rank(language: str, preferred: list[str]) -> int:
    """Where a template language stands for a contact who reads ``preferred`` (best first,
    ``Contact.languages``): the place of its own code, else of its language without the
    country (``es_ES`` for a contact in Mexico stands where ``es`` does); last when none."""
    if language in preferred:
        return preferred.index(language)
    base = language.split("_", 1)[0]
    return preferred.index(base) if base in preferred else len(preferred)


class TemplatePicker(ModalScreen[SendTemplate | None]):
    """Choose a template, fill its variables, see the final text, send."""

    BINDINGS = [
        Binding(
            "escape", "cancel", "Cancel", id="templates.cancel", tooltip="Close without sending"
        ),
        Binding(
            "ctrl+s",
            "send",
            "Send",
            id="templates.send",
            tooltip="Send the template",
            priority=True,
        ),
        Binding(
            "down", "move(1)", "Down", show=False, id="templates.down", tooltip="Next template"
        ),
        Binding("up", "move(-1)", "Up", show=False, id="templates.up", tooltip="Previous template"),
    ]

    DEFAULT_CSS = """
    TemplatePicker {
        align: center middle;
        & > Vertical {
            width: 110; max-width: 98%; height: 90%; max-height: 40;
            border: thick $primary 60%; background: $panel; padding: 0 1;
        }
        & #tp-title { text-style: bold; height: 1; }
        & Horizontal { height: 1fr; }
        & #tp-left { width: 2fr; min-width: 24; }
        & #tp-right { width: 3fr; padding-left: 1; border-left: vkey $primary 30%; }
        & OptionList { height: 1fr; border: none; }
        & #tp-vars { height: auto; max-height: 12; }
        & #tp-vars Input { margin: 0; }
        & #tp-vars Label { color: $text-muted; }
        & #tp-vars .tp-section { color: $text; }
        & #tp-preview { height: 1fr; border-top: solid $primary 30%; }
        & #tp-status { height: auto; color: $text-error; }
    }
    """

    def __init__(
        self,
        templates: list[Template],
        contact: Contact | None = None,
        *,
        title: str = "Send a template",
        prices: SendPrices | None = None,
    ) -> None:
        super().__init__()
        # the languages the contact reads first: an agent never has to scroll past English
        # to write to a Spanish customer in Spanish
        self.languages = contact.languages if contact is not None else []
        self.templates = sorted(
            templates,
            key=lambda t: (
                not t.sendable and t.status != "APPROVED",
                language_rank(t.language, self.languages),
                t.name,
                t.language,
            ),
        )
        self.contact = contact
        self.prices = prices  # what a send in the thread is billed (None: not known)
        self.title_text = title
        self._shown: list[Template] = []
        self._current: Template | None = None
        self._filtered_for: str | None = None
        self._values: dict[str, str] = {}  # by Template.variables name, as typed
        self._fallback: dict[str, str] = {}  # the contact's mapped values

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(self.title_text + "  (ctrl+s send · esc cancel)"), id="tp-title")
            with Horizontal():
                with Vertical(id="tp-left"):
                    yield Input(
                        placeholder="type to filter templates", id="tp-filter", classes="query"
                    )
                    yield OptionList(id="tp-list")
                with Vertical(id="tp-right"):
                    # the fields take the focus, one by one (scrolled to): the box itself
                    # would take a tab press and show nothing
                    yield VerticalScroll(id="tp-vars", can_focus=False)
                    yield Static("", id="tp-preview", markup=False)
                    yield Static("", id="tp-status", markup=False)

    def on_mount(self) -> None:
        self._filter("")
        self.query_one("#tp-filter", Input).focus()

    def _sendable(self, template: Template) -> bool:
        return template.sendable or template.status.upper() == "APPROVED"

    def _filter(self, query: str) -> None:
        self._filtered_for = query
        if query.strip():
            matcher = Matcher(query.strip())
            scored = [
                (matcher.match(f"{t.name} {t.language} {t.category or ''}"), t)
                for t in self.templates
            ]
            self._shown = [t for s, t in sorted(scored, key=lambda p: -p[0]) if s > 0]
        else:
            self._shown = list(self.templates)
        options = self.query_one("#tp-list", OptionList)
        options.clear_options()
        for template in self._shown:
            label = Text()
            ok = self._sendable(template)
            label.append_text(one_line(template.name, "" if ok else "dim"))
            label.append(f" {template.language}", "dim")
            if not ok:
                label.append(f" · {template.status.lower()}", "dim italic")
            options.add_option(Option(label, disabled=not ok))
        for index, template in enumerate(self._shown):
            if self._sendable(template):
                options.highlighted = index
                break
        self._select(options.highlighted)

    @on(Input.Changed, "#tp-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self._filter(event.value)

    @on(OptionList.OptionHighlighted, "#tp-list")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self._select(event.option_index)

    def _select(self, index: int | None) -> None:
        template = (
            self._shown[index] if index is not None and 0 <= index < len(self._shown) else None
        )
        if template is self._current:
            return
        self._current = template
        self._values = {}
        box = self.query_one("#tp-vars", VerticalScroll)
        box.remove_children()
        if template is None:
            self._update_preview()
            return
        self._fallback = {}
        widgets: list[Widget] = []
        section = None
        for name in template_variables(template):
            component, local = component_of(name)
            if component != section:
                section = component
                widgets.append(
                    Label(Text(SECTION_TITLES[component], style="bold"), classes="tp-section")
                )
            mapped = template.variable_mapping.get(name)
            value = contact_value(self.contact, mapped)
            self._values[name] = value
            self._fallback[name] = value
            shown = f"button {int(local) + 1} URL" if component == BUTTONS else f"{{{{{local}}}}}"
            if component == HEADER and local == "link" and name == "header":
                shown = "media link"
            label = shown + (f" ← {mapped}" if mapped else "")
            widgets.append(Label(Text(label)))
            widgets.append(
                Input(
                    value,
                    placeholder=f"{SECTION_TITLES[component].lower()}: value for {shown}",
                    name=name,
                )
            )
        if not widgets:
            widgets.append(Label(Text("This template has no variables.")))
        box.mount_all(widgets)
        self._update_preview()

    def _effective(self) -> dict[str, str]:
        """What will be sent: the typed value, or for a blank one the contact's mapped value."""
        return {
            name: value if value.strip() else self._fallback.get(name, "")
            for name, value in self._values.items()
        }

    @on(Input.Changed, "#tp-vars Input")
    def _var_changed(self, event: Input.Changed) -> None:
        # (a box just mounted reports its first value: no change, and no status cleared)
        if event.input.name and self._values.get(event.input.name) != event.value:
            self._values[event.input.name] = event.value
            self._update_preview()

    @on(Input.Submitted, "#tp-vars Input")
    def _var_submitted(self) -> None:
        self.focus_next()

    @on(Input.Submitted, "#tp-filter")
    def _filter_submitted(self) -> None:
        inputs = self.query("#tp-vars Input")
        if inputs:
            inputs.first().focus()
        else:
            self.action_send()

    def _update_preview(self) -> None:
        template = self._current
        preview_widget = self.query_one("#tp-preview", Static)
        if template is None:
            preview_widget.update(Text("No template chosen.", style="dim"))
            return
        out = Text("Preview\n", style="bold")
        out.append_text(preview(template, self._effective()))
        out.append_text(template_billing(template, self.prices))
        if not self._sendable(template):
            out.append(f"\nNot sendable: status {template.status}.", "bold")
        if self.languages and language_rank(template.language, self.languages) == len(
            self.languages
        ):
            reads = ", ".join(dict.fromkeys(code.split("_", 1)[0] for code in self.languages))
            out.append(f"\nIn {template.language}: the contact likely reads {reads}.", "bold")
        preview_widget.update(out)
        self.query_one("#tp-status", Static).update("")

    def action_move(self, delta: int) -> None:
        options = self.query_one("#tp-list", OptionList)
        if delta > 0:
            options.action_cursor_down()
        else:
            options.action_cursor_up()

    def action_send(self) -> None:
        status = self.query_one("#tp-status", Static)
        # keys typed into the filter just before ctrl+s (a burst) are in it, but the list
        # may not have caught up: never send a template whose preview was not shown
        query = self.query_one("#tp-filter", Input).value
        if query != self._filtered_for:
            shown = self._current
            self._filter(query)
            if self._current is not shown:
                status.update(
                    Text("The list changed as you typed: check the preview, then ctrl+s.")
                )
                return
        template = self._current
        for field in self.query("#tp-vars Input").results(Input):
            if field.name:
                self._values[field.name] = field.value
        if template is None:
            status.update(Text("Choose a template first."))
            return
        if not self._sendable(template):
            status.update(
                Text(f"{template.name} is {template.status}: only approved templates can be sent.")
            )
            return
        effective = self._effective()
        missing = [
            name for name in template_variables(template) if not effective.get(name, "").strip()
        ]
        if missing:
            status.update(
                Text("Fill every variable first: " + ", ".join(described(m) for m in missing))
            )
            return
        grouped = by_component(self._values)
        self.dismiss(
            SendTemplate(
                kind="template",
                name=template.name,
                language=template.language,
                components=TemplateValues(
                    header=grouped[HEADER], body=grouped[BODY], buttons=grouped[BUTTONS]
                ),
            )
        )

    def action_cancel(self) -> None:
        self.dismiss(None)

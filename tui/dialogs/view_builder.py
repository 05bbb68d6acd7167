"""The view builder (``v``): name → sharing → filters (property, operator, values) → create.

``enter`` goes to the next step, ``ctrl+s`` creates the view from any step once it has a
name, ``escape`` cancels. The same dialog edits an existing view.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.fuzzy import Matcher
from textual.screen import ModalScreen
from textual.widgets import ContentSwitcher, Input, OptionList, SelectionList, Static
from textual.widgets.option_list import Option

from backend.schemas import (
    FilterOperator,
    FilterProperty,
    View,
    ViewCreate,
    ViewFilter,
    ViewSharing,
)
from tui.text import inert, one_line

OPERATOR_WORDS = {
    FilterOperator.is_any_of: "is any of",
    FilterOperator.is_none_of: "is none of",
    FilterOperator.is_known: "is known",
    FilterOperator.is_unknown: "is unknown",
    FilterOperator.contains: "contains",
    FilterOperator.before: "is before",
    FilterOperator.after: "is after",
    FilterOperator.within: "within (hours)",
    FilterOperator.at_least: "is at least",
    FilterOperator.at_most: "is at most",
}
NO_VALUES = {FilterOperator.is_known, FilterOperator.is_unknown}
SHARING_WORDS = {
    ViewSharing.private: "Private: only me",
    ViewSharing.team: "My team",
    ViewSharing.everyone: "Everyone",
}

#: Used when the server's catalogue cannot be read.
FALLBACK_PROPERTIES = [
    FilterProperty(
        name="original_channel_type",
        label="Original channel type",
        kind="enum",
        operators=[FilterOperator.is_any_of, FilterOperator.is_none_of],
        values=["WHATSAPP", "EMAIL"],
    ),
    FilterProperty(
        name="channel_type",
        label="Channel",
        kind="enum",
        operators=[FilterOperator.is_any_of, FilterOperator.is_none_of],
        values=["WHATSAPP", "EMAIL"],
    ),
    FilterProperty(
        name="status",
        label="Status",
        kind="enum",
        operators=[FilterOperator.is_any_of, FilterOperator.is_none_of],
        values=["new", "waiting_on_contact", "waiting_on_us", "closed"],
    ),
    FilterProperty(
        name="owner",
        label="Owner",
        kind="agent",
        operators=[
            FilterOperator.is_any_of,
            FilterOperator.is_none_of,
            FilterOperator.is_known,
            FilterOperator.is_unknown,
        ],
    ),
    FilterProperty(
        name="priority",
        label="Priority",
        kind="enum",
        operators=[FilterOperator.is_any_of, FilterOperator.is_none_of],
        values=["low", "medium", "high", "urgent"],
    ),
    FilterProperty(
        name="business_number",
        label="Business number",
        kind="string",
        operators=[FilterOperator.is_any_of, FilterOperator.contains],
    ),
    FilterProperty(
        name="session_state",
        label="Session state",
        kind="enum",
        operators=[FilterOperator.is_any_of],
        values=["open", "expired"],
    ),
    FilterProperty(
        name="session_expires",
        label="Session expires",
        kind="hours",
        operators=[FilterOperator.within],
    ),
    FilterProperty(
        name="unread",
        label="Unread",
        kind="bool",
        operators=[FilterOperator.is_any_of],
        values=["true", "false"],
    ),
    FilterProperty(
        name="last_message_at",
        label="Last message time",
        kind="datetime",
        operators=[FilterOperator.before, FilterOperator.after],
    ),
]


# the value step's words by property kind (a property with listed values is ticked instead)
VALUE_WORDS: dict[str, tuple[str, str]] = {
    "hours": ("Filter · how many hours (enter to add the filter)", "hours, e.g. 4 (at most 24)"),
    "datetime": ("Filter · a day (enter to add the filter)", "a day, YYYY-MM-DD"),
}
TYPED_VALUES = (
    "Filter · values (enter to add the filter)",
    "values, separated by commas",
)


def describe(
    filters: list[ViewFilter],
    properties: dict[str, FilterProperty],
    agent_names: dict[str, str] | None = None,
) -> Text:
    if not filters:
        return Text("No filters yet: the view shows every thread.", style="dim")
    out = Text()
    for number, item in enumerate(filters, 1):
        prop = properties.get(item.property)
        out.append(f"{number}. ", "dim")
        out.append_text(one_line(prop.label if prop else item.property, "bold"))
        out.append(f" {OPERATOR_WORDS.get(item.operator, item.operator.value)} ")
        named = agent_names if prop is not None and prop.kind == "agent" else None
        shown = [named.get(value, value) for value in item.values] if named else item.values
        out.append_text(one_line(", ".join(shown)))
        out.append("\n")
    return out


class PropertySearch(Input):
    """The property step's search box: up/down move in the list below it (the box keeps the
    focus, so typing still narrows the list)."""

    BINDINGS = [
        Binding(
            "down",
            "move(1)",
            "Next",
            show=False,
            id="viewbuilder.next_property",
            tooltip="Next property",
        ),
        Binding(
            "up",
            "move(-1)",
            "Previous",
            show=False,
            id="viewbuilder.previous_property",
            tooltip="Previous property",
        ),
    ]

    def action_move(self, step: int) -> None:
        options = self.screen.query_one("#vb-prop-list", OptionList)
        if options.option_count:
            current = options.highlighted if options.highlighted is not None else -1
            options.highlighted = max(0, min(current + step, options.option_count - 1))


class ViewBuilder(ModalScreen[ViewCreate | None]):
    BINDINGS = [
        Binding(
            "escape", "cancel", "Cancel", id="viewbuilder.cancel", tooltip="Close without saving"
        ),
        Binding(
            "ctrl+s",
            "create",
            "Save view",
            id="viewbuilder.save",
            tooltip="Save the view now",
            priority=True,
        ),
        Binding(
            "ctrl+d",
            "drop_last",
            "Drop last filter",
            id="viewbuilder.drop",
            tooltip="Remove the last filter",
            priority=True,  # before the search box's own ctrl+d (delete right)
        ),
        Binding(
            "enter",
            "values_done",
            "Add filter",
            show=False,
            priority=True,
            id="viewbuilder.add_filter",
            tooltip="Add the filter with the ticked values",
        ),
    ]

    DEFAULT_CSS = """
    ViewBuilder {
        align: center middle;
        & > Vertical {
            width: 76; max-width: 96%; height: auto; max-height: 90%;
            border: thick $primary 60%; background: $panel; padding: 0 1;
        }
        & #vb-title { text-style: bold; }
        & #vb-step { color: $text-muted; padding-bottom: 1; }
        & #vb-filters { height: auto; max-height: 8; padding-bottom: 1; }
        & ContentSwitcher { height: auto; }
        & OptionList, & SelectionList { height: auto; max-height: 12; border: none; }
        & #vb-error { color: $text-error; height: auto; }
    }
    """

    def __init__(
        self,
        properties: list[FilterProperty] | None,
        *,
        view: View | None = None,
        refused: tuple[ViewCreate, str] | None = None,
        agent_names: dict[str, str] | None = None,
    ) -> None:
        """``refused``: what the server would not save and why: the builder opens on it,
        at its filters, with the reason shown. ``agent_names``: an owner filter's values
        (an agent's id, or ``me``) and the names they are ticked by."""
        super().__init__()
        props = properties or FALLBACK_PROPERTIES
        self.properties = {p.name: p for p in props}
        self.editing = view
        start = refused[0] if refused else view
        self.name_value = start.name if start else ""
        self.sharing = start.sharing if start else ViewSharing.private
        self.filters: list[ViewFilter] = list(start.filters) if start else []
        self._refusal = refused[1] if refused else ""
        self.agent_names = agent_names or {}
        self._prop: FilterProperty | None = None
        self._operator: FilterOperator | None = None
        self._prop_shown: list[FilterProperty | None] = []

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text("Edit view" if self.editing else "New view"), id="vb-title")
            yield Static("", id="vb-step", markup=False)
            yield Static("", id="vb-filters", markup=False)
            # above the step's list, which fills the dialog at 80x24: a refusal stays in view
            yield Static("", id="vb-error", markup=False)
            with ContentSwitcher(initial="vb-name"):
                yield Input(self.name_value, placeholder="View name, e.g. WhatsApp", id="vb-name")
                yield OptionList(
                    *[Option(w, id=s.value) for s, w in SHARING_WORDS.items()], id="vb-sharing"
                )
                with Vertical(id="vb-property"):
                    yield PropertySearch(
                        placeholder="search properties (up/down choose)",
                        id="vb-prop-filter",
                        classes="query",
                    )
                    yield OptionList(id="vb-prop-list")
                yield OptionList(id="vb-operator")
                with Vertical(id="vb-values"):
                    yield SelectionList[str](id="vb-value-list")
                    yield Input(
                        placeholder="values, separated by commas (dates: YYYY-MM-DD)",
                        id="vb-value-input",
                    )

    def on_mount(self) -> None:
        self._show_filters()
        if self._refusal:
            self._go("vb-property")
            self._error(self._refusal)
        else:
            self._go("vb-name")

    # ----------------------------------------------------------------- steps

    def _go(self, step: str) -> None:
        switcher = self.query_one(ContentSwitcher)
        switcher.current = step
        words = {
            "vb-name": "Step 1 of 3 · name (enter to continue)",
            "vb-sharing": "Step 2 of 3 · who can see it (enter to choose)",
            "vb-property": "Step 3 of 3 · filters: pick a property; ctrl+s saves the view",
            "vb-operator": "Filter · operator",
            "vb-values": "Filter · values (space to tick, enter to add the filter)",
        }
        self.query_one("#vb-step", Static).update(Text(words[step]))
        self.query_one("#vb-error", Static).update("")
        if step == "vb-name":
            self.query_one("#vb-name", Input).focus()
        elif step == "vb-sharing":
            sharing = self.query_one("#vb-sharing", OptionList)
            sharing.highlighted = list(SHARING_WORDS).index(self.sharing)
            sharing.focus()
        elif step == "vb-property":
            filter_input = self.query_one("#vb-prop-filter", Input)
            filter_input.value = ""
            self._filter_properties("")
            filter_input.focus()
        elif step == "vb-operator":
            assert self._prop is not None
            operators = self.query_one("#vb-operator", OptionList)
            operators.clear_options()
            operators.add_options(
                [
                    Option(OPERATOR_WORDS.get(op, op.value), id=op.value)
                    for op in self._prop.operators
                ]
            )
            operators.highlighted = 0
            operators.focus()
        elif step == "vb-values":
            assert self._prop is not None
            values = self.query_one("#vb-value-list", SelectionList)
            text = self.query_one("#vb-value-input", Input)
            values.clear_options()
            text.value = ""
            choices = [(inert(v), v) for v in self._prop.values]
            if self._prop.kind == "agent":
                choices = [(inert(name), value) for value, name in self.agent_names.items()]
            if choices:
                values.add_options(choices)
                values.display = True
                text.display = False
                values.highlighted = 0
                values.focus()
            else:
                title, placeholder = VALUE_WORDS.get(self._prop.kind, TYPED_VALUES)
                self.query_one("#vb-step", Static).update(Text(title))
                text.placeholder = placeholder
                values.display = False
                text.display = True
                text.focus()

    def _show_filters(self) -> None:
        self.query_one("#vb-filters", Static).update(
            describe(self.filters, self.properties, self.agent_names)
        )

    def _error(self, message: str) -> None:
        self.query_one("#vb-error", Static).update(Text(message))

    @on(Input.Submitted, "#vb-name")
    def _name_done(self, event: Input.Submitted) -> None:
        if not event.value.strip():
            self._error("A view needs a name.")
            return
        self.name_value = event.value.strip()
        self._go("vb-sharing")

    @on(OptionList.OptionSelected, "#vb-sharing")
    def _sharing_done(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.sharing = ViewSharing(event.option.id)
        self._go("vb-property")

    def _filter_properties(self, query: str) -> None:
        options = self.query_one("#vb-prop-list", OptionList)
        options.clear_options()
        props = list(self.properties.values())
        if query.strip():
            matcher = Matcher(query.strip())
            scored = [(matcher.match(f"{p.label} {p.name}"), p) for p in props]
            props = [p for s, p in sorted(scored, key=lambda x: -x[0]) if s > 0]
        # "Save" comes last and is never highlighted by itself: enter in an untouched step
        # picks a property, it does not save a view by accident
        shown: list[FilterProperty | None] = [*props, None]
        self._prop_shown = shown
        for prop in props:
            options.add_option(
                Option(Text.assemble(one_line(prop.label), (f"  {prop.name}", "dim")))
            )
        count = len(self.filters)
        save = f"✔ Save view with {count} filter(s)" if count else "✔ Save view without filters"
        options.add_option(Option(Text(save, style="bold")))
        options.highlighted = 0 if props else None

    @on(Input.Changed, "#vb-prop-filter")
    def _prop_query(self, event: Input.Changed) -> None:
        self._filter_properties(event.value)

    @on(Input.Submitted, "#vb-prop-filter")
    def _prop_enter(self) -> None:
        options = self.query_one("#vb-prop-list", OptionList)
        self._pick_property(options.highlighted)

    @on(OptionList.OptionSelected, "#vb-prop-list")
    def _prop_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._pick_property(event.option_index)

    def _pick_property(self, index: int | None) -> None:
        if index is None or index >= len(self._prop_shown):
            return
        prop = self._prop_shown[index]
        if prop is None:
            self.action_create()
            return
        self._prop = prop
        if len(prop.operators) == 1:
            self._operator = prop.operators[0]
            self._after_operator()
        else:
            self._go("vb-operator")

    @on(OptionList.OptionSelected, "#vb-operator")
    def _operator_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._operator = FilterOperator(event.option.id)
        self._after_operator()

    def _after_operator(self) -> None:
        assert self._prop is not None and self._operator is not None
        if self._operator in NO_VALUES:
            self._add_filter([])
        else:
            self._go("vb-values")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "values_done":
            return self.query_one("#vb-value-list", SelectionList).has_focus
        return True

    def action_values_done(self) -> None:
        self._add_filter(list(self.query_one("#vb-value-list", SelectionList).selected))

    @on(Input.Submitted, "#vb-value-input")
    def _values_typed(self, event: Input.Submitted) -> None:
        values = [v.strip() for v in event.value.split(",") if v.strip()]
        self._add_filter(values)

    def _add_filter(self, values: list[str]) -> None:
        assert self._prop is not None and self._operator is not None
        if self._operator not in NO_VALUES and not values:
            self._error("Choose at least one value (space ticks one).")
            return
        self.filters.append(
            ViewFilter(property=self._prop.name, operator=self._operator, values=values)
        )
        self._prop = None
        self._operator = None
        self._show_filters()
        self._go("vb-property")

    def action_drop_last(self) -> None:
        if self.filters:
            self.filters.pop()
            self._show_filters()

    def action_create(self) -> None:
        name = self.query_one("#vb-name", Input).value.strip() or self.name_value
        if not name:
            self._go("vb-name")
            self._error("A view needs a name.")
            return
        self.dismiss(ViewCreate(name=name, sharing=self.sharing, filters=self.filters))

    def action_cancel(self) -> None:
        self.dismiss(None)

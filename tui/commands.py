"""The command palette (``ctrl+p``): the current screen's actions, views, agents, recent threads.

Every hit carries out its action on the screen it was opened from; names are namespaced
(``view: …``, ``agent: …``, ``thread: …``) so the kind of hit is clear.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from textual.command import DiscoveryHit, Hit, Hits, Provider

from tui.text import cut


class TtydeskCommands(Provider):
    def _commands(self) -> list[tuple[str, str, Callable[[], Any]]]:
        app: Any = self.app
        screen: Any = self.screen
        commands: list[tuple[str, str, Callable[[], Any]]] = []
        seen: set[str] = set()
        # the app's own commands (Inbox, WhatsApp month…) come once, from the app
        system = {command.title for command in app.get_system_commands(screen)}
        # the actions of the screen the palette was opened from (the footer's keys and
        # more): every one that applies here, also one whose key does something else here
        # (N is "previous hit" in a thread opened from a search, "New conv." elsewhere),
        # named with its key only where the key does it
        active = screen.active_bindings
        for node, bindings in screen._modal_binding_chain:
            for key, binding in bindings:
                if not binding.id or not binding.description or binding.action in seen:
                    continue  # no id: Textual's internal keys (focus next, copy…), not ours
                if binding.action in ("command_palette",) or binding.description in system:
                    continue
                if not app._check_action_state(binding.action, node):
                    continue
                seen.add(binding.action)
                name, help_text = binding.description, binding.tooltip or binding.description
                # what the key does now, as the footer names it ("By WhatsApp" once the
                # reply goes by e-mail): the tooltip describes the other way
                describe = getattr(node, "footer_description", None)
                now = describe(binding.action) if describe is not None else None
                if now:
                    name = help_text = now
                if key in active and active[key].binding is binding:
                    help_text += f" ({binding.key_display or app.get_key_display(binding)})"
                commands.append((name, help_text, partial(_run, node, binding.action)))
        views = getattr(app, "views", [])
        for number, view in enumerate(views, 1):
            key = f" ({number})" if number <= 9 else ""
            commands.append(
                (f"view: {view.name}", f"Show the view{key}", partial(_open_view, app, view))
            )
        for agent in getattr(app, "agents", {}).values():
            commands.append(
                (
                    f"agent: {agent.name}",
                    "Threads owned by this agent",
                    partial(_agent, app, agent.id),
                )
            )
        for thread in reversed(list(getattr(app, "recent", {}).values())):
            commands.append(
                (
                    f"thread: {thread.contact.name} — {cut(thread.ticket.subject, 40)}",
                    "Open a recent thread",
                    partial(app.open_thread_in_inbox, thread),
                )
            )
        return commands

    async def discover(self) -> Hits:
        for name, help_text, command in self._commands():
            yield DiscoveryHit(name, command, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, command in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), command, text=name, help=help_text)


def _run(node: Any, action: str) -> None:
    node.run_action(action)


def _open_view(app: Any, view: Any) -> None:
    async def go() -> None:
        await app.switch_mode("inbox")
        screen = app.screen
        if hasattr(screen, "select_view"):
            screen.select_view(view)

    app.run_worker(go(), exit_on_error=False)


def _agent(app: Any, agent_id: int) -> None:
    async def go() -> None:
        await app.switch_mode("inbox")
        screen = app.screen
        if hasattr(screen, "show_owner"):
            screen.show_owner(agent_id)

    app.run_worker(go(), exit_on_error=False)

"""What the agent has seen of the open thread, so a reply names the message it answers
(``expected_last_message_id``) and the server can refuse it when someone else wrote since.

Messages that count are the ones the server counts: not notes, not event lines. The
contact's messages and the agent's own are seen as they arrive (they appear in the open
thread while the agent writes); another agent's reply is not, until the agent has been
shown it by the "Send anyway?" question.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from backend.schemas import Direction, MessageKind

if TYPE_CHECKING:
    from backend.schemas import Message

NOT_COUNTED = frozenset({MessageKind.note, MessageKind.event})


def counts(message: Message) -> bool:
    return message.kind not in NOT_COUNTED


class SeenMessages:
    def __init__(self) -> None:
        self.thread_id: int | None = None
        self.last_seen: int | None = None  # expected_last_message_id of the next reply
        self.unseen = False  # another agent replied after ``last_seen``

    def expected(self, thread_id: int) -> int | None:
        """``expected_last_message_id`` for a reply in this thread (None: not loaded yet)."""
        return self.last_seen if thread_id == self.thread_id else None

    def loaded(self, thread_id: int, messages: Iterable[Message]) -> None:
        """The thread's messages as they were shown when it was opened."""
        self.thread_id = thread_id
        self.unseen = False
        ids = [m.id for m in messages if counts(m)]
        self.last_seen = max(ids, default=None)

    def reloaded(self, thread_id: int, messages: Iterable[Message], me: int | None) -> None:
        """The open thread fetched again (a resync, a reconnect): what is new since is taken
        as it would have arrived live, so another agent's reply is still asked about."""
        if thread_id != self.thread_id or self.last_seen is None:
            self.loaded(thread_id, messages)
            return
        for message in sorted(messages, key=lambda m: m.id):
            self.arrived(message, me)

    def arrived(self, message: Message, me: int | None) -> None:
        """A live message in the open thread."""
        if message.thread_id != self.thread_id or not counts(message) or self.unseen:
            return
        if self.last_seen is not None and message.id <= self.last_seen:
            return
        if message.direction == Direction.outbound and message.author_id != me:
            self.unseen = True
        else:
            self.last_seen = message.id

    def shown(self, messages: Iterable[Message]) -> None:
        """The agent was shown these (newer) messages: the next reply is written against them."""
        ids = [m.id for m in messages if counts(m)]
        if ids:
            self.last_seen = max([*ids, self.last_seen or 0])
        self.unseen = False

    def newer(self, messages: Iterable[Message], me: int | None) -> list[Message]:
        """Of ``messages``, the ones the agent has not seen, oldest first."""
        since = self.last_seen or 0
        return sorted(
            (
                m
                for m in messages
                if counts(m)
                and m.id > since
                and not (m.direction == Direction.outbound and m.author_id == me)
            ),
            key=lambda m: m.id,
        )

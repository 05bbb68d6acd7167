"""Saved views, and the translation of compiled view filters into SQL over the thread list.

``domain.views.compile_filters`` validates and normalises filters into ``Condition``s;
this module maps each property to a column of ``threads th`` / ``tickets t`` /
``contacts c`` and each operator to SQL. Nothing here trusts a value: every value is a
bound parameter.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from backend import schemas
from backend.domain import views as rules
from backend.domain.errors import Forbidden, InvalidField, NotFound
from backend.domain.numbers import fits_int64
from backend.store.base import StoreBase, loads
from backend.store.engine import Readers, Tx, dumps, iso

# events after which a view count may have moved: a view.counts push is due
COUNTS_TRIGGERS = frozenset(
    {
        schemas.EventType.thread_updated.value,
        schemas.EventType.ticket_updated.value,
        schemas.EventType.views_changed.value,
        schemas.EventType.contact_updated.value,  # contact_name filters
    }
)
# cached counts older than this are recomputed even without a commit of this process
# (another process, such as an admin command, may have written)
CACHE_MAX_AGE = 10.0
SOME_TIME = timedelta(seconds=1)

BUILTIN_PREFIX = "builtin:"
# the wire ids of the built-in views, by the domain's key
BUILTIN_IDS = {
    "all_open": "builtin:all_open",
    "assigned_to_me": "builtin:mine",
    "unassigned": "builtin:unassigned",
    "sent": "builtin:sent",
    "all_closed": "builtin:closed",
}
BUILTINS = {BUILTIN_IDS[view.key]: view for view in rules.BUILTIN_VIEWS}
MINE = BUILTIN_IDS["assigned_to_me"]

CONTACT_NAME = "TRIM(COALESCE(c.first_name, '') || ' ' || COALESCE(c.last_name, ''))"

# property → (SQL expression, the table aliases it needs besides th)
COLUMNS: dict[str, tuple[str, frozenset[str]]] = {
    "original_channel_type": ("t.original_channel_type", frozenset({"t"})),
    "channel_type": ("th.channel_type", frozenset()),
    "status": ("th.status", frozenset()),
    "priority": ("t.priority", frozenset({"t"})),
    "owner": ("th.owner_id", frozenset()),
    "business_number": ("th.business_number", frozenset()),
    "session_expires_at": ("th.session_expires_at", frozenset()),
    "last_message_at": ("th.last_message_at", frozenset()),
    "last_message_direction": ("th.last_message_direction", frozenset()),
    "subject": ("t.subject", frozenset({"t"})),
    "contact_name": (CONTACT_NAME, frozenset({"c"})),
    "first_response_seconds": ("t.first_response_seconds", frozenset({"t"})),
    "resolution_seconds": ("t.resolution_seconds", frozenset({"t"})),
    "inbound_count": ("th.inbound_count", frozenset()),
    "outbound_count": ("t.outbound_count", frozenset({"t"})),
    "billable_messages": ("t.billable_messages", frozenset({"t"})),
}
TEXT_PROPERTIES = frozenset({"business_number", "subject", "contact_name"})
# bool property → (SQL when true, SQL when false), over threads th
BOOL_PROPERTIES: dict[str, tuple[str, str]] = {
    "unread": ("th.unread_count > 0", "th.unread_count = 0"),
    "from_ad": ("th.from_ad = 1", "th.from_ad = 0"),
    "snoozed": ("th.snoozed_until IS NOT NULL", "th.snoozed_until IS NULL"),
}


@dataclass
class ThreadFilter:
    """A conjunction of SQL conditions over ``threads th`` (+ ``tickets t``, ``contacts c``)."""

    clauses: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)
    aliases: set[str] = field(default_factory=set)

    def add(self, clause: str, params: Iterable[Any] = (), aliases: Iterable[str] = ()) -> None:
        self.clauses.append(clause)
        self.params.extend(params)
        self.aliases.update(aliases)

    def extend(self, other: ThreadFilter) -> None:
        self.clauses.extend(other.clauses)
        self.params.extend(other.params)
        self.aliases.update(other.aliases)

    def where(self) -> str:
        return " AND ".join(f"({clause})" for clause in self.clauses) or "1 = 1"

    def joins(self) -> str:
        """The joins a COUNT needs: only the tables the conditions mention."""
        parts = []
        if "t" in self.aliases:
            parts.append("JOIN tickets t ON t.id = th.ticket_id")
        if "c" in self.aliases:
            parts.append("JOIN contacts c ON c.id = th.contact_id")
        return " ".join(parts)


@dataclass
class CountsCache:
    """The live view counts and what they were computed from (see ViewsStore counts)."""

    tracking: bool = False
    version: int = -1  # the writer's committed batches when the counts were computed
    counts: schemas.ViewCounts | None = None
    computed_at: float = 0.0  # time.monotonic()
    # the next moment (by the store's clock) a thread enters or leaves a view whose filters
    # depend on the time ("session expires within N hours"): the counts are stale after it
    stale_after: datetime | None = None
    flight: asyncio.Future[schemas.ViewCounts] | None = None
    flight_version: int = -1


def _retrieve(future: asyncio.Future[Any]) -> None:
    # a refresh nobody awaits any more (its callers were cancelled) must not log
    # "exception was never retrieved"; the next caller recomputes
    if not future.cancelled():
        future.exception()


def _same_for(row: sqlite3.Row | dict[str, Any], agent: schemas.Agent, now: datetime) -> bool:
    """Whether the live count of a custom view (me = its owner, counted a moment ago) is
    this agent's count now: its filters do not depend on who asks nor on the time."""
    try:
        filters = loads(row["filters"], [])
        mine = compile_view_filters(filters, me=agent.id, now=now)
        theirs = compile_view_filters(filters, me=row["owner_id"], now=now + SOME_TIME)
    except InvalidField:
        return True  # counts 0 either way
    return mine.clauses == theirs.clauses and mine.params == theirs.params


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _bound(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    return value


def condition_sql(condition: rules.Condition) -> tuple[str, list[Any], frozenset[str]]:
    """One compiled condition as (SQL, parameters, aliases used)."""
    name, operator, values = condition.property, condition.operator, condition.values
    if name in BOOL_PROPERTIES:
        wanted = set(values) if operator == rules.IS_ANY_OF else {True, False} - set(values)
        if wanted == {True, False}:
            return "1 = 1", [], frozenset()
        if wanted == {True}:
            return BOOL_PROPERTIES[name][0], [], frozenset()
        if wanted == {False}:
            return BOOL_PROPERTIES[name][1], [], frozenset()
        return "1 = 0", [], frozenset()
    column, aliases = COLUMNS[name]
    text = name in TEXT_PROPERTIES
    params = [_bound(value) for value in values]
    marks = ", ".join("?" for _ in params)
    collate = " COLLATE NOCASE" if text else ""
    if operator == rules.IS_ANY_OF:
        if not params:
            return "1 = 0", [], aliases
        return f"{column}{collate} IN ({marks})", params, aliases
    if operator == rules.IS_NONE_OF:
        if not params:
            return "1 = 1", [], aliases
        return f"{column} IS NULL OR {column}{collate} NOT IN ({marks})", params, aliases
    if operator == rules.IS_KNOWN:
        extra = f" AND {column} != ''" if text else ""
        return f"{column} IS NOT NULL{extra}", [], aliases
    if operator == rules.IS_UNKNOWN:
        extra = f" OR {column} = ''" if text else ""
        return f"{column} IS NULL{extra}", [], aliases
    if operator == rules.CONTAINS:
        return f"{column} LIKE ? ESCAPE '\\'", [_like_pattern(str(params[0]))], aliases
    if operator == rules.BEFORE:
        return f"{column} < ?", params, aliases
    if operator == rules.AFTER:
        return f"{column} > ?", params, aliases
    if operator == rules.AT_LEAST:
        return f"{column} >= ?", params, aliases
    if operator == rules.AT_MOST:
        return f"{column} <= ?", params, aliases
    if operator == rules.BEFORE_OR_UNKNOWN:
        return f"{column} IS NULL OR {column} <= ?", params, aliases
    raise ValueError(f"no SQL for operator {operator!r}")


def filter_from(conditions: Iterable[rules.Condition]) -> ThreadFilter:
    result = ThreadFilter()
    for condition in conditions:
        clause, params, aliases = condition_sql(condition)
        result.add(clause, params, aliases)
    return result


def compile_view_filters(
    filters: Iterable[Any], *, me: int, now: datetime, field_prefix: str = ""
) -> ThreadFilter:
    try:
        conditions = rules.compile_filters(list(filters), me=me, now=now)
    except InvalidField as exc:
        if field_prefix:
            exc.field = field_prefix
        raise
    return filter_from(conditions)


# ------------------------------------------------------------------ saved views


VIEW_COLUMNS = "v.id, v.name, v.sharing, v.owner_id, v.team, v.filters, v.position"


def view_from_row(row: sqlite3.Row | dict[str, Any]) -> schemas.View:
    return schemas.View(
        id=str(row["id"]),
        name=row["name"],
        builtin=False,
        sharing=row["sharing"],
        owner_id=row["owner_id"],
        filters=[schemas.ViewFilter.model_validate(f) for f in loads(row["filters"], [])],
        position=row["position"],
    )


def builtin_views() -> list[schemas.View]:
    return [
        schemas.View(
            id=view_id,
            name=view.name,
            builtin=True,
            sharing=schemas.ViewSharing.everyone,
            filters=[schemas.ViewFilter.model_validate(f) for f in view.filters],
            position=index,
        )
        for index, (view_id, view) in enumerate(BUILTINS.items())
    ]


def can_see(row: sqlite3.Row | dict[str, Any], agent: schemas.Agent) -> bool:
    if row["owner_id"] == agent.id or row["sharing"] == schemas.ViewSharing.everyone:
        return True
    if row["sharing"] == schemas.ViewSharing.team:
        return row["team"] is not None and row["team"] == agent.team
    return False


def can_edit(row: sqlite3.Row | dict[str, Any], agent: schemas.Agent) -> bool:
    return row["owner_id"] == agent.id or (
        agent.role == schemas.Role.admin and row["sharing"] != schemas.ViewSharing.private
    )


def custom_view_id(view_id: str) -> int:
    if view_id.startswith(BUILTIN_PREFIX):
        raise Forbidden("Built-in views cannot be changed.", code="builtin_view")
    return view_number(view_id)


def view_number(view_id: str) -> int:
    """A custom view's id from its text; ``NotFound`` for text no view could have."""
    try:
        number = int(view_id)
    except ValueError:
        raise NotFound("There is no such view.", code="view_not_found") from None
    if not fits_int64(number):
        raise NotFound("There is no such view.", code="view_not_found")
    return number


def _view_event(tx: Tx, row: dict[str, Any], *, deleted: bool = False) -> None:
    # only who may see it: private view names and filters stay private
    tx.emit(
        schemas.EventType.views_changed,
        {
            "id": str(row["id"]),
            "owner_id": row["owner_id"],
            "sharing": row["sharing"],
            "deleted": deleted,
        },
    )


class ViewsStore(StoreBase):
    async def _visible_view_rows(self, agent: schemas.Agent) -> list[sqlite3.Row]:
        rows = await self.readers.all(
            f"SELECT {VIEW_COLUMNS} FROM views v ORDER BY v.position, v.id"
        )
        return [row for row in rows if can_see(row, agent)]

    async def list_views(self, agent: schemas.Agent, *, counts: bool = True) -> list[schemas.View]:
        rows = await self._visible_view_rows(agent)
        views = builtin_views() + [view_from_row(row) for row in rows]
        if counts:
            found = await self._view_counts(agent, rows)
            for view in views:
                view.count = found.counts.get(view.id)
        return views

    async def get_view(self, view_id: str, agent: schemas.Agent) -> schemas.View:
        if view_id in BUILTINS:
            return next(v for v in builtin_views() if v.id == view_id)
        row = await self._visible_view_row(view_id, agent)
        return view_from_row(row)

    async def _visible_view_row(self, view_id: str, agent: schemas.Agent) -> sqlite3.Row:
        row = await self.readers.one(
            f"SELECT {VIEW_COLUMNS} FROM views v WHERE v.id = ?", (view_number(view_id),)
        )
        if row is None or not can_see(row, agent):
            raise NotFound("There is no such view.", code="view_not_found")
        return row

    async def view_filter(self, view_id: str, agent: schemas.Agent) -> ThreadFilter:
        """The thread filter of a built-in or visible custom view, for this agent."""
        if view_id in BUILTINS:
            return compile_view_filters(BUILTINS[view_id].filters, me=agent.id, now=self.now())
        row = await self._visible_view_row(view_id, agent)
        return compile_view_filters(loads(row["filters"], []), me=agent.id, now=self.now())

    async def create_view(self, spec: schemas.ViewCreate, agent: schemas.Agent) -> schemas.View:
        filters = [f.model_dump(mode="json") for f in spec.filters]
        compile_view_filters(filters, me=agent.id, now=self.now())

        def create(tx: Tx) -> schemas.View:
            position = tx.one("SELECT COALESCE(MAX(position), 0) + 1 FROM views")[0]
            view_id = tx.insert(
                "views",
                {
                    "name": spec.name,
                    "sharing": spec.sharing.value,
                    "owner_id": agent.id,
                    "team": agent.team,
                    "filters": dumps(filters),
                    "position": position,
                    "created_at": tx.now_iso,
                    "updated_at": tx.now_iso,
                },
            )
            row = dict(tx.one(f"SELECT {VIEW_COLUMNS} FROM views v WHERE v.id = ?", (view_id,)))
            _view_event(tx, row)
            return view_from_row(row)

        return await self.write(create)

    async def update_view(
        self, view_id: str, change: schemas.ViewUpdate, agent: schemas.Agent
    ) -> schemas.View:
        number = custom_view_id(view_id)
        values: dict[str, Any] = {}
        if change.name is not None:
            values["name"] = change.name
        if change.sharing is not None:
            values["sharing"] = change.sharing.value
        if change.filters is not None:
            filters = [f.model_dump(mode="json") for f in change.filters]
            compile_view_filters(filters, me=agent.id, now=self.now())
            values["filters"] = dumps(filters)

        def update(tx: Tx) -> schemas.View:
            row = self._editable(tx, number, agent)
            if values:
                tx.update("views", number, {**values, "updated_at": tx.now_iso})
            row = dict(tx.one(f"SELECT {VIEW_COLUMNS} FROM views v WHERE v.id = ?", (number,)))
            _view_event(tx, row)
            return view_from_row(row)

        return await self.write(update)

    async def delete_view(self, view_id: str, agent: schemas.Agent) -> None:
        number = custom_view_id(view_id)

        def delete(tx: Tx) -> None:
            row = self._editable(tx, number, agent)
            tx.execute("DELETE FROM views WHERE id = ?", (number,))
            _view_event(tx, row, deleted=True)

        await self.write(delete)

    @staticmethod
    def _editable(tx: Tx, number: int, agent: schemas.Agent) -> dict[str, Any]:
        row = tx.one(f"SELECT {VIEW_COLUMNS} FROM views v WHERE v.id = ?", (number,))
        if row is None or not can_see(row, agent):
            raise NotFound("There is no such view.", code="view_not_found")
        if not can_edit(row, agent):
            raise Forbidden(
                "Only the view's owner or an admin can change it.", code="not_view_owner"
            )
        return dict(row)

    # -------------------------------------------------------------- counts
    #
    # Counting every view is a dozen COUNT queries over the thread table. The live
    # counts (every view, "me" read as the view's owner) are cached once the app asks
    # for it (``track_view_counts``), tagged with the writer's commit number: any commit
    # since makes them stale (an event-less write included), and so does age. A stale
    # or cold cache is recomputed once, on the background reader, for everyone waiting
    # (GET /views, GET /views/counts, the thread list's total and the ``view.counts``
    # push share it), so an answer always reflects every change committed before the
    # request. An agent's answer takes from the cache every count that does not depend
    # on who asks or on the time; a shared view filtering on "me" (asked by someone
    # other than its owner) or on the session state is counted on demand.

    @property
    def _counts_cache(self) -> CountsCache:
        cache = self.__dict__.get("_view_counts_cache")
        if cache is None:
            cache = self.__dict__["_view_counts_cache"] = CountsCache()
        return cache

    def track_view_counts(self) -> None:
        """Keep the live counts cached (the app does; a bare store always counts)."""
        self._counts_cache.tracking = True

    async def count_threads(self, where: ThreadFilter, *, readers: Readers | None = None) -> int:
        return await (readers or self.readers).value(
            f"SELECT COUNT(*) FROM threads th {where.joins()} WHERE {where.where()}",
            where.params,
        )

    async def view_counts(self, agent: schemas.Agent) -> schemas.ViewCounts:
        """Counts of every view this agent sees; ``builtin:mine`` is the agent's own."""
        return await self._view_counts(agent, await self._visible_view_rows(agent))

    async def _view_counts(
        self, agent: schemas.Agent, rows: list[sqlite3.Row]
    ) -> schemas.ViewCounts:
        live = await self.cached_live_view_counts()
        if live is None:
            return await self._count_views(agent, rows)
        now = self.now()
        counts: dict[str, int] = {}
        for view_id in BUILTINS:
            counts[view_id] = (
                live.mine.get(str(agent.id), 0) if view_id == MINE else live.counts[view_id]
            )
        for row in rows:
            key = str(row["id"])
            cached = live.counts.get(key)
            if cached is not None and _same_for(row, agent, now):
                counts[key] = cached
            else:
                counts[key] = await self._custom_count(row, me=agent.id, now=now)
        return schemas.ViewCounts(counts=counts, mine=live.mine)

    async def _count_views(
        self, agent: schemas.Agent, rows: list[sqlite3.Row]
    ) -> schemas.ViewCounts:
        """Every count from the database (no cache)."""
        now = self.now()
        counts: dict[str, int] = {}
        for view_id, view in BUILTINS.items():
            counts[view_id] = await self.count_threads(
                compile_view_filters(view.filters, me=agent.id, now=now)
            )
        for row in rows:
            counts[str(row["id"])] = await self._custom_count(row, me=agent.id, now=now)
        return schemas.ViewCounts(counts=counts, mine=await self.mine_counts())

    async def cached_view_count(self, view_id: str, agent: schemas.Agent) -> int | None:
        """The count of one view for this agent from the live cache; None: count it."""
        live = await self.cached_live_view_counts()
        if live is None:
            return None
        if view_id == MINE:
            return live.mine.get(str(agent.id), 0)
        if view_id in BUILTINS:
            return live.counts.get(view_id)
        cached = live.counts.get(view_id)
        if cached is None:
            return None
        row = await self._visible_view_row(view_id, agent)
        return cached if _same_for(row, agent, self.now()) else None

    async def cached_live_view_counts(self) -> schemas.ViewCounts | None:
        """The live counts, recomputed first if a change may have moved them.

        None when the store does not track changes (``track_view_counts``).
        """
        cache = self._counts_cache
        if not cache.tracking:
            return None
        version = self.writer.changed_batches
        if (
            cache.counts is not None
            and cache.version == version
            and time.monotonic() - cache.computed_at < CACHE_MAX_AGE
            and not self.view_counts_outdated()
        ):
            return cache.counts
        flight = cache.flight
        if flight is None or flight.done() or cache.flight_version != version:
            flight = asyncio.ensure_future(self._refresh_live_counts(cache, version))
            flight.add_done_callback(_retrieve)
            cache.flight, cache.flight_version = flight, version
        return await asyncio.shield(flight)

    def view_counts_outdated(self) -> bool:
        """Whether time alone has moved a cached count (a thread entered or left a view
        whose filters depend on the time) since the counts were computed."""
        stale_after = self._counts_cache.stale_after
        return stale_after is not None and self.now() > stale_after

    async def _refresh_live_counts(self, cache: CountsCache, version: int) -> schemas.ViewCounts:
        started = time.monotonic()
        now = self.now()
        counts = await self.live_view_counts(now=now)
        stale_after = await self.next_count_change(now=now, readers=self.readers.background)
        if version >= cache.version:
            cache.counts, cache.version, cache.computed_at = counts, version, started
            cache.stale_after = stale_after
        return counts

    async def next_count_change(
        self, *, now: datetime | None = None, readers: Readers | None = None
    ) -> datetime | None:
        """When the next thread enters or leaves a view because time passes; None: never
        without a write. Only the session filters depend on the time: each compares the
        session's end with now + some hours, so a thread crosses one at its session's end
        less those hours."""
        now = self.now() if now is None else now
        readers = readers or self.readers
        filter_sets = [view.filters for view in BUILTINS.values()]
        filter_sets += [
            loads(row["filters"], []) for row in await readers.all("SELECT filters FROM views")
        ]
        offsets: set[timedelta] = set()
        for filters in filter_sets:
            try:
                conditions = rules.compile_filters(list(filters), me=0, now=now)
            except InvalidField:
                continue
            offsets.update(
                value - now
                for condition in conditions
                if condition.property == "session_expires_at"
                for value in condition.values
                if isinstance(value, datetime)
            )
        soonest: datetime | None = None
        for offset in offsets:
            edge = await readers.value(
                "SELECT MIN(session_expires_at) FROM threads WHERE session_expires_at >= ?",
                [iso(now + offset)],
            )
            if edge is not None:
                crossing = datetime.fromisoformat(edge) - offset
                soonest = crossing if soonest is None else min(soonest, crossing)
        return soonest

    async def live_view_counts(self, *, now: datetime | None = None) -> schemas.ViewCounts:
        """Counts for the pushed ``view.counts`` event: every view, "me" read as its owner.

        ``builtin:mine`` differs per agent, so it travels in ``mine`` (agent id → count).
        Counted on the background reader, so interactive reads do not wait behind it.
        """
        readers = self.readers.background
        now = self.now() if now is None else now
        counts: dict[str, int] = {}
        for view_id, view in BUILTINS.items():
            if view_id != MINE:
                counts[view_id] = await self.count_threads(
                    compile_view_filters(view.filters, me=0, now=now), readers=readers
                )
        rows = await readers.all(f"SELECT {VIEW_COLUMNS} FROM views v ORDER BY v.id")
        for row in rows:
            counts[str(row["id"])] = await self._custom_count(
                row, me=row["owner_id"], now=now, readers=readers
            )
        return schemas.ViewCounts(counts=counts, mine=await self.mine_counts(readers=readers))

    async def mine_counts(self, *, readers: Readers | None = None) -> dict[str, int]:
        rows = await (readers or self.readers).all(
            "SELECT owner_id, COUNT(*) FROM threads WHERE owner_id IS NOT NULL "
            "AND status != 'closed' GROUP BY owner_id"
        )
        return {str(row[0]): row[1] for row in rows}

    async def _custom_count(
        self,
        row: sqlite3.Row,
        *,
        me: int,
        now: datetime,
        readers: Readers | None = None,
    ) -> int:
        try:
            where = compile_view_filters(loads(row["filters"], []), me=me, now=now)
        except InvalidField:
            return 0  # saved under older rules; the owner sees the error when opening it
        return await self.count_threads(where, readers=readers)

    async def emit_view_counts(
        self, counts: schemas.ViewCounts, *, unless_logged_after: int | None = None
    ) -> bool:
        """Log a ``view.counts`` event (so reconnecting clients replay it too).

        With ``unless_logged_after`` (the newest seq when the counts were computed), the
        event is skipped if anything was logged since: counts computed before a change must
        not be logged after it, or a client would apply stale counts last.
        """

        def emit(tx: Tx) -> bool:
            if unless_logged_after is not None and tx.next_seq - 1 > unless_logged_after:
                return False
            tx.emit(schemas.EventType.view_counts, counts)
            return True

        return await self.write(emit)

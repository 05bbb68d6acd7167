"""The Store interface. ``SqliteStore`` is the embedded default; see ARCHITECTURE.md."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    from backend.store.sqlite import SqliteStore

# The methods of SqliteStore's area mixins are the interface: a PostgreSQL store
# implements the same ones. Callers type against ``Store``.
Store: TypeAlias = "SqliteStore"

"""The store's SQLite dialect as PostgreSQL runs it, translated once per SQL string.

The store's areas write their SQL for SQLite. Most of it is standard; what is not, and
can be rewritten mechanically, is rewritten here (``translate``), so the PostgreSQL store
runs the same transaction functions as the SQLite one:

- ``?`` and ``:name`` placeholders become ``%s`` and ``%(name)s`` (a ``%`` is doubled);
- ``INSERT OR IGNORE`` becomes ``INSERT … ON CONFLICT DO NOTHING``; an ``INSERT`` into a
  table with an identity ``id`` gets ``RETURNING id`` (SQLite's ``lastrowid``);
- ``ON CONFLICT … DO UPDATE SET n = n + excluded.n``: the bare column is qualified;
- scalar ``MAX(a, b)``/``MIN(a, b)`` become ``GREATEST``/``LEAST``; ``IFNULL`` is
  ``COALESCE``; ``LIKE`` (ASCII case-insensitive in SQLite) is ``ILIKE``; ``WHERE 1`` is
  ``WHERE TRUE``; ``a IS b`` is ``a IS NOT DISTINCT FROM b`` (``COLLATE NOCASE`` is a collation of that name, migration 0025); ``CAST(… AS REAL|INTEGER)`` is a double or a bigint;
  ``julianday(x)`` is days since the epoch;
- full-text search: ``t_fts MATCH ?`` is ``t_fts.document @@ ?::tsquery`` with the FTS5
  query turned into a ``tsquery`` (``pg_search.ts_query``), and the ``body`` a
  ``*_fts`` row is given is cut and folded (``pg_search.index_text``), as
  docs/POSTGRESQL.md describes; ``snippet()`` is the message's whole text, which
  ``PostgresStore`` cuts around the match as FTS5 does (``pg_search.snippet``).

String literals are left as they are (only their ``%`` doubled). What is not mechanical
(SQL-built event frames) the PostgreSQL store does in Python (``postgres.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import psycopg
from psycopg.adapt import Dumper

from backend.store import pg_search

_LITERAL = re.compile(r"'(?:[^']|'')*'")
_PLACEHOLDER = re.compile(r"(?<![:\w])(\?|:[A-Za-z_]\w*)|(\x01)")
_MATCH = re.compile(r"\b(\w+_fts) MATCH (\?|:[A-Za-z_]\w*|\x00\d+\x00)")
_SNIPPET = re.compile(r"snippet\(messages_fts,[^)]*\)")
_FTS_INSERT = re.compile(r"^\s*INSERT INTO \w+_fts \(rowid, body\) VALUES \(\?, \?\)\s*$")
_INSERT = re.compile(r"^\s*INSERT(?: OR (IGNORE|REPLACE))? INTO (\w+)", re.IGNORECASE)
_CAST = re.compile(r"\bAS (REAL|INTEGER)\)")
_JULIANDAY = re.compile(r"\bjulianday\(")
_CONSTANT_CONDITION = re.compile(r"\b(WHERE|AND|OR) ([01])\b(?!\s*[=<>!.\d])")
_LIKE = re.compile(r"\bLIKE\b")
# SQLite's ``a IS b`` between any two values (not ``IS NULL``)
_IS_VALUE = re.compile(r"\bIS (NOT )?(?!NULL\b|NOT\b|TRUE\b|FALSE\b|DISTINCT\b)(?=[\w:?(])")
_DO_UPDATE = re.compile(r"\bDO UPDATE SET\b")
_BARE_COLUMN = re.compile(r"(?<![.\w'])([a-z_][a-z0-9_]*)\b(?!\s*\(|\.)")
_SQL_WORDS = frozenset({"excluded", "null", "and", "or", "not", "is", "case", "when"})
# the statement holds an FTS5 query or a full-text row's body at this placeholder
TSQUERY = "tsquery"
INDEX = "index"


def _identity_tables() -> frozenset[str]:
    """Tables whose ``id`` PostgreSQL makes (``GENERATED … AS IDENTITY``)."""
    folder = resources.files("backend.store") / "migrations_pg"
    tables: set[str] = set()
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            text = entry.read_text("utf-8")
            for match in re.finditer(r"CREATE TABLE (\w+) \(\s*id\s+BIGINT GENERATED", text):
                tables.add(match.group(1))
    return frozenset(tables)


IDENTITY_TABLES = _identity_tables()


@dataclass(frozen=True, slots=True)
class Statement:
    sql: str
    # placeholders (position, or name) whose value is converted first: TSQUERY or INDEX
    convert: tuple[tuple[int | str, str], ...] = ()
    returns_id: bool = False
    inserts_into: str = ""  # the table, for an INSERT


def _closing(text: str, start: int) -> int:
    """The index of the parenthesis closing the one opened just before ``start``."""
    depth = 1
    for index in range(start, len(text)):
        if text[index] == "(":
            depth += 1
        elif text[index] == ")":
            depth -= 1
            if depth == 0:
                return index
    return -1


def _has_top_level_comma(text: str) -> bool:
    depth = 0
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            return True
    return False


def _scalar_min_max(code: str) -> str:
    for name, pg_name in (("MAX(", "GREATEST("), ("MIN(", "LEAST(")):
        start = 0
        while (found := code.find(name, start)) >= 0:
            start = found + len(name)
            if found and (code[found - 1].isalnum() or code[found - 1] == "_"):
                continue
            end = _closing(code, start)
            if end > 0 and _has_top_level_comma(code[start:end]):
                code = code[:found] + pg_name + code[start:]
    return code


_ORDER_BY = re.compile(r"\bORDER BY ")
_NOT_NULL_KEY = re.compile(r"^(?:\w+\.)?(?:id|seq|rowid)$")


def _split_top_level(text: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for index, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:index])
            start = index + 1
    parts.append(text[start:])
    return parts


def _null_order(item: str) -> str:
    """SQLite sorts NULL below every value, PostgreSQL above: say SQLite's order."""
    stripped = item.strip()
    if not stripped or "NULLS" in stripped.upper():
        return item
    words = stripped.rsplit(None, 1)
    direction = words[-1].upper() if len(words) > 1 else ""
    key = words[0] if direction in ("ASC", "DESC") else stripped
    if _NOT_NULL_KEY.match(key):
        return item
    nulls = " NULLS LAST" if direction == "DESC" else " NULLS FIRST"
    return item.rstrip() + nulls + item[len(item.rstrip()) :]


def _nulls_as_sqlite(code: str) -> str:
    start = 0
    while (found := _ORDER_BY.search(code, start)) is not None:
        begin = found.end()
        depth, end = 0, len(code)
        for index in range(begin, len(code)):
            char = code[index]
            if char == "(":
                depth += 1
            elif char == ")":
                if depth == 0:
                    end = index
                    break
                depth -= 1
            elif (
                depth == 0
                and re.match(r"\b(?:LIMIT|OFFSET|FOR)\b", code[index:])
                and (index == 0 or not (code[index - 1].isalnum() or code[index - 1] == "_"))
            ):
                end = index
                break
        clause = ",".join(_null_order(item) for item in _split_top_level(code[begin:end]))
        code = code[:begin] + clause + code[end:]
        start = begin + len(clause)
    return code


def _julianday(code: str) -> str:
    while (found := _JULIANDAY.search(code)) is not None:
        start = found.end()
        end = _closing(code, start)
        inner = code[start:end]
        code = (
            code[: found.start()]
            + f"(EXTRACT(EPOCH FROM CAST({inner} AS timestamptz)) / 86400.0)"
            + code[end + 1 :]
        )
    return code


def _qualify_update(code: str, table: str) -> str:
    """``DO UPDATE SET n = n + excluded.n``: PostgreSQL needs ``table.n`` on the right."""
    found = _DO_UPDATE.search(code)
    if found is None:
        return code
    head, tail = code[: found.end()], code[found.end() :]
    assignments = []
    for part in re.split(r",(?![^(]*\))", tail):
        column, equals, value = part.partition("=")
        if not equals:
            assignments.append(part)
            continue
        value = _BARE_COLUMN.sub(
            lambda m: m.group(1) if m.group(1) in _SQL_WORDS else f"{table}.{m.group(1)}",
            value,
        )
        assignments.append(f"{column}={value}")
    return head + ",".join(assignments)


@lru_cache(maxsize=4096)
def translate(sql: str) -> Statement:
    literals: list[str] = []

    def hide(match: re.Match[str]) -> str:
        literals.append(match.group(0))
        return f"\x00{len(literals) - 1}\x00"

    code = _LITERAL.sub(hide, sql)
    inserted = _INSERT.match(code)
    table = inserted.group(2) if inserted else ""
    ignore = bool(inserted and inserted.group(1) and inserted.group(1).upper() == "IGNORE")
    if inserted and inserted.group(1):
        code = code[: inserted.start()] + f"INSERT INTO {table}" + code[inserted.end() :]
    index_body = bool(_FTS_INSERT.match(sql))
    code = _SNIPPET.sub("COALESCE(m.text, m.caption, '')", code)
    match_marks: list[str] = []

    def match_fts(match: re.Match[str]) -> str:
        if match.group(2).startswith("\x00"):  # a literal FTS5 query
            typed = literals[int(match.group(2).strip("\x00"))][1:-1].replace("''", "'")
            query = (fts5_to_tsquery(typed) or "").replace("'", "''")
            return f"{match.group(1)}.document @@ '{query}'::tsquery"
        match_marks.append(match.group(2))
        return f"{match.group(1)}.document @@ \x01"

    code = _MATCH.sub(match_fts, code)
    code = code.replace("%", "%%")
    code = code.replace("IFNULL(", "COALESCE(")
    code = _CAST.sub(
        lambda m: "AS DOUBLE PRECISION)" if m.group(1) == "REAL" else "AS BIGINT)", code
    )
    code = _CONSTANT_CONDITION.sub(
        lambda m: f"{m.group(1)} {'TRUE' if m.group(2) == '1' else 'FALSE'}", code
    )
    code = _LIKE.sub("ILIKE", code)
    code = _IS_VALUE.sub(
        lambda m: "IS DISTINCT FROM " if m.group(1) else "IS NOT DISTINCT FROM ", code
    )
    code = _scalar_min_max(code)
    code = _julianday(code)
    code = _nulls_as_sqlite(code)
    if table:
        code = _qualify_update(code, table)
    convert: list[tuple[int | str, str]] = []
    position = 0
    marks = iter(match_marks)

    def placeholder(match: re.Match[str]) -> str:
        nonlocal position
        mark = match.group(1) or next(marks)
        if mark == "?":
            key: int | str = position
            position += 1
            text = "%s"
        else:
            key = mark[1:]
            text = f"%({key})s"
        if match.group(2):
            convert.append((key, TSQUERY))
            return f"{text}::tsquery"
        return text

    code = _PLACEHOLDER.sub(placeholder, code)
    if index_body:
        convert.append((1, INDEX))
    code = code.rstrip().rstrip(";")
    if ignore:
        code += " ON CONFLICT DO NOTHING"
    returns_id = (
        table in IDENTITY_TABLES
        and "RETURNING" not in code.upper()
        and not code.lstrip().upper().startswith("INSERT INTO " + table.upper() + " SELECT")
    )
    if returns_id:
        code += " RETURNING id"
    code = re.sub("\x00(\\d+)\x00", lambda m: literals[int(m.group(1))].replace("%", "%%"), code)
    return Statement(code, tuple(convert), returns_id, table)


NUL = "\x00"
NUL_STANDS_IN = "\N{REPLACEMENT CHARACTER}"


def fts5_words(query: str) -> str:
    """The words of ``search.fts_query``'s FTS5 query (``"word" "word"*``), as typed."""
    quoted = re.findall(r'"((?:[^"]|"")*)"', query)
    return " ".join(quoted) if quoted else query


def fts5_to_tsquery(query: Any) -> str | None:
    """``search.fts_query``'s FTS5 query (``"word" "word"*``) as a ``tsquery``."""
    if not isinstance(query, str):
        return query
    return pg_search.ts_query(fts5_words(query)) or "''"


class FlagDumper(Dumper):
    """A Python bool as ``'1'``/``'0'`` of no declared type: PostgreSQL reads it as the
    place needs, a 0/1 flag in a BIGINT column (as SQLite stores it) or a boolean in a
    condition (``CASE WHEN ? THEN``)."""

    oid = 0

    def dump(self, obj: Any) -> bytes:
        return b"1" if obj else b"0"


def configure(conn: psycopg.Connection[Any]) -> None:
    """For each of the store's connections. No parallel workers: the store's queries read
    a page of rows, and starting workers cost more than they gave on a busy machine (a
    message search's window, 19 ms alone, took 96–197 ms with two workers). No JIT: a
    statement whose estimated cost passes ``jit_above_cost`` is compiled first, which
    took 98 ms for a message search that then ran in 15."""
    conn.adapters.register_dumper(bool, FlagDumper)
    conn.execute("SET max_parallel_workers_per_gather = 0")
    conn.execute("SET jit = off")
    conn.commit()


def value(param: Any) -> Any:
    """A parameter as PostgreSQL takes it: TEXT cannot hold NUL, so a NUL becomes U+FFFD
    (the rest of the text is kept)."""
    if isinstance(param, str) and NUL in param:
        return param.replace(NUL, NUL_STANDS_IN)
    return param


def parameters(statement: Statement, params: Any) -> Any:
    if isinstance(params, dict):
        converted: Any = {name: value(item) for name, item in params.items()}
    else:
        converted = [value(item) for item in params]
    for key, kind in statement.convert:
        if kind == TSQUERY:
            converted[key] = fts5_to_tsquery(converted[key])
        elif kind == INDEX:
            converted[key] = pg_search.index_text(converted[key] or "")
    return converted

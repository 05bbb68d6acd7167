"""Contacts, companies and deals, their associations, and the contacts CSV import.

Phones are stored in E.164 (``domain.phones``), so auto-association by phone or mobile
phone (SPEC §3) is an equality on an indexed column.
"""

from __future__ import annotations

import csv
import io
import re
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from backend import schemas
from backend.domain.errors import InvalidField, NotFound
from backend.domain.languages import contact_languages
from backend.domain.phones import normalize_phone, possible_phone
from backend.store.base import StoreBase, loads
from backend.store.conversations import (
    cached_normalize_phone,
    contact_display_name,
    contact_summary_from_row,
    emit_thread_snapshot,
    index_contact,
)
from backend.store.cursors import decode_cursor, encode_cursor
from backend.store.engine import Tx, dumps, parse_dt
from backend.store.search import fts_query

EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
COUNTRY = re.compile(r"[A-Za-z]{2}")
OBJECT_TYPES = ("company", "deal", "ticket")
IMPORT_BATCH = 500
THREADS_REFRESHED = 50  # threads whose contact summary is pushed again after an edit
ASSOCIATED_PER_RECORD = 50
CSV_FIELDS = ("first_name", "last_name", "email", "phone", "mobile_phone", "country")
SUMMARY_COLUMNS = (
    "c.id AS c_id, c.first_name AS c_first_name, c.last_name AS c_last_name, "
    "c.phone AS c_phone, c.mobile_phone AS c_mobile_phone, c.wa_id AS c_wa_id, "
    "c.wa_user_id AS c_wa_user_id, c.wa_username AS c_wa_username"
)


# ------------------------------------------------------------------ validation


def clean_contact_fields(values: Mapping[str, Any]) -> dict[str, Any]:
    """Validated, normalised contact columns; a bad value raises InvalidField naming it.

    An empty string clears a field. Phones become E.164, read in the contact's country
    when written without a country code; one the phone library does not know (a range
    newer than its metadata) is kept when it can be a number, written with its country
    code (``Contact.unchecked_phones`` then names it).
    """
    cleaned: dict[str, Any] = {}
    country = values.get("country")
    if country is not None and str(country).strip():
        if not COUNTRY.fullmatch(str(country).strip()):
            raise InvalidField("country must be a two-letter ISO code such as ES.", field="country")
        country = str(country).strip().upper()
        cleaned["country"] = country
    elif "country" in values:
        cleaned["country"] = None
        country = None
    for name in ("first_name", "last_name"):
        if name in values:
            text = (values[name] or "").strip()
            cleaned[name] = text or None
    if "email" in values:
        email = (values["email"] or "").strip()
        if email and not EMAIL.fullmatch(email):
            raise InvalidField(f"{email[:60]!r} is not an e-mail address.", field="email")
        cleaned["email"] = email or None
        cleaned["email_key"] = email.lower() or None  # what mail from it is matched by
    for name in ("phone", "mobile_phone"):
        if name in values:
            raw = (values[name] or "").strip()
            if not raw:
                cleaned[name] = None
                continue
            e164 = normalize_phone(raw, country) or possible_phone(raw)
            if e164 is None:
                raise InvalidField(
                    f"{raw[:40]!r} cannot be a phone number: write it with its country "
                    "code, e.g. +34 612 345 678.",
                    field=name,
                )
            cleaned[name] = e164
    if values.get("wa_id"):
        wa_id = str(values["wa_id"]).strip().lstrip("+")
        if not wa_id.isdigit():
            raise InvalidField("wa_id is the WhatsApp number in digits.", field="wa_id")
        cleaned["wa_id"] = wa_id
    if values.get("wa_user_id"):
        cleaned["wa_user_id"] = str(values["wa_user_id"]).strip()
    return cleaned


# ------------------------------------------------------------------ shapes


CONTACT_COLUMNS = (
    "id, first_name, last_name, email, phone, mobile_phone, country, wa_user_id, "
    "wa_parent_user_id, wa_id, wa_username, owner_id, properties, created_at, updated_at"
)


def contact_from_row(row: sqlite3.Row | Mapping[str, Any]) -> schemas.Contact:
    properties = loads(row["properties"], {})
    return schemas.Contact(
        id=row["id"],
        first_name=row["first_name"],
        last_name=row["last_name"],
        name=contact_display_name(
            row["first_name"],
            row["last_name"],
            row["phone"] or row["mobile_phone"] or row["wa_username"] or row["email"],
        ),
        email=row["email"],
        phone=row["phone"],
        mobile_phone=row["mobile_phone"],
        unchecked_phones=[
            name
            for name in ("phone", "mobile_phone")
            if row[name] and cached_normalize_phone(row[name]) is None
        ],
        country=row["country"],
        wa_user_id=row["wa_user_id"],
        wa_parent_user_id=row["wa_parent_user_id"],
        wa_id=row["wa_id"],
        wa_username=row["wa_username"],
        owner_id=row["owner_id"],
        properties=properties,
        languages=contact_languages(
            country=row["country"],
            phones=(row["phone"], row["mobile_phone"], row["wa_id"] and "+" + row["wa_id"]),
            properties=properties if isinstance(properties, dict) else {},
        ),
        created_at=parse_dt(row["created_at"]),
        updated_at=parse_dt(row["updated_at"]),
    )


def load_contact_detail(tx: Tx, contact_id: int) -> schemas.ContactDetail:
    """Within a transaction: the contact with its companies, deals and tickets."""
    row = tx.one(f"SELECT {CONTACT_COLUMNS} FROM contacts WHERE id = ?", (contact_id,))
    if row is None:
        raise NotFound("There is no such contact.", code="contact_not_found")
    return _detail(
        row,
        tx.all(_ASSOCIATED_COMPANIES, (contact_id,)),
        tx.all(_ASSOCIATED_DEALS, (contact_id,)),
        tx.all(_ASSOCIATED_TICKETS, (contact_id,)),
    )


# the contact a merged duplicate's id stands for (merges do not chain: 0008 merged each
# group into its oldest member at once)
_SURVIVOR = "SELECT merged_into FROM contacts WHERE id = ? AND merged_into IS NOT NULL"
_ASSOCIATED_COMPANIES = (
    "SELECT co.id, co.name, co.domain FROM associations a JOIN companies co ON co.id = a.object_id "
    "WHERE a.contact_id = ? AND a.object_type = 'company' ORDER BY co.name, co.id"
)
_ASSOCIATED_DEALS = (
    "SELECT d.id, d.name, d.stage, d.amount, d.currency FROM associations a "
    "JOIN deals d ON d.id = a.object_id WHERE a.contact_id = ? AND a.object_type = 'deal' "
    "ORDER BY d.id DESC"
)
_ASSOCIATED_TICKETS = (
    "SELECT t.id, t.subject, t.status, t.priority, t.owner_id, t.thread_id, t.created_at "
    "FROM associations a JOIN tickets t ON t.id = a.object_id "
    "WHERE a.contact_id = ? AND a.object_type = 'ticket' ORDER BY t.id DESC LIMIT 100"
)


def _detail(row: Any, companies: Iterable[Any], deals: Iterable[Any], tickets: Iterable[Any]):
    contact = contact_from_row(row)
    return schemas.ContactDetail(
        **contact.model_dump(),
        companies=[schemas.CompanySummary(**dict(r)) for r in companies],
        deals=[schemas.DealSummary(**dict(r)) for r in deals],
        tickets=[
            schemas.TicketSummary(**{**dict(r), "created_at": parse_dt(r["created_at"])})
            for r in tickets
        ],
    )


def associate(tx: Tx, contact_id: int, object_type: str, object_id: int) -> None:
    if object_type not in OBJECT_TYPES:
        raise ValueError(f"unknown object type {object_type!r}")
    tx.execute(
        "INSERT OR IGNORE INTO associations (contact_id, object_type, object_id) VALUES (?, ?, ?)",
        (contact_id, object_type, object_id),
    )


def company_named(tx: Tx, name: str) -> int:
    """The company of that name (case-insensitive), created if missing."""
    row = tx.one("SELECT id FROM companies WHERE name = ? COLLATE NOCASE", (name,))
    if row is not None:
        return row["id"]
    return tx.insert(
        "companies", {"name": name, "created_at": tx.now_iso, "updated_at": tx.now_iso}
    )


def emit_contact(tx: Tx, contact_id: int) -> schemas.ContactDetail:
    detail = load_contact_detail(tx, contact_id)
    contact = schemas.Contact.model_validate(
        detail.model_dump(exclude={"companies", "deals", "tickets"})
    )
    tx.emit(schemas.EventType.contact_updated, contact.model_dump(mode="json"))
    for row in tx.all(
        "SELECT id FROM threads WHERE contact_id = ? ORDER BY id DESC LIMIT ?",
        (contact_id, THREADS_REFRESHED),
    ):
        emit_thread_snapshot(tx, row["id"])
    return detail


def _check_refs(tx: Tx, owner_id: int | None, company_id: int | None) -> None:
    if owner_id is not None and tx.one("SELECT 1 FROM agents WHERE id = ?", (owner_id,)) is None:
        raise InvalidField("There is no agent with that id.", field="owner_id")
    if (
        company_id is not None
        and tx.one("SELECT 1 FROM companies WHERE id = ?", (company_id,)) is None
    ):
        raise InvalidField("There is no company with that id.", field="company_id")


# ------------------------------------------------------------------ CSV import


@dataclass
class ParsedImport:
    rows: list[tuple[int, dict[str, Any], str | None, dict[str, str]]] = field(default_factory=list)
    errors: list[schemas.ImportRowError] = field(default_factory=list)


def parse_contacts_csv(text: str) -> ParsedImport:
    """Validate every row; bad rows are reported by line number with the field and reason.

    Known columns: first_name, last_name, email, phone, mobile_phone, country, company;
    any other column becomes a free property.
    """
    parsed = ParsedImport()
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames:
        parsed.errors.append(schemas.ImportRowError(line=1, message="The file has no header row."))
        return parsed
    headers = [(name or "").strip().lower() for name in reader.fieldnames]
    reader.fieldnames = headers
    if not {"first_name", "last_name", "email", "phone", "mobile_phone"} & set(headers):
        parsed.errors.append(
            schemas.ImportRowError(
                line=1,
                message="The header needs at least one of first_name, last_name, email, "
                "phone, mobile_phone.",
            )
        )
        return parsed
    for record in reader:
        start = reader.line_num  # the record's (last) line in the file; the header is line 1
        if None in record:
            parsed.errors.append(
                schemas.ImportRowError(
                    line=start, message="The row has more cells than the header."
                )
            )
            continue
        values = {key: (value or "").strip() for key, value in record.items() if key}
        if not any(values.values()):
            continue
        if not any(
            values.get(name)
            for name in ("first_name", "last_name", "email", "phone", "mobile_phone")
        ):
            parsed.errors.append(
                schemas.ImportRowError(
                    line=start, message="The row has no name, e-mail or phone number."
                )
            )
            continue
        try:
            cleaned = clean_contact_fields({k: values.get(k, "") for k in CSV_FIELDS})
        except InvalidField as exc:
            parsed.errors.append(
                schemas.ImportRowError(line=start, field=exc.field, message=exc.message)
            )
            continue
        extra = {
            key: value
            for key, value in values.items()
            if key not in CSV_FIELDS and key != "company" and value
        }
        parsed.rows.append((start, cleaned, values.get("company") or None, extra))
    return parsed


def _import_row(
    tx: Tx, cleaned: dict[str, Any], company: str | None, extra: dict[str, str]
) -> bool:
    """Insert or update one contact; True when an existing contact was updated."""
    existing = None
    if cleaned.get("email"):
        existing = tx.one(
            "SELECT id, properties FROM contacts WHERE email = ? COLLATE NOCASE "
            "AND merged_into IS NULL ORDER BY updated_at DESC LIMIT 1",
            (cleaned["email"],),
        )
    for number in (cleaned.get("phone"), cleaned.get("mobile_phone")):
        if existing is None and number:
            existing = tx.one(
                "SELECT id, properties FROM contacts WHERE (phone = ? OR mobile_phone = ?) "
                "AND merged_into IS NULL ORDER BY updated_at DESC LIMIT 1",
                (number, number),
            )
    values = {key: value for key, value in cleaned.items() if value is not None}
    if existing is not None:
        contact_id = existing["id"]
        properties = {**loads(existing["properties"], {}), **extra}
        tx.update(
            "contacts",
            contact_id,
            {**values, "properties": dumps(properties), "updated_at": tx.now_iso},
        )
    else:
        contact_id = tx.insert(
            "contacts",
            {
                **values,
                "properties": dumps(extra),
                "created_at": tx.now_iso,
                "updated_at": tx.now_iso,
            },
        )
    index_contact(tx, contact_id)
    if company:
        associate(tx, contact_id, "company", company_named(tx, company))
    return existing is not None


# ------------------------------------------------------------------ the store area


class RecordsStore(StoreBase):
    async def list_contacts(
        self, *, q: str | None = None, limit: int = 50, cursor: str | None = None
    ) -> schemas.Page[schemas.Contact]:
        """Contacts, most recently created first; ``q`` matches names, e-mails, numbers."""
        clauses, params = ["merged_into IS NULL"], []  # a merged duplicate is its survivor
        if q is not None and q.strip():
            match = fts_query(q)
            if match is None:
                return schemas.Page[schemas.Contact](items=[])
            clauses.append("id IN (SELECT rowid FROM contacts_fts WHERE contacts_fts MATCH ?)")
            params.append(match)
        key = decode_cursor(cursor, 1)
        if key is not None:
            clauses.append("id < ?")
            params.append(key[0])
        where = " AND ".join(clauses)
        rows = await self.readers.all(
            f"SELECT {CONTACT_COLUMNS} FROM contacts WHERE {where} ORDER BY id DESC LIMIT ?",
            [*params, limit + 1],
        )
        more = len(rows) > limit
        rows = rows[:limit]
        return schemas.Page[schemas.Contact](
            items=[contact_from_row(row) for row in rows],
            next_cursor=encode_cursor(rows[-1]["id"]) if more else None,
        )

    async def get_contact(self, contact_id: int) -> schemas.ContactDetail:
        """The contact, or for a duplicate merged into another, the one it was merged into."""
        row = await self.readers.one(
            f"SELECT {CONTACT_COLUMNS} FROM contacts WHERE id = COALESCE(({_SURVIVOR}), ?)",
            (contact_id, contact_id),
        )
        if row is None:
            raise NotFound("There is no such contact.", code="contact_not_found")
        contact_id = row["id"]
        return _detail(
            row,
            await self.readers.all(_ASSOCIATED_COMPANIES, (contact_id,)),
            await self.readers.all(_ASSOCIATED_DEALS, (contact_id,)),
            await self.readers.all(_ASSOCIATED_TICKETS, (contact_id,)),
        )

    async def create_contact(self, spec: schemas.ContactCreate) -> schemas.ContactDetail:
        cleaned = clean_contact_fields(
            spec.model_dump(exclude={"owner_id", "company_id", "properties"})
        )

        def create(tx: Tx) -> schemas.ContactDetail:
            _check_refs(tx, spec.owner_id, spec.company_id)
            contact_id = tx.insert(
                "contacts",
                {
                    **cleaned,
                    "owner_id": spec.owner_id,
                    "properties": dumps(spec.properties),
                    "created_at": tx.now_iso,
                    "updated_at": tx.now_iso,
                },
            )
            index_contact(tx, contact_id)
            if spec.company_id is not None:
                associate(tx, contact_id, "company", spec.company_id)
            return emit_contact(tx, contact_id)

        return await self.write(create)

    async def update_contact(
        self, contact_id: int, change: schemas.ContactUpdate
    ) -> schemas.ContactDetail:
        given = change.model_dump(include=change.model_fields_set)
        owner_given = "owner_id" in given
        properties = given.pop("properties", None)
        owner_id = given.pop("owner_id", None)

        def update(tx: Tx) -> schemas.ContactDetail:
            current = tx.one(
                "SELECT id, country, properties FROM contacts "
                f"WHERE id = COALESCE(({_SURVIVOR}), ?)",
                (contact_id, contact_id),
            )
            if current is None:
                raise NotFound("There is no such contact.", code="contact_not_found")
            target = current["id"]
            # phones without a country code are read in the contact's (new or stored) country
            values = dict(given)
            if "country" not in values and current["country"]:
                cleaned = clean_contact_fields({**values, "country": current["country"]})
                cleaned.pop("country", None)
            else:
                cleaned = clean_contact_fields(values)
            _check_refs(tx, owner_id, None)
            if owner_given:
                cleaned["owner_id"] = owner_id
            if properties is not None:
                cleaned["properties"] = dumps({**loads(current["properties"], {}), **properties})
            tx.update("contacts", target, {**cleaned, "updated_at": tx.now_iso})
            index_contact(tx, target)
            return emit_contact(tx, target)

        return await self.write(update)

    async def create_company(
        self, name: str, *, domain: str | None = None, properties: dict[str, Any] | None = None
    ) -> int:
        def create(tx: Tx) -> int:
            return tx.insert(
                "companies",
                {
                    "name": name,
                    "domain": domain,
                    "properties": dumps(properties or {}),
                    "created_at": tx.now_iso,
                    "updated_at": tx.now_iso,
                },
            )

        return await self.write(create)

    async def create_deal(
        self,
        name: str,
        *,
        stage: str | None = None,
        amount: float | None = None,
        currency: str | None = None,
        properties: dict[str, Any] | None = None,
    ) -> int:
        def create(tx: Tx) -> int:
            return tx.insert(
                "deals",
                {
                    "name": name,
                    "stage": stage,
                    "amount": amount,
                    "currency": currency,
                    "properties": dumps(properties or {}),
                    "created_at": tx.now_iso,
                    "updated_at": tx.now_iso,
                },
            )

        return await self.write(create)

    async def associate(self, contact_id: int, object_type: str, object_id: int) -> None:
        await self.write(lambda tx: associate(tx, contact_id, object_type, object_id))

    async def list_companies(
        self, *, q: str | None = None, limit: int = 50, cursor: str | None = None
    ) -> schemas.Page[schemas.Company]:
        rows, next_cursor = await self._records_page(
            "companies",
            "id, name, domain, properties, created_at",
            ("name", "domain"),
            q,
            limit,
            cursor,
        )
        contacts = await self._associated_contacts("company", [row["id"] for row in rows])
        items = [
            schemas.Company(
                id=row["id"],
                name=row["name"],
                domain=row["domain"],
                properties=loads(row["properties"], {}),
                contacts=contacts.get(row["id"], []),
                created_at=parse_dt(row["created_at"]),
            )
            for row in rows
        ]
        return schemas.Page[schemas.Company](items=items, next_cursor=next_cursor)

    async def list_deals(
        self, *, q: str | None = None, limit: int = 50, cursor: str | None = None
    ) -> schemas.Page[schemas.Deal]:
        rows, next_cursor = await self._records_page(
            "deals",
            "id, name, stage, amount, currency, properties, created_at",
            ("name", "stage"),
            q,
            limit,
            cursor,
        )
        contacts = await self._associated_contacts("deal", [row["id"] for row in rows])
        items = [
            schemas.Deal(
                id=row["id"],
                name=row["name"],
                stage=row["stage"],
                amount=row["amount"],
                currency=row["currency"],
                properties=loads(row["properties"], {}),
                contacts=contacts.get(row["id"], []),
                created_at=parse_dt(row["created_at"]),
            )
            for row in rows
        ]
        return schemas.Page[schemas.Deal](items=items, next_cursor=next_cursor)

    async def _records_page(
        self,
        table: str,
        columns: str,
        searched: tuple[str, ...],
        q: str | None,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[sqlite3.Row], str | None]:
        """A page ordered by name (case-insensitive) then id; ``q`` is a substring match."""
        clauses, params = [], []
        if q is not None and q.strip():
            pattern = (
                "%" + q.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            )
            clauses.append(
                "(" + " OR ".join(f"{column} LIKE ? ESCAPE '\\'" for column in searched) + ")"
            )
            params += [pattern] * len(searched)
        key = decode_cursor(cursor, 2)
        if key is not None:
            clauses.append("(name COLLATE NOCASE, id) > (?, ?)")
            params += key
        where = " AND ".join(clauses) or "1"
        rows = await self.readers.all(
            f"SELECT {columns} FROM {table} WHERE {where} ORDER BY name COLLATE NOCASE, id LIMIT ?",
            [*params, limit + 1],
        )
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = encode_cursor(rows[-1]["name"], rows[-1]["id"]) if more else None
        return rows, next_cursor

    async def _associated_contacts(
        self, object_type: str, ids: list[int]
    ) -> dict[int, list[schemas.ContactSummary]]:
        if not ids:
            return {}
        marks = ", ".join("?" for _ in ids)
        rows = await self.readers.all(
            f"SELECT a.object_id, {SUMMARY_COLUMNS} FROM associations a "
            "JOIN contacts c ON c.id = a.contact_id "
            f"WHERE a.object_type = ? AND a.object_id IN ({marks}) ORDER BY c.id",
            [object_type, *ids],
        )
        grouped: dict[int, list[schemas.ContactSummary]] = {}
        for row in rows:
            summaries = grouped.setdefault(row["object_id"], [])
            if len(summaries) < ASSOCIATED_PER_RECORD:
                summaries.append(contact_summary_from_row(row))
        return grouped

    async def import_contacts(self, text: str) -> schemas.ContactImportReport:
        """Import the good rows of a contacts CSV (in batches); report the bad ones."""
        parsed = parse_contacts_csv(text)
        imported = updated = 0
        for start in range(0, len(parsed.rows), IMPORT_BATCH):
            batch = parsed.rows[start : start + IMPORT_BATCH]

            def run(tx: Tx, batch=batch) -> list[bool]:
                return [
                    _import_row(tx, cleaned, company, extra) for _, cleaned, company, extra in batch
                ]

            for was_update in await self.write(run):
                if was_update:
                    updated += 1
                else:
                    imported += 1
        return schemas.ContactImportReport(imported=imported, updated=updated, errors=parsed.errors)

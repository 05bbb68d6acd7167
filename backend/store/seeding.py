"""Bulk creation of reference records (companies, deals, inserts, associations).

Used by the demo and by ``ttydesk admin`` imports; each call is one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from backend.store.base import StoreBase
from backend.store.engine import Tx, dumps, iso


class SeedingStore(StoreBase):
    async def create_companies(self, companies: Sequence[dict[str, Any]]) -> dict[str, int]:
        """Create companies; returns name → id (an existing name is reused)."""

        def create(tx: Tx) -> dict[str, int]:
            ids: dict[str, int] = {}
            for company in companies:
                row = tx.one("SELECT id FROM companies WHERE name = ?", (company["name"],))
                ids[company["name"]] = (
                    row["id"]
                    if row
                    else tx.insert(
                        "companies",
                        {
                            "name": company["name"],
                            "domain": company.get("domain"),
                            "properties": dumps(company.get("properties", {})),
                            "created_at": tx.now_iso,
                            "updated_at": tx.now_iso,
                        },
                    )
                )
            return ids

        return await self.write(create)

    async def create_deals(
        self, deals: Sequence[dict[str, Any]], company_ids: dict[str, int]
    ) -> dict[str, int]:
        """Create deals and associate each with the contacts of its company."""

        def create(tx: Tx) -> dict[str, int]:
            ids: dict[str, int] = {}
            for deal in deals:
                deal_id = tx.insert(
                    "deals",
                    {
                        "name": deal["name"],
                        "stage": deal.get("stage"),
                        "amount": deal.get("amount"),
                        "currency": deal.get("currency"),
                        "properties": dumps(deal.get("properties", {})),
                        "created_at": tx.now_iso,
                        "updated_at": tx.now_iso,
                    },
                )
                ids[deal["name"]] = deal_id
                company_id = company_ids.get(deal.get("company", ""))
                if company_id is not None:
                    tx.execute(
                        "INSERT OR IGNORE INTO associations (contact_id, object_type, object_id) "
                        "SELECT contact_id, 'deal', ? FROM associations "
                        "WHERE object_type = 'company' AND object_id = ?",
                        (deal_id, company_id),
                    )
            return ids

        return await self.write(create)

    async def associate_contacts_with_companies(self, pairs: Sequence[tuple[int, int]]) -> None:
        def associate(tx: Tx) -> None:
            tx.executemany(
                "INSERT OR IGNORE INTO associations (contact_id, object_type, object_id) "
                "VALUES (?, 'company', ?)",
                pairs,
            )

        await self.write(associate)

    async def create_inserts(self, inserts: Sequence[dict[str, Any]]) -> int:
        def create(tx: Tx) -> int:
            for item in inserts:
                tx.insert(
                    "inserts",
                    {
                        "kind": item["kind"],
                        "title": item["title"],
                        "body": item.get("body", ""),
                        "url": item.get("url"),
                        "tags": dumps(item.get("tags", [])),
                    },
                )
            return len(inserts)

        return await self.write(create)

    async def backdate_connections(self, at: datetime) -> None:
        """Move every connected number's ``connected_at`` back (demo history before "now")."""

        def backdate(tx: Tx) -> None:
            tx.execute(
                "UPDATE phone_numbers SET connected_at = ? WHERE connected_at IS NOT NULL",
                (iso(at),),
            )

        await self.write(backdate)

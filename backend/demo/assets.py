"""The demo's data, read from ``assets/demo/`` (shipped beside the package or in the checkout)."""

from __future__ import annotations

import csv
import json
from functools import cache
from pathlib import Path
from typing import Any


@cache
def assets_dir() -> Path:
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "assets" / "demo"
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("assets/demo not found beside the ttydesk package")


def load_json(name: str) -> Any:
    return json.loads((assets_dir() / name).read_text(encoding="utf-8"))


def load_contacts() -> list[dict[str, str]]:
    with (assets_dir() / "contacts.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def contacts_csv_path() -> Path:
    return assets_dir() / "contacts.csv"

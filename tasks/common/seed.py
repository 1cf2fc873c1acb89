"""Load ``catalog_seed.json`` (products with stock, customer preferences) into the table.

The local runner calls ``seed_table(table_name)`` after creating the table, so that
``examples/order.json`` can be placed; tests use it too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tasks.common.aws import dynamodb_table
from tasks.common.models import CustomerPreferences, Product
from tasks.common.repositories import preferences_item, product_item

__all__ = ["SEED_FILE", "load_seed", "seed_table"]

SEED_FILE = Path(__file__).with_name("catalog_seed.json")


def load_seed(path: Path = SEED_FILE) -> tuple[list[Product], list[CustomerPreferences]]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    products = [Product.model_validate(p) for p in data.get("products", [])]
    preferences = [
        CustomerPreferences.model_validate(c) for c in data.get("customerPreferences", [])
    ]
    return products, preferences


def seed_table(table_name: str, path: Path = SEED_FILE, table: Any | None = None) -> int:
    """Write every seed item (overwriting); returns how many were written."""
    table = table if table is not None else dynamodb_table(table_name)
    products, preferences = load_seed(path)
    # the same items the repositories write, sent 25 at a time (BatchWriteItem)
    # rather than one request per item; a key given twice keeps the last item, as
    # one PutItem after another would (a batch refuses duplicate keys)
    with table.batch_writer(overwrite_by_pkeys=["PK", "SK"]) as batch:
        for product in products:
            batch.put_item(Item=product_item(product))
        for preference in preferences:
            batch.put_item(Item=preferences_item(preference))
    return len(products) + len(preferences)

"""The one in-memory form every dataset reader produces.

``interactions`` columns (dtypes enforced by :meth:`Dataset.validate`):
  user_id: str, item_id: str, ts: int64 (unix seconds), rating: float64 (NaN when absent),
  row: int64 (0-based position in the source file; the tie-breaker for same-second events).
Rows are sorted by (ts, row): each user's events are in their true order.

``items`` columns: item_id: str, title: str, categories: list[str], description: str,
  image_path: str ("" when absent), year: Int64 (nullable).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

INTERACTION_COLUMNS = ["user_id", "item_id", "ts", "rating", "row"]
ITEM_COLUMNS = ["item_id", "title", "categories", "description", "image_path", "year"]


@dataclass
class Dataset:
    name: str
    interactions: pd.DataFrame
    items: pd.DataFrame
    categories: list[str] = field(default_factory=list)
    source: str = ""

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        ints, items = self.interactions, self.items
        missing = [c for c in INTERACTION_COLUMNS if c not in ints.columns]
        if missing:
            raise ValueError(f"interactions lack columns {missing}")
        missing = [c for c in ITEM_COLUMNS if c not in items.columns]
        if missing:
            raise ValueError(f"items lack columns {missing}")
        ints["user_id"] = ints["user_id"].astype(str)
        ints["item_id"] = ints["item_id"].astype(str)
        ints["ts"] = ints["ts"].astype(np.int64)
        ints["rating"] = ints["rating"].astype(np.float64)
        ints["row"] = ints["row"].astype(np.int64)
        items["item_id"] = items["item_id"].astype(str)
        items["year"] = items["year"].astype("Int64")
        self.interactions = ints = ints.sort_values(["ts", "row"], kind="stable", ignore_index=True)
        if not self.categories:
            seen: dict[str, None] = {}
            for cats in items["categories"]:
                for c in cats:
                    seen.setdefault(c, None)
            self.categories = list(seen)
        unknown = set(ints["item_id"].unique()) - set(items["item_id"])
        if unknown:
            raise ValueError(f"{len(unknown)} interaction item ids are not in the catalog, e.g. {sorted(unknown)[:3]}")

    @property
    def n_users(self) -> int:
        return int(self.interactions["user_id"].nunique())

    @property
    def n_items(self) -> int:
        return len(self.items)

    def fingerprint(self) -> str:
        """Stable content hash: artifacts record it and refuse to load against other data."""
        h = hashlib.sha256()
        h.update(self.name.encode())
        cols = self.interactions[["user_id", "item_id", "ts", "row"]]
        h.update(pd.util.hash_pandas_object(cols, index=False).values.tobytes())
        h.update(pd.util.hash_pandas_object(self.items["item_id"], index=False).values.tobytes())
        return h.hexdigest()[:16]

    def user_events(self, user_id: str) -> pd.DataFrame:
        """One user's events in order (may be empty)."""
        ints = self.interactions
        return ints[ints["user_id"] == str(user_id)]

    @property
    def has_item_text(self) -> bool:
        """False for an ids-only catalog (every title is its id, no categories or descriptions): there is no
        text to embed, so text features are off."""
        items = self.items
        if not len(items):
            return False
        described = (items["title"].astype(str) != items["item_id"].astype(str)) | (items["description"] != "")
        return bool(described.any() or items["categories"].map(len).any())

    def item_text(self) -> dict[str, str]:
        """The text embedded for each item: title, categories, description."""
        out: dict[str, str] = {}
        for r in self.items.itertuples(index=False):
            parts = [str(r.title)]
            if r.categories:
                parts.append("Genres: " + ", ".join(r.categories))
            if r.description:
                parts.append(str(r.description))
            out[str(r.item_id)] = ". ".join(parts)
        return out

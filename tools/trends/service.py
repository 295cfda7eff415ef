"""``TrendService``: the cached entry point the Toolbox calls.

Results are cached per (user, last event id, number of events): a repeated call is a dict
lookup; a new event changes the key, so the next call refits (no explicit invalidation needed,
though ``invalidate`` drops a user's entries at once, e.g. after ``delete_user``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

import pandas as pd
from cachetools import LRUCache
from threadpoolctl import threadpool_limits

from evorec.tools.trends.catalog import CatalogTrends, catalog_trends
from evorec.tools.trends.config import TrendConfig
from evorec.tools.trends.engine import analyse_user
from evorec.tools.trends.events import normalise_events
from evorec.tools.trends.results import UserTrends


def _last_key(raw: list[Any] | tuple[Any, ...]) -> tuple[str, int, int]:
    """(last event id, number of events, last ts) without validating every event (cache hits stay ~free)."""
    if not raw:
        return "", 0, 0
    last = normalise_events([raw[-1]])[0]
    return last.event_id, len(raw), last.ts


class TrendService:
    def __init__(self, categories: list[str] | None = None, config: TrendConfig | None = None,
                 cache_size: int = 4096) -> None:
        self.categories = list(categories or [])
        self.config = config or TrendConfig()
        self.cache_size = cache_size
        self._cache: LRUCache[tuple[str, str, int, int], UserTrends] = LRUCache(maxsize=cache_size)  # under _lock
        self._lock = threading.Lock()
        self._catalog: dict[tuple[str, tuple], CatalogTrends] = {}
        self.hits = 0
        self.misses = 0

    def user_trends(self, user_id: str, events: Iterable[Any] | None) -> UserTrends:
        """Trends of one user from their time-ordered events (ts, categories, event_id); never raises for thin
        histories (``status="insufficient_history"``)."""
        raw = events if isinstance(events, list | tuple) else list(events or [])
        key = (str(user_id), *_last_key(raw))
        with self._lock:
            hit = self._cache.get(key)  # a hit becomes the most recently used
            if hit is not None:
                self.hits += 1
                return hit
        with threadpool_limits(limits=1):
            result = analyse_user(str(user_id), normalise_events(raw), self.categories, self.config)
        with self._lock:
            self.misses += 1
            for k in [k for k in self._cache if k[0] == key[0]]:  # older versions of this user are stale
                del self._cache[k]
            self._cache[key] = result  # evicts the least recently used beyond cache_size
        return result

    def catalog_trends(self, interactions: pd.DataFrame, items: pd.DataFrame, key: str | None = None,
                       **kwargs: Any) -> CatalogTrends:
        """Trending items/categories (see ``catalog.catalog_trends``), cached under ``key`` (e.g. the dataset
        fingerprint; default: row count + last timestamp) until ``invalidate_catalog``."""
        last = int(interactions["ts"].max()) if len(interactions) else 0
        k = (key or f"{len(interactions)}:{last}", tuple(sorted(kwargs.items())))
        with self._lock:
            hit = self._catalog.get(k)
        if hit is not None:
            return hit
        with threadpool_limits(limits=1):
            result = catalog_trends(interactions, items, config=self.config, **kwargs)
        with self._lock:
            self._catalog = {k: result}
        return result

    def invalidate_catalog(self) -> None:
        with self._lock:
            self._catalog = {}

    def invalidate(self, user_id: str | None = None) -> int:
        """Drop cached results of one user (or all); returns how many were dropped."""
        with self._lock:
            keys = [k for k in self._cache if user_id is None or k[0] == str(user_id)]
            for k in keys:
                del self._cache[k]
        return len(keys)

    def cached_users(self) -> list[str]:
        """Users with cached results (the Toolbox drops those another process wrote)."""
        with self._lock:
            return list(dict.fromkeys(k[0] for k in self._cache))

    def cache_info(self) -> dict[str, int]:
        return {"entries": len(self._cache), "hits": self.hits, "misses": self.misses}

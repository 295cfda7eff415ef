"""The per-process read cache of a history store, shared by every store object on one location and dataset.

It holds the item table and an LRU of users' sorted event rows (all users after ``warm()``). It is kept
coherent with writes from any process by the store generation (:mod:`evorec.tools.store.state`): before a
read, a store compares the generation with the one the cache was filled at and drops the users the
generations in between touched (everything, after an ingest).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from evorec.tools.store.ids import user_key
from evorec.tools.store.records import HistoryEvent, ItemHit


@dataclass
class Row:
    ts: int
    row: int
    event_id: str  # as shown to readers (the client's id when it chose one)
    item_id: str
    rating: float | None
    event: HistoryEvent | None = None  # built once, on first read


@dataclass
class ItemTable:
    ids: list[str]
    index: dict[str, int]
    titles: list[str]
    categories: list[list[str]]
    years: list[int | None]
    descriptions: list[str]
    matrix: np.ndarray  # float32 [n, 384], L2-normalised
    count: int

    def hit(self, pos: int, score: float | None = None) -> ItemHit:
        return ItemHit(item_id=self.ids[pos], title=self.titles[pos], categories=self.categories[pos],
                       year=self.years[pos], description=self.descriptions[pos], score=score)


class SharedCache:
    """Per (location, dataset): item table and an LRU of users' sorted event rows."""

    def __init__(self, dataset: str) -> None:
        self.dataset = dataset
        self.lock = threading.RLock()
        self.items: ItemTable | None = None
        self.users: OrderedDict[str, list[Row]] = OrderedDict()
        self.generation: int | None = None  # store generation the cache is coherent with (None: not yet read)
        self.complete = False  # every user's rows are loaded (warm()): a missing user has no events
        self._keys: dict[str, str] = {}  # user -> user_key, memoised (the change log holds keys)

    def clear(self, users: Iterable[str] | None = None, items: bool = False) -> None:
        with self.lock:
            if users is None:
                self.users.clear()
                self.complete = False
            else:
                for u in users:
                    self.users.pop(u, None)
            if items:
                self.items = None

    def users_with_keys(self, keys: set[str]) -> tuple[list[str], bool]:
        """(cached users whose key is in ``keys``, whether every key matched a cached user)."""
        with self.lock:
            found: list[str] = []
            matched: set[str] = set()
            for u in self.users:
                k = self._keys.get(u)
                if k is None:
                    k = self._keys[u] = user_key(self.dataset, u)
                if k in keys:
                    found.append(u)
                    matched.add(k)
            if len(self._keys) > 4 * max(len(self.users), 1024):
                self._keys = {u: self._keys[u] for u in self.users if u in self._keys}
            return found, matched == keys


_caches: dict[tuple[str, str], SharedCache] = {}
_caches_lock = threading.Lock()


def shared_cache(loc: str, dataset: str) -> SharedCache:
    with _caches_lock:
        c = _caches.get((loc, dataset))
        if c is None:
            c = _caches[(loc, dataset)] = SharedCache(dataset)
        return c

"""The history store: a dataset's catalog and every user's events in two Chroma collections.

``items__<dataset>``: one record per item — its MiniLM text embedding (cosine space), title,
categories, year, description. Each item is embedded once.

``events__<dataset>``: one record per interaction. Its id is owned by its user (:mod:`.ids`: derived
``user|item|ts``, or the client's id under the user's prefix); metadata ``user_id`` (the one key reads filter
on) and ``ev`` = ``"ts|row|rating|item_id"`` (rating empty when absent), plus ``cid`` for a client-chosen id.
Chroma's cost per event grows with its metadata keys (a row per key in its SQLite metadata table, validated in
Python first): two keys instead of five measured ~25 % less ingest CPU for the events. Records written by
earlier versions (keys ``user_id, item_id, ts, row, rating``) are still read (:func:`decode_event`).
History reads are metadata ``where`` filters; semantic search inside one user's history ranks
that user's events by their item's embedding (exact cosine against the in-process item matrix),
so events do not carry a copy of the 384-d vector: their vector is 1-d (the event time in years),
which measured ~2.5x faster to ingest than copying item vectors onto events (benchmarks/bench_store.py).
The collection metadata of ``events__<dataset>`` is the ingest manifest (fingerprint, complete flag).

The jobs live in their own modules: ingest (:mod:`.ingest`), writes and forgetting (:mod:`.writes`), the
per-process read cache (:mod:`.cache`), the state shared by every process — write generation, change log,
tombstones (:mod:`.state`). Reads are served from the cache; before each read the store compares the
store generation with the cache's and drops what other processes changed meanwhile.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd

from evorec.errors import InvalidRequestError, StoreUnavailableError
from evorec.settings import Settings, get_settings
from evorec.tools.data.schema import Dataset
from evorec.tools.store import ingest as _ingest
from evorec.tools.store import writes as _writes
from evorec.tools.store.cache import ItemTable, Row, shared_cache
from evorec.tools.store.client import EVENTS_PREFIX, collection_names, get_client, location
from evorec.tools.store.embedder import Embedder, get_embedder
from evorec.tools.store.ids import decode_event, encode_event, event_ids, shown_id
from evorec.tools.store.ingest import BATCH
from evorec.tools.store.records import (
    CategoryCounts,
    EventIn,
    HistoryEvent,
    IngestReport,
    ItemHit,
    StoreStats,
    UserHistory,
    iso_date,
    to_unix,
)
from evorec.tools.store.state import StoreState, state_path, store_state
from evorec.tools.store.writes import ADDED_ROW_BASE

__all__ = ["ADDED_ROW_BASE", "BATCH", "HistoryStore", "decode_event", "encode_event", "event_ids",
           "ingested_datasets"]

USER_CACHE_SIZE = 4096


def _unavailable(e: BaseException, loc: str) -> StoreUnavailableError:
    return StoreUnavailableError(f"Chroma at {loc} is unavailable: {str(e).strip()[:200] or type(e).__name__}")


def _transport_errors() -> tuple[type[BaseException], ...]:
    import httpx

    return (httpx.TransportError, ConnectionError, TimeoutError)


def ingested_datasets(settings: Settings | None = None) -> list[str]:
    """Names of datasets with an events collection at the configured location."""
    settings = settings or get_settings()
    client = get_client(settings)
    try:
        names = [c if isinstance(c, str) else c.name for c in client.list_collections()]
    except _transport_errors() as e:
        raise _unavailable(e, location(settings)) from e
    return sorted(n[len(EVENTS_PREFIX):] for n in names if n.startswith(EVENTS_PREFIX))


class HistoryStore:
    """Users' histories and the item catalog of one dataset. Open with :meth:`open`."""

    def __init__(self, settings: Settings, dataset: str, client: Any) -> None:
        self.settings = settings
        self.dataset = dataset
        self.location = location(settings)
        self._client = client
        self._items_name, self._events_name = collection_names(dataset)
        self._cache = shared_cache(f"{self.location}#{state_path(settings)}", dataset)
        self._items_col: Any = None
        self._events_col: Any = None
        self._embedder: Embedder | None = None
        self._connect()

    # ------------------------------------------------------------------ plumbing
    @classmethod
    def open(cls, settings: Settings | None = None, dataset: str | None = None) -> HistoryStore:
        settings = settings or get_settings()
        return cls(settings, dataset or settings.dataset, get_client(settings))

    def _connect(self) -> None:
        try:
            self._items_col = self._client.get_or_create_collection(
                self._items_name, embedding_function=None, configuration={"hnsw": {"space": "cosine"}})
            self._events_col = self._client.get_or_create_collection(
                self._events_name, embedding_function=None, configuration={"hnsw": {"space": "l2"}})
        except _transport_errors() as e:
            raise _unavailable(e, self.location) from e

    def _call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except _transport_errors() as e:
            raise _unavailable(e, self.location) from e

    @property
    def state(self) -> StoreState:
        """Generation, change log and tombstones shared by every process on this HOME."""
        return store_state(self.settings)

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = get_embedder(self.settings.device)
        return self._embedder

    @property
    def manifest(self) -> dict[str, Any]:
        col = self._call(self._client.get_collection, self._events_name, embedding_function=None)
        return dict(col.metadata or {})

    @property
    def is_ingested(self) -> bool:
        return bool(self.manifest.get("complete"))

    def _drop(self) -> None:
        for name in (self._items_name, self._events_name):
            try:
                self._call(self._client.delete_collection, name)
            except StoreUnavailableError:
                raise
            except Exception:  # already absent
                continue
        self._written(None)
        self._connect()

    def _max_batch(self) -> int:
        try:
            return int(self._client.get_max_batch_size())
        except Exception:  # older servers do not report it
            return BATCH

    # ------------------------------------------------------------------ ingest and writes
    def ingest(self, ds: Dataset, progress: bool = True, on_batch: Callable[[int, int], None] | None = None,
               batch_size: int = BATCH, workers: int = 2) -> IngestReport:
        """Upsert the dataset's items and events; resumable, idempotent; forgotten users' events left out.

        ``on_batch(written, total)`` is called after each finished events batch (progress hooks, tests);
        an exception it raises aborts the ingest like a kill would (batches in flight still land).
        A store holding another version of the dataset (other fingerprint) is rebuilt.
        """
        return _ingest.ingest(self, ds, progress=progress, on_batch=on_batch, batch_size=batch_size,
                              workers=workers)

    def add_events(self, events: list[EventIn]) -> IngestReport:
        """Upsert new interactions (adaptive ingest), each owned by its user. Same id → same event: an identical
        re-send is a duplicate (``events_skipped``), a different one is updated (``events_changed``)."""
        return _writes.add_events(self, events)

    def delete_user(self, user_id: str, tombstone: bool = True) -> int:
        """Delete every event of ``user_id`` and record the user as forgotten (``tombstone``); returns how many
        events were deleted (0 for unknown users)."""
        return _writes.delete_user(self, user_id, tombstone=tombstone)[0]

    def forgotten(self, users: Iterable[str]) -> set[str]:
        """Which of ``users`` were forgotten (tombstones)."""
        return self.state.forgotten(self.dataset, users)

    def generation(self) -> int:
        """The store generation: bumped by every write or delete from any process on this HOME."""
        return self.state.generation(self.dataset)

    def changes(self, after: int, upto: int) -> set[str] | None:
        """User keys (:func:`.ids.user_key`) written in generations (after, upto]; None: everything."""
        return self.state.changes(self.dataset, after, upto)

    def _written(self, users: Iterable[str] | None, refetch: bool = True) -> None:
        """After a write reached Chroma: bump the generation (other processes see it), then bring this process's
        cache up to date (``users`` re-read, or dropped for ``refetch=False``; everything for None)."""
        users = None if users is None else list(users)
        gen = self.state.bump(self.dataset, users)
        with self._cache.lock:
            contiguous = self._cache.generation is not None and gen == self._cache.generation + 1
            if users is None:
                self._cache.clear(items=True)
            else:
                self._cache.clear(users)
            if contiguous:  # no other process wrote in between: our own update keeps the cache exact
                self._cache.generation = gen
            complete = self._cache.complete
        if users and refetch and complete:
            for u in users:
                self._fetch_user(u)

    # ------------------------------------------------------------------ caches
    def _validate_cache(self) -> None:
        """Drop what other processes changed since the cache was filled (by the store generation)."""
        gen = self.state.generation(self.dataset)
        cache = self._cache
        with cache.lock:
            if cache.generation == gen:
                return
            before = cache.generation
            keys = None if before is None else self.state.changes(self.dataset, before, gen)
            if keys is None:
                cache.clear(items=before is not None)
                stale: list[str] = []
            else:
                stale, all_cached = cache.users_with_keys(keys)
                cache.clear(stale)
                if not all_cached:  # a user this process does not hold gained events: misses must read Chroma
                    cache.complete = False
            cache.generation = gen
            refetch = cache.complete
        if refetch:
            for u in stale:
                self._fetch_user(u)

    def _items(self) -> ItemTable:
        self._validate_cache()
        with self._cache.lock:
            if self._cache.items is not None:
                return self._cache.items
            got = self._call(self._items_col.get, include=["metadatas", "embeddings"])
            metas = got["metadatas"] or []
            order = sorted(range(len(got["ids"])), key=lambda k: (metas[k].get("pos", 0), got["ids"][k]))
            ids = [got["ids"][k] for k in order]
            emb = got["embeddings"]
            matrix = (np.asarray(emb, dtype=np.float32)[order] if len(ids)
                      else np.zeros((0, self.embedder.dim if self._embedder else 384), np.float32))
            table = ItemTable(
                ids=ids, index={iid: p for p, iid in enumerate(ids)},
                titles=[str(metas[k].get("title", "")) for k in order],
                categories=[[c for c in str(metas[k].get("categories", "")).split("|") if c] for k in order],
                years=[int(metas[k]["year"]) if "year" in metas[k] else None for k in order],
                descriptions=[str(metas[k].get("description", "")) for k in order],
                matrix=matrix, count=len(ids))
            self._cache.items = table
            return table

    @staticmethod
    def _row(eid: str, m: dict[str, Any]) -> Row:
        _, item, ts, row, rating = decode_event(m)
        return Row(ts, row, shown_id(eid, m), item, rating)

    def _user_rows(self, user_id: str) -> list[Row]:
        self._validate_cache()
        with self._cache.lock:
            rows = self._cache.users.get(user_id)
            if rows is not None:
                self._cache.users.move_to_end(user_id)
                return rows
            if self._cache.complete:
                return []
        return self._fetch_user(user_id)

    def _fetch_user(self, user_id: str) -> list[Row]:
        got = self._call(self._events_col.get, where={"user_id": user_id}, include=["metadatas"])
        rows = sorted((self._row(eid, m) for eid, m in zip(got["ids"], got["metadatas"], strict=True)),
                      key=lambda r: (r.ts, r.row, r.event_id))
        with self._cache.lock:
            if not rows and self._cache.complete:
                self._cache.users.pop(user_id, None)  # complete: absent means no events (keeps no trace)
                return rows
            self._cache.users[user_id] = rows
            while not self._cache.complete and len(self._cache.users) > USER_CACHE_SIZE:
                self._cache.users.popitem(last=False)
        return rows

    def warm(self, page: int = 20_000) -> int:
        """Load every event into the per-process cache in one scan; later history reads never touch Chroma.

        For long-lived processes (API server, agent). Writes through any store object, in any process on this
        HOME, keep it exact (store generation). Returns the events loaded.
        """
        gen = self.state.generation(self.dataset)
        n = self._call(self._events_col.count)
        by_user: dict[str, list[Row]] = {}
        for eid, m in self._scan_events(n, page):
            by_user.setdefault(str(m["user_id"]), []).append(self._row(eid, m))
        for rows in by_user.values():
            rows.sort(key=lambda r: (r.ts, r.row, r.event_id))
        with self._cache.lock:
            self._cache.users = OrderedDict(by_user)
            self._cache.complete = True
            self._cache.generation = gen  # read before the scan: later writes are caught by the next check
        self._items()
        return sum(len(r) for r in by_user.values())

    def _scan_events(self, n: int, page: int = 20_000) -> Iterable[tuple[str, dict[str, Any]]]:
        """(event id, metadata) of every stored event, in pages."""
        for offset in range(0, n, page):
            got = self._call(self._events_col.get, include=["metadatas"], limit=page, offset=offset)
            yield from zip(got["ids"], got["metadatas"], strict=True)

    def events_frame(self) -> pd.DataFrame:
        """Every stored event — the ingested dataset's plus those added since, minus forgotten users' — as a frame
        with the ``Dataset.interactions`` columns and ``event_id`` (the stored id), sorted by (ts, row). What
        retraining learns from."""
        n = self._call(self._events_col.count)
        cols: dict[str, list[Any]] = {"event_id": [], "user_id": [], "item_id": [], "ts": [], "rating": [], "row": []}
        for eid, m in self._scan_events(n):
            user, item, ts, row, rating = decode_event(m)
            cols["event_id"].append(eid)
            cols["user_id"].append(user)
            cols["item_id"].append(item)
            cols["ts"].append(ts)
            cols["rating"].append(math.nan if rating is None else rating)
            cols["row"].append(row)
        frame = pd.DataFrame(cols).astype({"ts": np.int64, "rating": np.float64, "row": np.int64})
        return frame.sort_values(["ts", "row", "event_id"], kind="stable", ignore_index=True)

    def _event(self, r: Row, items: ItemTable) -> HistoryEvent:
        """The row as a HistoryEvent, built once and reused (callers get copies only where they change it)."""
        if r.event is None:
            p = items.index.get(r.item_id)
            r.event = HistoryEvent.model_construct(
                event_id=r.event_id, item_id=r.item_id, title=items.titles[p] if p is not None else r.item_id,
                categories=list(items.categories[p]) if p is not None else [], ts=r.ts, date=iso_date(r.ts),
                rating=r.rating, similarity=None)
        return r.event

    # ------------------------------------------------------------------ reads
    def user_history(self, user_id: str, since: int | str | None = None, until: int | str | None = None,
                     limit: int | None = None) -> UserHistory:
        """Events oldest first within [since, until); ``limit`` keeps the most recent ones."""
        if limit is not None and limit < 0:
            raise InvalidRequestError(f"limit must be >= 0, got {limit}")
        user_id = str(user_id)
        rows = self._user_rows(user_id)
        if not rows:
            return UserHistory(user_id=user_id, known=False)
        lo = to_unix(since, "since") if since is not None else None
        hi = to_unix(until, "until") if until is not None else None
        sel = [r for r in rows if (lo is None or r.ts >= lo) and (hi is None or r.ts < hi)]
        total = len(sel)
        if limit is not None:
            sel = sel[-limit:] if limit else []
        items = self._items()
        return UserHistory(user_id=user_id, known=True, total_events=total, events=[self._event(r, items) for r in sel])

    def search_user_history(self, user_id: str, query: str, k: int = 10, since: int | str | None = None,
                            until: int | str | None = None) -> UserHistory:
        """The user's past events most similar to ``query`` (one per item), best first."""
        if not query.strip():
            raise InvalidRequestError("query must not be empty")
        if not 1 <= k <= 500:
            raise InvalidRequestError(f"k must be in 1..500, got {k}")
        full = self.user_history(user_id, since=since, until=until)
        if not full.known:
            return UserHistory(user_id=str(user_id), known=False, query=query)
        items = self._items()
        q = self.embedder.encode([query])[0]
        best: dict[str, tuple[float, HistoryEvent]] = {}
        for e in full.events:  # oldest first: a re-watched item keeps its most recent event
            p = items.index.get(e.item_id)
            if p is not None:
                best[e.item_id] = (float(items.matrix[p] @ q), e)
        ranked = sorted(best.values(), key=lambda t: (-t[0], -t[1].ts))[:k]
        events = [e.model_copy(update={"similarity": round(s, 4)}) for s, e in ranked]
        return UserHistory(user_id=str(user_id), known=True, total_events=full.total_events, events=events,
                           query=query)

    def category_counts(self, user_id: str, bucket: str = "month", since: int | str | None = None,
                        until: int | str | None = None) -> CategoryCounts:
        """The user's events per category per week or month, every bucket from first to last event included."""
        if bucket not in ("week", "month"):
            raise InvalidRequestError(f"bucket must be 'week' or 'month', not {bucket!r}")
        h = self.user_history(user_id, since=since, until=until)
        out = CategoryCounts(user_id=str(user_id), known=h.known, bucket=bucket)
        if not h.events:
            return out
        days = pd.to_datetime(pd.Series([e.ts for e in h.events]), unit="s").dt.normalize()
        freq = "W-MON" if bucket == "week" else "MS"
        starts = (days - pd.to_timedelta(days.dt.day_of_week, unit="D")) if bucket == "week" else days.dt.to_period(
            "M").dt.to_timestamp()
        edges = pd.date_range(starts.min(), starts.max(), freq=freq)
        pos = {d: i for i, d in enumerate(edges)}
        out.starts = [d.date().isoformat() for d in edges]
        out.totals = [0] * len(edges)
        for e, start in zip(h.events, starts, strict=True):
            i = pos[start]
            out.totals[i] += 1
            for c in e.categories:
                out.counts.setdefault(c, [0] * len(edges))[i] += 1
        return out

    def search_items(self, text: str, k: int = 10) -> list[ItemHit]:
        """Catalog items whose text embedding is closest to ``text`` (Chroma HNSW, cosine)."""
        if not text.strip():
            raise InvalidRequestError("search text must not be empty")
        if not 1 <= k <= 200:
            raise InvalidRequestError(f"k must be in 1..200, got {k}")
        items = self._items()
        if not items.count:
            return []
        q = self.embedder.encode([text])
        got = self._call(self._items_col.query, query_embeddings=q, n_results=min(k, items.count),
                         include=["distances"])
        return [items.hit(items.index[iid], round(1.0 - float(d), 4))
                for iid, d in zip(got["ids"][0], got["distances"][0], strict=True) if iid in items.index]

    def get_items(self, ids: Iterable[str]) -> list[ItemHit]:
        """Known items among ``ids``, in the order given (unknown ids are left out)."""
        items = self._items()
        return [items.hit(items.index[str(i)]) for i in ids if str(i) in items.index]

    def get_item(self, item_id: str) -> ItemHit | None:
        hits = self.get_items([item_id])
        return hits[0] if hits else None

    def item_embeddings(self) -> tuple[list[str], np.ndarray]:
        """(item ids in catalog order, float32 [n, 384] L2-normalised matrix)."""
        items = self._items()
        return list(items.ids), items.matrix

    def known_user(self, user_id: str) -> bool:
        return bool(self._user_rows(str(user_id)))

    def stats(self) -> StoreStats:
        m = self.manifest
        return StoreStats(dataset=self.dataset, mode=self.settings.chroma_mode, location=self.location,
                          items=self._call(self._items_col.count), events=self._call(self._events_col.count),
                          users_at_ingest=m.get("users"), fingerprint=m.get("fingerprint"),
                          complete=bool(m.get("complete")), ingested_at=m.get("ingested_at"))

"""The history store: a dataset's catalog and every user's events in two Chroma collections.

``items__<dataset>``: one record per item — its MiniLM text embedding (cosine space), title,
categories, year, description. Each item is embedded once.

``events__<dataset>``: one record per interaction, id = stable event id
(``user|item|ts``, ``#k`` appended for repeats), metadata ``user_id`` (the one key reads filter on) and
``ev`` = ``"ts|row|rating|item_id"`` (rating empty when absent). Chroma's cost per event grows with its
metadata keys (a row per key in its SQLite metadata table, validated in Python first): two keys instead
of five measured ~25 % less ingest CPU for the events. Records written by earlier versions (keys
``user_id, item_id, ts, row, rating``) are still read (:func:`decode_event`).
History reads are metadata ``where`` filters; semantic search inside one user's history ranks
that user's events by their item's embedding (exact cosine against the in-process item matrix),
so events do not carry a copy of the 384-d vector: their vector is 1-d (the event time in years),
which measured ~2.5x faster to ingest than copying item vectors onto events (benchmarks/bench_store.py).
The collection metadata of ``events__<dataset>`` is the ingest manifest (fingerprint, complete flag).

Ingest is idempotent and resumable: it upserts by event id and skips ids already present, so an
ingest killed half-way and rerun ends complete with no duplicates. Reads are served from a
per-process cache shared by every store object on the same location and dataset; writes through
any of them invalidate it. In ``http`` mode other processes may write too, so the cache is also
keyed on the events collection's count.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from evorec.errors import InvalidRequestError, NotFoundError, StoreUnavailableError
from evorec.settings import Settings, get_settings
from evorec.tools.data.schema import Dataset
from evorec.tools.store.client import EVENTS_PREFIX, collection_names, get_client, location
from evorec.tools.store.embedder import Embedder, get_embedder, one_torch_thread
from evorec.tools.store.progress import progress_bar
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

BATCH = 5000
USER_CACHE_SIZE = 4096
ADDED_ROW_BASE = 10**15  # rows of adaptively added events sort after the dataset's own rows at the same second
YEAR_S = 365.25 * 86400


def event_ids(users: Sequence[str], items: Sequence[str], ts: Sequence[int]) -> list[str]:
    """Stable ids ``user|item|ts``; the k-th repeat of the same triple gets ``#k``."""
    base = [f"{u}|{i}|{t}" for u, i, t in zip(users, items, ts, strict=True)]
    seen: dict[str, int] = {}
    out = []
    for b in base:
        k = seen.get(b, 0)
        seen[b] = k + 1
        out.append(b if k == 0 else f"{b}#{k}")
    return out


def encode_event(user_id: str, item_id: str, ts: int, row: int, rating: float | None) -> dict[str, Any]:
    """The metadata of one event record (see the module docstring)."""
    r = "" if rating is None or math.isnan(rating) else repr(float(rating))
    return {"user_id": user_id, "ev": f"{int(ts)}|{int(row)}|{r}|{item_id}"}


def decode_event(m: dict[str, Any]) -> tuple[str, str, int, int, float | None]:
    """(user_id, item_id, ts, row, rating) of an event record, in either metadata layout."""
    packed = m.get("ev")
    if packed is None:  # layout of earlier versions: one key per field
        return (str(m["user_id"]), str(m["item_id"]), int(m["ts"]), int(m.get("row", 0)),
                float(m["rating"]) if "rating" in m else None)
    ts, row, rating, item = str(packed).split("|", 3)
    return str(m["user_id"]), item, int(ts), int(row), float(rating) if rating else None


def _text_sha(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


def _time_vector(ts: np.ndarray) -> np.ndarray:
    return (np.asarray(ts, dtype=np.float64) / YEAR_S).astype(np.float32).reshape(-1, 1)


@dataclass
class _Row:
    ts: int
    row: int
    event_id: str
    item_id: str
    rating: float | None
    event: HistoryEvent | None = None  # built once, on first read


@dataclass
class _ItemTable:
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


class _SharedCache:
    """Per (location, dataset): item table and an LRU of users' sorted event rows."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.items: _ItemTable | None = None
        self.users: OrderedDict[str, list[_Row]] = OrderedDict()
        self.events_count: int | None = None
        self.complete = False  # every user's rows are loaded (warm()): a missing user has no events

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
            self.events_count = None


_caches: dict[tuple[str, str], _SharedCache] = {}
_caches_lock = threading.Lock()


def _shared(loc: str, dataset: str) -> _SharedCache:
    with _caches_lock:
        return _caches.setdefault((loc, dataset), _SharedCache())


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
        self._cache = _shared(self.location, dataset)
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
        self._cache.clear(items=True)
        self._connect()

    # ------------------------------------------------------------------ ingest
    def ingest(self, ds: Dataset, progress: bool = True, on_batch: Callable[[int, int], None] | None = None,
               batch_size: int = BATCH, workers: int = 2) -> IngestReport:
        """Upsert the dataset's items and events; resumable, idempotent.

        ``on_batch(written, total)`` is called after each finished events batch (progress hooks, tests);
        an exception it raises aborts the ingest like a kill would (batches in flight still land).
        A store holding another version of the dataset (other fingerprint) is rebuilt.
        """
        start = time.perf_counter()
        fp = ds.fingerprint()
        report = IngestReport(dataset=self.dataset)
        old = self.manifest
        if old.get("fingerprint") not in (None, fp):
            self._drop()
            report.replaced = True
        self._call(self._events_col.modify, metadata={
            "dataset": self.dataset, "fingerprint": fp, "complete": False, "source": ds.source or ds.name})
        self._cache.clear(items=True)
        inter = ds.interactions
        users = inter["user_id"].tolist()
        items = inter["item_id"].tolist()
        ts = inter["ts"].to_numpy(np.int64)
        ts_list = ts.tolist()
        rows = inter["row"].to_numpy(np.int64).tolist()
        ratings = inter["rating"].to_numpy(np.float64).tolist()
        ids = event_ids(users, items, ts_list)

        def write(sel: np.ndarray) -> int:
            metas = [encode_event(users[i], items[i], ts_list[i], rows[i], ratings[i]) for i in sel.tolist()]
            self._call(self._events_col.upsert, ids=[ids[i] for i in sel.tolist()], embeddings=_time_vector(ts[sel]),
                       metadatas=metas)
            return len(sel)

        # Items are embedded in one thread while events are upserted by ``workers`` others: the two do not
        # depend on each other, and torch and Chroma's Rust core both release the GIL.
        workers = max(1, workers)
        with progress_bar(progress) as bar, ThreadPoolExecutor(max_workers=workers + 1) as pool:
            items_job = pool.submit(self._ingest_items, ds, bar)
            present = self._existing_ids(self._events_col)
            todo = np.array([i for i, eid in enumerate(ids) if eid not in present], dtype=np.int64)
            report.events_total = len(ids)
            report.events_skipped = len(ids) - len(todo)
            task = bar.add_task(f"events → {self._events_name}", total=len(todo))
            batch_size = max(1, min(batch_size, self._max_batch()))
            batches = [todo[s:s + batch_size] for s in range(0, len(todo), batch_size)]
            pending: deque[Future[int]] = deque()
            written = 0
            try:
                for sel in batches:
                    pending.append(pool.submit(write, sel))
                    while len(pending) >= workers:
                        written += pending.popleft().result()
                        bar.update(task, completed=written)
                        if on_batch is not None:
                            on_batch(written, len(todo))
                while pending:
                    written += pending.popleft().result()
                    bar.update(task, completed=written)
                    if on_batch is not None:
                        on_batch(written, len(todo))
                report.items_total, report.items_embedded = items_job.result()
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)
                raise
            report.events_written = written
        report.users_touched = int(inter["user_id"].nunique())
        self._call(self._events_col.modify, metadata={
            "dataset": self.dataset, "fingerprint": fp, "complete": True, "source": ds.source or ds.name,
            "users": report.users_touched, "events": report.events_total, "items": report.items_total,
            "ingested_at": datetime.now(UTC).isoformat(timespec="seconds")})
        self._cache.clear(items=True)
        report.seconds = round(time.perf_counter() - start, 3)
        return report

    def _max_batch(self) -> int:
        try:
            return int(self._client.get_max_batch_size())
        except Exception:  # older servers do not report it
            return BATCH

    def _existing_ids(self, col: Any) -> set[str]:
        out: set[str] = set()
        n = self._call(col.count)
        page = 50_000
        for offset in range(0, n, page):
            got = self._call(col.get, include=[], limit=page, offset=offset)
            out.update(got["ids"])
        return out

    def _ingest_items(self, ds: Dataset, bar: Any) -> tuple[int, int]:
        texts = ds.item_text()
        items = ds.items
        ids = items["item_id"].tolist()
        have: dict[str, str] = {}
        for s in range(0, len(ids), BATCH):
            got = self._call(self._items_col.get, ids=ids[s:s + BATCH], include=["metadatas"])
            have.update({i: (m or {}).get("sha", "") for i, m in zip(got["ids"], got["metadatas"], strict=True)})
        todo = [p for p, iid in enumerate(ids) if have.get(iid) != _text_sha(texts[iid])]
        task = bar.add_task(f"items → {self._items_name} (embedding)", total=len(todo))
        chunk = 1024
        for s in range(0, len(todo), chunk):
            sel = todo[s:s + chunk]
            with one_torch_thread():  # events are upserted on the other core meanwhile; measured ~30% less CPU
                emb = self.embedder.encode([texts[ids[p]] for p in sel], batch_size=64)
            metas = []
            for p in sel:
                r = items.iloc[p]
                m: dict[str, Any] = {"title": str(r["title"]), "categories": "|".join(r["categories"]),
                                     "description": str(r["description"] or ""), "pos": int(p),
                                     "sha": _text_sha(texts[ids[p]])}
                if not pd.isna(r["year"]):
                    m["year"] = int(r["year"])
                metas.append(m)
            self._call(self._items_col.upsert, ids=[ids[p] for p in sel], embeddings=emb, metadatas=metas,
                       documents=[texts[ids[p]] for p in sel])
            bar.update(task, advance=len(sel))
        return len(ids), len(todo)

    # ------------------------------------------------------------------ caches
    def _validate_cache(self) -> None:
        """In http mode other processes may write: drop cached reads when the event count moved."""
        if self.settings.chroma_mode != "http":
            return
        n = self._call(self._events_col.count)
        with self._cache.lock:
            if self._cache.events_count != n:
                self._cache.users.clear()
                self._cache.complete = False
                if self._cache.items is not None and self._cache.items.count != self._call(self._items_col.count):
                    self._cache.items = None
                self._cache.events_count = n

    def _items(self) -> _ItemTable:
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
            table = _ItemTable(
                ids=ids, index={iid: p for p, iid in enumerate(ids)},
                titles=[str(metas[k].get("title", "")) for k in order],
                categories=[[c for c in str(metas[k].get("categories", "")).split("|") if c] for k in order],
                years=[int(metas[k]["year"]) if "year" in metas[k] else None for k in order],
                descriptions=[str(metas[k].get("description", "")) for k in order],
                matrix=matrix, count=len(ids))
            self._cache.items = table
            return table

    @staticmethod
    def _row(eid: str, m: dict[str, Any]) -> _Row:
        _, item, ts, row, rating = decode_event(m)
        return _Row(ts, row, eid, item, rating)

    def _user_rows(self, user_id: str) -> list[_Row]:
        self._validate_cache()
        with self._cache.lock:
            rows = self._cache.users.get(user_id)
            if rows is not None:
                self._cache.users.move_to_end(user_id)
                return rows
            if self._cache.complete:
                return []
        return self._fetch_user(user_id)

    def _fetch_user(self, user_id: str) -> list[_Row]:
        got = self._call(self._events_col.get, where={"user_id": user_id}, include=["metadatas"])
        rows = sorted((self._row(eid, m) for eid, m in zip(got["ids"], got["metadatas"], strict=True)),
                      key=lambda r: (r.ts, r.row, r.event_id))
        with self._cache.lock:
            self._cache.users[user_id] = rows
            while not self._cache.complete and len(self._cache.users) > USER_CACHE_SIZE:
                self._cache.users.popitem(last=False)
        return rows

    def warm(self, page: int = 20_000) -> int:
        """Load every event into the per-process cache in one scan; later history reads never touch Chroma.

        For long-lived processes (API server, agent). Writes through any store object keep it exact;
        in ``http`` mode a write by another process drops it back to per-user reads. Returns the events loaded.
        """
        self._validate_cache()
        n = self._call(self._events_col.count)
        by_user: dict[str, list[_Row]] = {}
        for eid, m in self._scan_events(n, page):
            by_user.setdefault(str(m["user_id"]), []).append(self._row(eid, m))
        for rows in by_user.values():
            rows.sort(key=lambda r: (r.ts, r.row, r.event_id))
        with self._cache.lock:
            self._cache.users = OrderedDict(by_user)
            self._cache.complete = True
            self._cache.events_count = n if self.settings.chroma_mode == "http" else None
        self._items()
        return sum(len(r) for r in by_user.values())

    def _scan_events(self, n: int, page: int = 20_000) -> Iterable[tuple[str, dict[str, Any]]]:
        """(event id, metadata) of every stored event, in pages."""
        for offset in range(0, n, page):
            got = self._call(self._events_col.get, include=["metadatas"], limit=page, offset=offset)
            yield from zip(got["ids"], got["metadatas"], strict=True)

    def events_frame(self) -> pd.DataFrame:
        """Every stored event — the ingested dataset's plus those added since, minus forgotten users' — as a frame
        with the ``Dataset.interactions`` columns and ``event_id``, sorted by (ts, row). What retraining learns from."""
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

    def _refresh_users(self, users: Iterable[str]) -> None:
        """After a write: drop the users' cached rows, or refetch them when the cache holds everyone."""
        users = list(users)
        with self._cache.lock:
            complete = self._cache.complete
            for u in users:
                self._cache.users.pop(u, None)
        if complete:
            for u in users:
                self._fetch_user(u)
        if self.settings.chroma_mode == "http":  # our own write moved the count: keep what we know is exact
            n = self._call(self._events_col.count)
            with self._cache.lock:
                self._cache.events_count = n

    def _event(self, r: _Row, items: _ItemTable) -> HistoryEvent:
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

    # ------------------------------------------------------------------ writes
    def add_events(self, events: list[EventIn]) -> IngestReport:
        """Upsert new interactions (adaptive ingest). Same (user, item, ts) → same event: no duplicates."""
        start = time.perf_counter()
        report = IngestReport(dataset=self.dataset)
        if not events:
            return report
        items = self._items()
        if not items.count:
            raise NotFoundError(f"dataset {self.dataset!r} is not ingested; run: evorec ingest --dataset "
                                f"{self.dataset}")
        unknown = sorted({e.item_id for e in events if e.item_id not in items.index})
        if unknown:
            raise InvalidRequestError(f"unknown item id(s) {', '.join(map(repr, unknown[:5]))} "
                                      f"(not in the {self.dataset} catalog)")
        ts = [e.ts for e in events]
        auto = event_ids([e.user_id for e in events], [e.item_id for e in events], ts)
        ids = [e.event_id or a for e, a in zip(events, auto, strict=True)]
        if len(set(ids)) != len(ids):
            raise InvalidRequestError("duplicate event_id within one request")
        got = self._call(self._events_col.get, ids=ids, include=["metadatas"])
        old_rows = {i: decode_event(m)[3] for i, m in zip(got["ids"], got["metadatas"], strict=True)}
        base = ADDED_ROW_BASE + time.time_ns() // 1000
        metas = [encode_event(e.user_id, e.item_id, ts[k], old_rows.get(ids[k], base + k), e.rating)
                 for k, e in enumerate(events)]
        for s in range(0, len(ids), BATCH):
            self._call(self._events_col.upsert, ids=ids[s:s + BATCH],
                       embeddings=_time_vector(np.array(ts[s:s + BATCH])), metadatas=metas[s:s + BATCH])
        users = {e.user_id for e in events}
        self._refresh_users(users)
        report.items_total = items.count
        report.events_total = len(ids)
        report.events_skipped = len(old_rows)
        report.events_written = len(ids) - len(old_rows)
        report.users_touched = len(users)
        report.seconds = round(time.perf_counter() - start, 4)
        return report

    def delete_user(self, user_id: str) -> int:
        """Delete every event of ``user_id``; returns how many were deleted (0 for unknown users)."""
        user_id = str(user_id)
        got = self._call(self._events_col.get, where={"user_id": user_id}, include=[])
        ids = got["ids"]
        for s in range(0, len(ids), BATCH):
            self._call(self._events_col.delete, ids=ids[s:s + BATCH])
        self._refresh_users([user_id])
        return len(ids)

"""Ingest a dataset into its two collections: resumable, idempotent, tombstones respected.

Events are upserted by their derived id and ids already present are skipped, so an ingest killed half-way
and rerun ends complete with no duplicates. Events of forgotten users (tombstones) are never written: a
re-ingest of the dataset files cannot bring a forgotten user back.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from evorec.tools.data.schema import Dataset
from evorec.tools.store.embedder import one_torch_thread
from evorec.tools.store.ids import encode_event, event_ids, user_key
from evorec.tools.store.progress import progress_bar
from evorec.tools.store.records import IngestReport

if TYPE_CHECKING:
    from evorec.tools.store.history import HistoryStore

BATCH = 5000
YEAR_S = 365.25 * 86400


def time_vector(ts: np.ndarray) -> np.ndarray:
    """The 1-d vector of an event: its time in years."""
    return (np.asarray(ts, dtype=np.float64) / YEAR_S).astype(np.float32).reshape(-1, 1)


def text_sha(text: str) -> str:
    import hashlib

    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


def ingest(store: HistoryStore, ds: Dataset, progress: bool = True,
           on_batch: Callable[[int, int], None] | None = None, batch_size: int = BATCH,
           workers: int = 2) -> IngestReport:
    """See :meth:`HistoryStore.ingest`."""
    start = time.perf_counter()
    fp = ds.fingerprint()
    report = IngestReport(dataset=store.dataset)
    old = store.manifest
    if old.get("fingerprint") not in (None, fp):
        store._drop()
        report.replaced = True
    events_col = store._events_col
    store._call(events_col.modify, metadata={
        "dataset": store.dataset, "fingerprint": fp, "complete": False, "source": ds.source or ds.name})
    store._written(None)
    inter = ds.interactions
    users = inter["user_id"].tolist()
    items = inter["item_id"].tolist()
    ts = inter["ts"].to_numpy(np.int64)
    ts_list = ts.tolist()
    rows = inter["row"].to_numpy(np.int64).tolist()
    ratings = inter["rating"].to_numpy(np.float64).tolist()
    ids = event_ids(users, items, ts_list)
    dead = store.state.tombstones(store.dataset)
    forgotten = {u for u in set(users) if user_key(store.dataset, u) in dead} if dead else set()

    def write(sel: np.ndarray) -> int:
        metas = [encode_event(users[i], items[i], ts_list[i], rows[i], ratings[i]) for i in sel.tolist()]
        store._call(events_col.upsert, ids=[ids[i] for i in sel.tolist()], embeddings=time_vector(ts[sel]),
                    metadatas=metas)
        return len(sel)

    # Items are embedded in one thread while events are upserted by ``workers`` others: the two do not
    # depend on each other, and torch and Chroma's Rust core both release the GIL.
    workers = max(1, workers)
    with progress_bar(progress) as bar, ThreadPoolExecutor(max_workers=workers + 1) as pool:
        items_job = pool.submit(_ingest_items, store, ds, bar)
        present = _existing_ids(store, events_col)
        todo_list: list[int] = []
        for i, eid in enumerate(ids):
            if forgotten and users[i] in forgotten:
                report.events_forgotten += 1
            elif eid in present:
                report.events_skipped += 1
            else:
                todo_list.append(i)
        todo = np.array(todo_list, dtype=np.int64)
        report.events_total = len(ids)
        task = bar.add_task(f"events → {store._events_name}", total=len(todo))
        batch_size = max(1, min(batch_size, store._max_batch()))
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
            store._written(None)
            raise
        report.events_written = written
    report.users_touched = int(inter["user_id"].nunique()) - len(forgotten)
    store._call(events_col.modify, metadata={
        "dataset": store.dataset, "fingerprint": fp, "complete": True, "source": ds.source or ds.name,
        "users": report.users_touched, "events": report.events_total - report.events_forgotten,
        "items": report.items_total, "ingested_at": datetime.now(UTC).isoformat(timespec="seconds")})
    store._written(None)
    report.seconds = round(time.perf_counter() - start, 3)
    return report


def _existing_ids(store: HistoryStore, col: Any) -> set[str]:
    out: set[str] = set()
    n = store._call(col.count)
    page = 50_000
    for offset in range(0, n, page):
        got = store._call(col.get, include=[], limit=page, offset=offset)
        out.update(got["ids"])
    return out


def _ingest_items(store: HistoryStore, ds: Dataset, bar: Any) -> tuple[int, int]:
    texts = ds.item_text()
    items = ds.items
    ids = items["item_id"].tolist()
    have: dict[str, str] = {}
    for s in range(0, len(ids), BATCH):
        got = store._call(store._items_col.get, ids=ids[s:s + BATCH], include=["metadatas"])
        have.update({i: (m or {}).get("sha", "") for i, m in zip(got["ids"], got["metadatas"], strict=True)})
    todo = [p for p, iid in enumerate(ids) if have.get(iid) != text_sha(texts[iid])]
    task = bar.add_task(f"items → {store._items_name} (embedding)", total=len(todo))
    chunk = 1024
    for s in range(0, len(todo), chunk):
        sel = todo[s:s + chunk]
        with one_torch_thread():  # events are upserted on the other core meanwhile; measured ~30% less CPU
            emb = store.embedder.encode([texts[ids[p]] for p in sel], batch_size=64)
        metas = []
        for p in sel:
            r = items.iloc[p]
            m: dict[str, Any] = {"title": str(r["title"]), "categories": "|".join(r["categories"]),
                                 "description": str(r["description"] or ""), "pos": int(p),
                                 "sha": text_sha(texts[ids[p]])}
            if not pd.isna(r["year"]):
                m["year"] = int(r["year"])
            metas.append(m)
        store._call(store._items_col.upsert, ids=[ids[p] for p in sel], embeddings=emb, metadatas=metas,
                    documents=[texts[ids[p]] for p in sel])
        bar.update(task, advance=len(sel))
    return len(ids), len(todo)

"""Writes after ingest: adding events (owned, idempotent, changes reported) and forgetting a user.

Ownership: an event's stored id always starts with its user's prefix (:mod:`evorec.tools.store.ids`), so an
id sent for one user can never address another user's event, whatever it contains. A re-sent event (same id)
is a *duplicate* when it is identical, and *changed* (updated in place, keeping its position) when its item,
time or rating differ. Ids stored unscoped by earlier versions still address their own user's event; a write
that would move a record to another user (possible only with records written before ownership existed) is
refused with a conflict.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING

import numpy as np

from evorec.errors import ConflictError, InvalidRequestError, NotFoundError
from evorec.tools.store.ids import decode_event, encode_event, event_ids, scoped_id
from evorec.tools.store.ingest import BATCH, time_vector
from evorec.tools.store.records import EventIn, IngestReport

if TYPE_CHECKING:
    from evorec.tools.store.history import HistoryStore

ADDED_ROW_BASE = 10**15  # rows of adaptively added events sort after the dataset's own rows at the same second


def _same_rating(a: float | None, b: float | None) -> bool:
    a = None if a is None or math.isnan(a) else float(a)
    b = None if b is None or math.isnan(b) else float(b)
    return a == b


def add_events(store: HistoryStore, events: list[EventIn]) -> IngestReport:
    """See :meth:`HistoryStore.add_events`."""
    start = time.perf_counter()
    report = IngestReport(dataset=store.dataset)
    if not events:
        return report
    items = store._items()
    if not items.count:
        raise NotFoundError(f"dataset {store.dataset!r} is not ingested; run: evorec ingest --dataset "
                            f"{store.dataset}")
    unknown = sorted({e.item_id for e in events if e.item_id not in items.index})
    if unknown:
        raise InvalidRequestError(f"unknown item id(s) {', '.join(map(repr, unknown[:5]))} "
                                  f"(not in the {store.dataset} catalog)")
    ts = [e.ts for e in events]
    auto = event_ids([e.user_id for e in events], [e.item_id for e in events], ts)
    stored: list[str] = []
    client: list[str | None] = []  # the client's own id where it differs from the stored one
    for e, a in zip(events, auto, strict=True):
        sid = a if e.event_id is None else scoped_id(e.user_id, e.event_id)
        stored.append(sid)
        client.append(e.event_id if e.event_id is not None and e.event_id != sid else None)
    legacy = [c for c in client if c is not None]
    got = store._call(store._events_col.get, ids=list(dict.fromkeys(stored + legacy)), include=["metadatas"])
    existing = {i: m for i, m in zip(got["ids"], got["metadatas"], strict=True)}
    for k, e in enumerate(events):
        c = client[k]
        if stored[k] not in existing and c is not None and c in existing and existing[c].get("user_id") == e.user_id:
            stored[k], client[k] = c, None  # this user's record under an unscoped id written by an earlier version
        old = existing.get(stored[k])
        if old is not None and old.get("user_id") != e.user_id:
            raise ConflictError(f"event id {e.event_id or stored[k]!r} belongs to another user's record written "
                                f"before event ownership existed; send this event with another id")
    if len(set(stored)) != len(stored):
        raise InvalidRequestError("duplicate event_id within one request")
    base = ADDED_ROW_BASE + time.time_ns() // 1000
    write: list[int] = []
    metas = []
    for k, e in enumerate(events):
        old = existing.get(stored[k])
        if old is None:
            row = base + k
            report.events_written += 1
        else:
            _, item, ots, row, rating = decode_event(old)
            if item == e.item_id and ots == ts[k] and _same_rating(rating, e.rating):
                report.events_skipped += 1
                continue
            report.events_changed += 1
            if client[k] is None and old.get("cid"):
                client[k] = str(old["cid"])
        write.append(k)
        metas.append(encode_event(e.user_id, e.item_id, ts[k], row, e.rating, client[k]))
    for s in range(0, len(write), BATCH):
        sel = write[s:s + BATCH]
        store._call(store._events_col.upsert, ids=[stored[k] for k in sel],
                    embeddings=time_vector(np.array([ts[k] for k in sel])), metadatas=metas[s:s + BATCH])
    users = {events[k].user_id for k in write}
    if users:
        store._written(users)
    report.items_total = items.count
    report.events_total = len(events)
    report.users_touched = len({e.user_id for e in events})
    report.event_ids = [e.event_id if e.event_id is not None else stored[k] for k, e in enumerate(events)]
    report.seconds = round(time.perf_counter() - start, 4)
    return report


def delete_user(store: HistoryStore, user_id: str, tombstone: bool = True) -> tuple[int, bool]:
    """Delete every event of ``user_id`` and (``tombstone``) record the user as forgotten.
    Returns (events deleted, whether a new tombstone was written)."""
    user_id = str(user_id)
    got = store._call(store._events_col.get, where={"user_id": user_id}, include=[])
    ids = got["ids"]
    for s in range(0, len(ids), BATCH):
        store._call(store._events_col.delete, ids=ids[s:s + BATCH])
    new = store.state.add_tombstone(store.dataset, user_id) if tombstone else False
    store._written([user_id], refetch=False)
    return len(ids), new

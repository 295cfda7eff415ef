"""``POST /v1/events``: ingest interactions (one or a batch); adaptive, idempotent.

The next answer for those users reflects the events at once (history, trends, the
forecaster's input sequence), with no retraining. Every event has an id (the caller's,
or one derived from user, item and time), and the store upserts by id: re-sending a
batch, e.g. after a crash or a timeout, never duplicates anything.
"""

from __future__ import annotations

import time

from fastapi import APIRouter, Body, Depends

from evorec.serving.api.auth import Principal, check_user, require_principal
from evorec.serving.api.deps import get_metrics, get_services
from evorec.serving.api.engines import Engines
from evorec.serving.api.metrics import ApiMetrics
from evorec.serving.api.protocol import EventBatch, EventIn, EventsAccepted
from evorec.tools import StoreEvent, event_ids

router = APIRouter(tags=["events"])


def to_store_events(events: list[EventIn]) -> list[StoreEvent]:
    """Store events with every id explicit: the caller's, else the store's own ``user|item|ts`` scheme."""
    ts = [int(e.ts) for e in events]  # type: ignore[arg-type]  # resolved: unix seconds
    auto = event_ids([e.user_id for e in events], [e.item_id for e in events], ts)
    return [StoreEvent(event_id=e.event_id or a, user_id=e.user_id, item_id=e.item_id, timestamp=t, rating=e.rating)
            for e, a, t in zip(events, auto, ts, strict=True)]


@router.post("/v1/events", response_model=EventsAccepted,
             responses={400: {"description": "Unknown item ids"}, 401: {}, 403: {}, 503: {}})
def ingest(body: EventBatch | EventIn = Body(...), principal: Principal = Depends(require_principal),
           services: Engines = Depends(get_services), metrics: ApiMetrics = Depends(get_metrics)) -> EventsAccepted:
    t0 = time.perf_counter()
    now = int(time.time())
    events = [e.resolved(now) for e in (body.events if isinstance(body, EventBatch) else [body])]
    users = list(dict.fromkeys(e.user_id for e in events))
    for user in users:
        check_user(principal, user)
    store_events = to_store_events(events)
    with services.write_lock:
        report = services.toolbox.add_events(store_events)
    added = int(report.events_written)
    metrics.events.inc(added)
    return EventsAccepted(received=len(events), added=added, duplicates=int(report.events_skipped), users=users,
                          event_ids=[e.event_id or "" for e in store_events],
                          took_ms=round((time.perf_counter() - t0) * 1000, 1))

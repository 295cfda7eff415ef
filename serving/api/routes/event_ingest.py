"""``POST /v1/events``: ingest interactions (one or a batch); adaptive, idempotent, owned.

The next answer for those users reflects the events at once (history, trends, the
forecaster's input sequence), with no retraining. Every event has an id (the caller's,
or one derived from user, item and time), and the store upserts by id: re-sending a
batch, e.g. after a crash or a timeout, never duplicates anything; a re-send that differs
is reported as ``changed``. Ids are scoped to their user by the store, so an id sent for one
user never reaches another user's event (``evorec.tools.store.ids``).
"""

from __future__ import annotations

import time

from fastapi import APIRouter, Body, Depends

from evorec.serving.api.auth import Principal, check_user, require_principal
from evorec.serving.api.deps import get_metrics, get_services
from evorec.serving.api.engines import Engines
from evorec.serving.api.links import EVENTS_LINKS
from evorec.serving.api.metrics import ApiMetrics
from evorec.serving.api.protocol import EventBatch, EventIn, EventsAccepted
from evorec.tools import StoreEvent

router = APIRouter(tags=["events"])


def to_store_events(events: list[EventIn]) -> list[StoreEvent]:
    """Store events; the store scopes the caller's ids to their user and derives the missing ones."""
    return [StoreEvent(event_id=e.event_id or None, user_id=e.user_id, item_id=e.item_id,
                       timestamp=int(e.ts), rating=e.rating)  # type: ignore[arg-type]  # resolved: unix seconds
            for e in events]


@router.post("/v1/events", response_model=EventsAccepted,
             responses={200: {"links": EVENTS_LINKS}, 400: {"description": "Unknown item ids"}, 401: {}, 403: {},
                        503: {}})
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
        report = services.toolbox.add_events([*store_events])  # (a list of the union the method takes)
    added = int(report.events_written)
    metrics.events.inc(added)
    return EventsAccepted(received=len(events), added=added, duplicates=int(report.events_skipped),
                          changed=int(report.events_changed), users=users, event_ids=list(report.event_ids),
                          took_ms=round((time.perf_counter() - t0) * 1000, 1))

"""The engine's only input: a user's events as (ts, categories, event_id), independent of any store."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, Field

from evorec.errors import InvalidRequestError


class TrendEvent(BaseModel):
    ts: int = Field(description="Unix seconds.")
    categories: list[str] = Field(default_factory=list)
    event_id: str = ""
    item_id: str | None = None


def _one(e: Any, i: int) -> TrendEvent:
    if isinstance(e, TrendEvent):
        return e
    if isinstance(e, Mapping):
        ts, cats, eid, item = e.get("ts"), e.get("categories"), e.get("event_id", ""), e.get("item_id")
    elif isinstance(e, tuple | list):
        if len(e) < 2:
            raise InvalidRequestError(f"event {i}: expected (ts, categories, event_id), got {e!r}")
        ts, cats = e[0], e[1]
        eid = e[2] if len(e) > 2 else ""
        item = e[3] if len(e) > 3 else None
    else:  # any object with the attributes, e.g. the history store's HistoryEvent
        ts, cats = getattr(e, "ts", None), getattr(e, "categories", None)
        eid, item = getattr(e, "event_id", ""), getattr(e, "item_id", None)
    if ts is None:
        raise InvalidRequestError(f"event {i} has no timestamp")
    if isinstance(cats, str):
        cats = [c for c in cats.split("|") if c]
    try:
        return TrendEvent(ts=int(ts), categories=[str(c) for c in (cats or [])], event_id=str(eid or ""),
                          item_id=None if item is None else str(item))
    except (TypeError, ValueError) as err:
        raise InvalidRequestError(f"event {i}: bad timestamp {ts!r}") from err


def normalise_events(events: Iterable[Any] | None) -> list[TrendEvent]:
    """TrendEvents sorted by time (stable, so same-second events keep their given order).

    Accepts TrendEvent, mappings, (ts, categories, event_id[, item_id]) tuples, or objects with those attributes.
    """
    out = [_one(e, i) for i, e in enumerate(events or [])]
    if any(out[i].ts > out[i + 1].ts for i in range(len(out) - 1)):
        out.sort(key=lambda ev: ev.ts)
    return out

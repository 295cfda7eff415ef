"""Pydantic boundary types of the history store."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from pydantic import BaseModel, Field, field_validator

from evorec.errors import InvalidRequestError
from evorec.tools.evidence import Evidence, evidence_id


def to_unix(value: int | float | str | datetime, field: str = "timestamp") -> int:
    """Unix seconds from an int, a numeric string, an ISO-8601 date/datetime string or a datetime (UTC if naive)."""
    if isinstance(value, bool):
        raise InvalidRequestError(f"{field}: expected unix seconds or an ISO-8601 date, got {value!r}")
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, datetime):
        dt = value
    else:
        text = str(value).strip()
        try:
            return int(float(text))
        except ValueError:
            pass
        try:
            dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidRequestError(f"{field}: {value!r} is neither unix seconds nor an ISO-8601 date") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp())


def iso_date(ts: int) -> str:
    return datetime.fromtimestamp(int(ts), UTC).date().isoformat()


class EventIn(BaseModel):
    """One new interaction (adaptive ingest). ``timestamp``: unix seconds or ISO-8601."""

    user_id: str = Field(min_length=1, max_length=200)
    item_id: str = Field(min_length=1, max_length=200)
    timestamp: int | str
    rating: float | None = Field(None, ge=-1e6, le=1e6)
    event_id: str | None = Field(None, min_length=1, max_length=300)

    @field_validator("user_id", "item_id", mode="before")
    @classmethod
    def _as_str(cls, v: object) -> object:
        return str(v) if isinstance(v, int) and not isinstance(v, bool) else v

    @property
    def ts(self) -> int:
        return to_unix(self.timestamp)


class HistoryEvent(BaseModel):
    event_id: str
    item_id: str
    title: str
    categories: list[str]
    ts: int
    date: str
    rating: float | None = None
    similarity: float | None = Field(None, description="Cosine similarity to the query (semantic search only).")

    def as_evidence(self) -> Evidence:
        """``ev:history:<event id>``: what the person did, when, and the rating if any (second person)."""
        cats = f" ({', '.join(self.categories)})" if self.categories else ""
        numbers: dict[str, float] = {}
        if self.rating is not None and self.rating == self.rating:  # not NaN
            text = f"You rated {self.title}{cats} {float(self.rating):g} on {self.date}"
            numbers["rating"] = float(self.rating)
        else:
            text = f"You chose {self.title}{cats} on {self.date}"
        return Evidence(id=evidence_id("history", self.event_id), kind="history", text=text + ".", numbers=numbers,
                        dates={"date": self.date} if self.date else {}, item_id=self.item_id or None)


class UserHistory(BaseModel):
    user_id: str
    known: bool = Field(description="False when the store has no event of this user.")
    total_events: int = Field(0, description="The user's events in the requested window, before the limit.")
    events: list[HistoryEvent] = Field(default_factory=list, description="Oldest first; by similarity for search.")
    query: str | None = None

    def category_counts(self) -> dict[str, int]:
        return dict(Counter(c for e in self.events for c in e.categories).most_common())

    def summary(self, max_items: int = 5) -> str:
        """The history in second person, titles and dates only (no ids, no similarity scores)."""
        if not self.known:
            return "You have no history here yet."
        if not self.events:
            return "You have nothing in your history for that period."
        if self.query is not None:
            top = "; ".join(f"{e.title} ({e.date})" for e in self.events[:max_items])
            return f"From your history, closest to {self.query!r}: {top}."
        counts = self.category_counts()
        n = len(self.events)
        mix = ", ".join(f"{c} {k / n:.0%}" for c, k in list(counts.items())[:4])
        recent = "; ".join(f"{e.title} ({e.date})" for e in self.events[-max_items:][::-1])
        span = f"your {n} most recent picks" if n < self.total_events else f"all {n} of your picks"
        return (f"In {span}, from {self.events[0].date} to {self.events[-1].date}, you went for {mix}; "
                f"latest: {recent}.")

    @property
    def evidence(self) -> list[Evidence]:
        """``ev:history`` (the summary, with category shares and first/last dates), then one record per event."""
        n = len(self.events)
        counts = Counter(c for e in self.events for c in e.categories)
        shares = {f"share_{c}": round(k / n, 4) for c, k in counts.items()} if n else {}
        dates = {"first": self.events[0].date, "last": self.events[-1].date} if n else {}
        overall = Evidence(id=evidence_id("history"), kind="history", text=self.summary(), numbers=shares, dates=dates)
        return [overall, *(e.as_evidence() for e in self.events)]


class CategoryCounts(BaseModel):
    """A user's events per category per calendar bucket (the input series of trend models)."""

    user_id: str
    known: bool
    bucket: str = Field(description="'week' (ISO weeks, from Monday) or 'month'.")
    starts: list[str] = Field(default_factory=list, description="ISO date each bucket starts, oldest first.")
    totals: list[int] = Field(default_factory=list, description="Events per bucket (an event counts once).")
    counts: dict[str, list[int]] = Field(default_factory=dict, description="Category → events per bucket.")


class ItemHit(BaseModel):
    item_id: str
    title: str
    categories: list[str]
    year: int | None = None
    description: str = ""
    score: float | None = Field(None, description="Cosine similarity to the query text (search only).")

    def describe(self) -> str:
        """One line in the catalog's own words: title, year, categories."""
        about = ", ".join(x for x in (str(self.year or ""), "/".join(self.categories)) if x)
        return f"{self.title}{f' ({about})' if about else ''}"

    @property
    def evidence(self) -> list[Evidence]:
        """``ev:item:<id>``: the catalog entry itself (title, year, categories)."""
        return [Evidence(id=evidence_id("item", self.item_id), kind="item", text=f"{self.describe()}.",
                         numbers={"year": float(self.year)} if self.year else {}, item_id=self.item_id,
                         category=self.categories[0] if self.categories else None)]


class ItemSearch(BaseModel):
    """Catalog items whose text is closest to ``query`` (best first)."""

    query: str
    hits: list[ItemHit] = Field(default_factory=list)

    @property
    def evidence(self) -> list[Evidence]:
        return [e for h in self.hits for e in h.evidence]


class IngestReport(BaseModel):
    dataset: str
    items_total: int = 0
    items_embedded: int = 0
    events_total: int = 0
    events_written: int = 0
    events_skipped: int = Field(0, description="Already in the store, unchanged (idempotent re-send/re-ingest).")
    events_changed: int = Field(0, description="Already in the store under the same id with another item, time "
                                               "or rating: updated in place (re-sent with changes).")
    events_forgotten: int = Field(0, description="Events of forgotten users, not written (tombstones).")
    users_touched: int = 0
    event_ids: list[str] = Field(default_factory=list, description="add_events: each event's id, in order (the "
                                                                   "client's own, else the derived one).")
    replaced: bool = Field(False, description="The store held another version of the dataset and was rebuilt.")
    seconds: float = 0.0


class DeleteReport(BaseModel):
    """What forgetting a user removed, place by place."""

    user_id: str
    events_deleted: int = Field(description="The user's events deleted from the history store.")
    tombstone: bool = Field(False, description="The user is recorded as forgotten: no re-ingest, retrain or "
                                               "restart brings the events back.")
    removed: dict[str, int] = Field(default_factory=dict, description="Entries removed per place.")
    models: str = Field("", description="What happens to models trained while the user was known.")


class StoreStats(BaseModel):
    dataset: str
    mode: str
    location: str
    items: int
    events: int
    users_at_ingest: int | None = None
    fingerprint: str | None = None
    complete: bool = False
    ingested_at: str | None = None

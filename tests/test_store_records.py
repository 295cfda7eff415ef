"""Store boundary types: timestamps in every accepted form, EventIn coercion and rejection."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from evorec.errors import InvalidRequestError
from evorec.tools.store.records import EventIn, HistoryEvent, UserHistory, iso_date, to_unix


@pytest.mark.parametrize(("value", "expected"), [
    (1_700_000_000, 1_700_000_000), ("1700000000", 1_700_000_000), (1.7e9, 1_700_000_000),
    ("2024-03-01", 1_709_251_200), ("2024-03-01T01:00:00Z", 1_709_254_800),
    ("2024-03-01T02:00:00+01:00", 1_709_254_800), (datetime(2024, 3, 1, tzinfo=UTC), 1_709_251_200),
])
def test_to_unix_accepts(value: object, expected: int) -> None:
    assert to_unix(value) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["yesterday", "", "2024-13-01", True])
def test_to_unix_rejects(value: object) -> None:
    with pytest.raises(InvalidRequestError):
        to_unix(value)  # type: ignore[arg-type]


def test_event_in() -> None:
    e = EventIn(user_id=42, item_id=7, timestamp="2024-03-01")  # type: ignore[arg-type]
    assert (e.user_id, e.item_id, e.ts, e.rating, e.event_id) == ("42", "7", 1_709_251_200, None, None)
    with pytest.raises(ValidationError):
        EventIn(user_id="", item_id="1", timestamp=1)
    with pytest.raises(ValidationError):
        EventIn(user_id="u", item_id="1")  # type: ignore[call-arg]
    assert iso_date(1_709_251_200) == "2024-03-01"


def test_history_summary_and_counts() -> None:
    ev = [HistoryEvent(event_id=f"e{i}", item_id=str(i), title=f"T{i}", categories=cats, ts=1_709_251_200 + i * 86400,
                       date=iso_date(1_709_251_200 + i * 86400)) for i, cats in enumerate([["A"], ["A", "B"], ["C"]])]
    h = UserHistory(user_id="u", known=True, total_events=10, events=ev)
    assert h.category_counts() == {"A": 2, "B": 1, "C": 1}
    s = h.summary()
    assert "your 3 most recent picks, from 2024-03-01 to 2024-03-03" in s and s.index("T2") < s.index("T0")
    assert "user" not in s.lower()  # written to the person, in the second person
    assert UserHistory(user_id="x", known=False).summary() == "You have no history here yet."


def test_event_metadata_round_trip_and_legacy_layout() -> None:
    from evorec.tools.store.history import decode_event, encode_event

    m = encode_event("u1", "tt|0042|x", 1_700_000_000, 7, 4.5)
    assert set(m) == {"user_id", "ev"}  # two metadata keys per event: Chroma's cost grows with keys
    assert decode_event(m) == ("u1", "tt|0042|x", 1_700_000_000, 7, 4.5)
    assert decode_event(encode_event("u1", "i", 5, 0, None)) == ("u1", "i", 5, 0, None)
    assert decode_event(encode_event("u1", "i", 5, 0, float("nan")))[4] is None
    legacy = {"user_id": "u1", "item_id": "i9", "ts": 12, "row": 3, "rating": 2.0}
    assert decode_event(legacy) == ("u1", "i9", 12, 3, 2.0)
    assert decode_event({"user_id": "u1", "item_id": "i9", "ts": 12}) == ("u1", "i9", 12, 0, None)

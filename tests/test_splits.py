"""Split protocols: no test event visible in training, validation events only in test-time histories."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evorec.errors import InvalidRequestError
from evorec.tools.data.schema import Dataset
from evorec.tools.data.sequences import SequenceData
from evorec.tools.data.splits import leave_one_out, make_split, temporal_cutoff, temporal_split


def _dataset(rows: list[tuple[str, str, int]], n_items: int = 10) -> Dataset:
    """rows: (user, item, ts) in file order; row numbers follow list order."""
    ints = pd.DataFrame(
        {"user_id": [r[0] for r in rows], "item_id": [r[1] for r in rows], "ts": [r[2] for r in rows],
         "rating": [np.nan] * len(rows), "row": list(range(len(rows)))})
    items = pd.DataFrame({
        "item_id": [f"i{k}" for k in range(n_items)], "title": [f"T{k}" for k in range(n_items)],
        "categories": [["A"] if k % 2 else ["B"] for k in range(n_items)], "description": [""] * n_items,
        "image_path": [""] * n_items, "year": [None] * n_items})
    return Dataset("tiny", ints, items)


def _seq(rows: list[tuple[str, str, int]], n_items: int = 10) -> SequenceData:
    return SequenceData.from_dataset(_dataset(rows, n_items))


def _ids(data: SequenceData, idx: np.ndarray) -> list[str]:
    return data.vocab.decode(idx)


def test_loo_hand_case_and_edge_users() -> None:
    rows = [("a", "i1", 10), ("a", "i2", 20), ("a", "i3", 30), ("a", "i4", 40), ("a", "i5", 50),
            ("b", "i1", 10), ("b", "i2", 20),  # two events: test only
            ("c", "i7", 10)]  # one event: training only
    data = _seq(rows)
    split = leave_one_out(data)
    train = dict(zip(split.train.user_ids, split.train.histories, strict=True))
    assert _ids(data, train["a"].items) == ["i1", "i2", "i3"]
    assert _ids(data, train["b"].items) == ["i1"]
    assert _ids(data, train["c"].items) == ["i7"]
    assert split.valid.user_ids == ["a"]
    assert _ids(data, split.valid.targets) == ["i4"]
    assert _ids(data, split.valid.histories[0].items) == ["i1", "i2", "i3"]
    assert split.test.user_ids == ["a", "b"]
    assert _ids(data, split.test.targets) == ["i5", "i2"]
    assert _ids(data, split.test.histories[0].items) == ["i1", "i2", "i3", "i4"]  # validation event included
    assert split.details["users_train_only"] == 1
    assert split.protocol == "loo"


def test_loo_min_history_drops_short_users() -> None:
    rows = [("a", f"i{k}", 10 * k) for k in range(1, 5)]
    split = leave_one_out(_seq(rows), min_history=3)
    assert split.test.user_ids == ["a"] and split.valid.user_ids == []
    assert len(split.train.histories[0]) == 3  # no valid target → all but the test event
    with pytest.raises(InvalidRequestError):
        leave_one_out(_seq(rows), min_history=0)


def test_ties_follow_file_row_order_deterministically() -> None:
    rows = [("u", "i3", 5), ("u", "i1", 7), ("u", "i2", 7), ("u", "i4", 7)]  # three events in the same second
    data = _seq(rows)
    split = leave_one_out(data)
    assert _ids(data, split.test.targets) == ["i4"]
    assert _ids(data, split.valid.targets) == ["i2"]
    # presenting the file rows in another order with the same row numbers gives the same split
    ds = _dataset(rows)
    ds.interactions = ds.interactions.iloc[::-1].reset_index(drop=True)
    ds.validate()
    again = leave_one_out(SequenceData.from_dataset(ds))
    assert np.array_equal(again.test.targets, split.test.targets)
    assert np.array_equal(again.valid.targets, split.valid.targets)


def test_temporal_hand_case() -> None:
    rows = [("a", "i1", 10), ("a", "i2", 20), ("a", "i3", 30), ("a", "i4", 40), ("a", "i5", 50),
            ("b", "i6", 35), ("b", "i7", 45),  # no past history → never a test case
            ("c", "i8", 10), ("c", "i9", 20)]  # no future → validation/train only
    data = _seq(rows)
    split = temporal_split(data, cutoff_ts=35)
    train = dict(zip(split.train.user_ids, split.train.histories, strict=True))
    assert _ids(data, train["a"].items) == ["i1", "i2"]
    assert _ids(data, train["c"].items) == ["i8"]
    assert "b" not in train
    assert split.test.user_ids == ["a"]
    assert _ids(data, split.test.targets) == ["i4"]  # first event at/after the cut-off
    assert _ids(data, split.test.histories[0].items) == ["i1", "i2", "i3"]
    assert split.valid.user_ids == ["a", "c"]
    assert _ids(data, split.valid.targets) == ["i3", "i9"]
    assert split.details["future_events"] == 4


def test_temporal_cutoff_and_errors() -> None:
    rows = [("a", "i1", 10), ("a", "i2", 20)]
    data = _seq(rows)
    assert temporal_cutoff(data, 0.5) in (10, 20)
    with pytest.raises(InvalidRequestError, match="no user"):
        temporal_split(data, cutoff_ts=5)
    with pytest.raises(InvalidRequestError, match="unknown protocol"):
        make_split(data, "kfold")


def _check_no_leakage(data: SequenceData, protocol: str, cutoff: int | None) -> None:
    split = make_split(data, protocol, cutoff_ts=cutoff)
    full = dict(zip(data.user_ids, data.histories, strict=True))
    train = dict(zip(split.train.user_ids, split.train.histories, strict=True))
    valid_pos: dict[str, int] = {}
    for uid, h, t in zip(split.valid.user_ids, split.valid.histories, split.valid.targets, strict=True):
        f = full[uid]
        assert np.array_equal(f.items[: len(h)], h.items) and f.items[len(h)] == t  # history is a true prefix
        valid_pos[uid] = len(h)
        # the validation event never enters training
        assert (len(train[uid]) if uid in train else 0) <= len(h)
    for uid, h, t in zip(split.test.user_ids, split.test.histories, split.test.targets, strict=True):
        f = full[uid]
        pos = len(h)
        assert np.array_equal(f.items[:pos], h.items) and np.array_equal(f.times[:pos], h.times)
        assert f.items[pos] == t
        n_train = len(train[uid]) if uid in train else 0
        assert n_train <= pos  # the test event and anything after it is not in training
        if uid in valid_pos:
            assert valid_pos[uid] < pos  # the validation event is part of the test-time history
            assert n_train == valid_pos[uid]
        if protocol == "temporal":
            assert f.times[pos] >= cutoff and (pos == 0 or f.times[pos - 1] < cutoff)
    for uid, h in train.items():
        f = full[uid]
        assert np.array_equal(f.items[: len(h)], h.items)
        if protocol == "temporal":
            assert (h.times < cutoff).all()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("uvwxy"), st.integers(0, 9), st.integers(0, 30)), min_size=1, max_size=60),
       st.sampled_from(["loo", "temporal"]), st.integers(5, 25))
def test_no_leakage_property(events: list[tuple[str, int, int]], protocol: str, cutoff: int) -> None:
    rows = [(u, f"i{i}", ts) for u, i, ts in events]
    data = _seq(rows)
    try:
        _check_no_leakage(data, protocol, cutoff if protocol == "temporal" else None)
    except InvalidRequestError as e:
        assert protocol == "temporal" and "no user" in str(e)


def test_synthetic_split_is_clean(synthetic_dataset: Dataset) -> None:
    data = SequenceData.from_dataset(synthetic_dataset)
    _check_no_leakage(data, "loo", None)
    cut = temporal_cutoff(data, 0.8)
    _check_no_leakage(data, "temporal", cut)
    split = leave_one_out(data)
    assert split.details["test_cases"] == len(data.user_ids)

"""The same-day co-occurrence signal: counts by hand, bulk days skipped, and the evidence a rationale cites."""

from __future__ import annotations

import numpy as np

from evorec.tools.data.sequences import History, ItemVocab
from evorec.tools.ranking.explain import ExplainContext, explain_item
from evorec.tools.ranking.index import DAY, SAME_DAY_MAX, RankingIndex, build_same_day, last_day_items
from evorec.tools.ranking.signals import compute_signals


def h(items: list[int], days: list[float]) -> History:
    return History(np.asarray(items, np.int64), (np.asarray(days) * DAY).astype(np.int64))


def test_same_day_counts_users_days_not_windows() -> None:
    hs = [h([1, 2, 3], [0, 0.5, 1]),  # 1 and 2 share day 0; 3 is the next day
          h([2, 1], [5.1, 5.9]),  # 1 and 2 again, another user
          h([4, 3], [7, 9])]  # adjacent events on different days: not counted
    s = build_same_day(hs, 5).toarray()
    assert s[1, 2] == s[2, 1] == 2
    assert s[1, 3] == s[2, 3] == s[3, 4] == 0
    assert np.all(np.diag(s) == 0)


def test_a_bulk_day_is_skipped_and_the_last_day_is_read_from_the_end() -> None:
    n = SAME_DAY_MAX + 5
    bulk = h(list(range(1, n + 1)), [0.0] * n)
    assert build_same_day([bulk], n).nnz == 0
    assert last_day_items(h([1, 2, 3, 4], [0, 1, 2.2, 2.8])).tolist() == [3, 4]
    assert last_day_items(History(np.zeros(0, np.int64), np.zeros(0, np.int64))).tolist() == []


def test_the_rationale_cites_the_same_day_record_with_its_count() -> None:
    n = 6
    vocab = ItemVocab(["<pad>", *[f"i{k}" for k in range(1, n + 1)]])
    titles = ["", "Tent", "Stove", "Lamp", "Rope", "Map", "Boots"]
    train = [h([1, 2], [0, 0.1]), h([2, 1], [3, 3.2]), h([5, 6], [4, 8]), h([1, 2, 4], [9, 9.1, 20])]
    index = RankingIndex.from_arrays(vocab, [], titles, [[] for _ in range(n + 1)], np.zeros((n + 1, 0), bool),
                                     np.full(n + 1, -1), train)
    user = h([5, 1], [30, 40])  # last day: the tent alone
    sig = compute_signals(index, "u", user)
    assert sig.same_day[2] == 3 and sig.same_day[6] == 0  # three users had the stove on the tent's day
    evidence, text = explain_item(index, sig, 2, ExplainContext(user_id="u"))
    same = [e for e in evidence if e.kind == "same_day"]
    assert same and same[0].id == "ev:same_day:i2" and same[0].numbers["count"] == 3
    assert "on the same day" in text["en"] and "Tent" in text["en"] and "i2" not in text["en"]
    evidence6, _ = explain_item(index, sig, 6, ExplainContext(user_id="u"))  # no shared day: no such record
    assert not [e for e in evidence6 if e.kind == "same_day"]

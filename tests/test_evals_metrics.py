"""Ranking metrics against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from evorec.evals.metrics import (
    beyond_accuracy,
    coverage,
    hit_rate,
    mrr,
    ndcg,
    novelty,
    ranking_metrics,
    seen_mask,
    target_ranks,
    top_k,
)
from evorec.tools.data.sequences import History
from evorec.tools.models.pop import item_user_counts


def _h(*items: int) -> History:
    return History(items=np.array(items, dtype=np.int64), times=np.arange(len(items), dtype=np.int64))


def test_rank_masks_history_but_not_target() -> None:
    # 6 items (cols 1..6). Case 0: history {1, 2}; item 2 scores highest but is seen → target 3 ranks 1st.
    # Case 1: target 4 is re-consumed (also in history) and must stay rankable: items 5 > 4 → rank 2.
    scores = np.array([[9.0, 5.0, 8.0, 4.0, 1.0, 0.0, 2.0],
                       [9.0, 0.0, 1.0, 2.0, 3.0, 7.0, 0.5]])
    ranks = target_ranks(scores, [_h(1, 2), _h(4, 1)], np.array([3, 4]))
    assert ranks.tolist() == [1, 2]


def test_ties_are_pessimistic_and_padding_ignored() -> None:
    # target 2 ties with items 1 and 3: pessimistic rank 3 (both tied items counted ahead of it)
    scores = np.array([[100.0, 1.0, 1.0, 1.0, 0.0]])
    assert target_ranks(scores, [_h()], np.array([2])).tolist() == [3]
    # constant scorer: every target is last among the 4 candidates
    assert target_ranks(np.zeros((1, 5)), [_h()], np.array([1])).tolist() == [4]
    # NaN / -inf scores rank last but remain candidates; seen items never count
    scores = np.array([[0.0, np.nan, 2.0, -np.inf, 5.0]])
    assert target_ranks(scores, [_h(4)], np.array([1])).tolist() == [3]


def test_hand_computed_metric_values() -> None:
    ranks = np.array([1, 3, 7, 12, 30])
    assert hit_rate(ranks, 5) == pytest.approx(2 / 5)
    assert hit_rate(ranks, 10) == pytest.approx(3 / 5)
    assert hit_rate(ranks, 20) == pytest.approx(4 / 5)
    assert ndcg(ranks, 5) == pytest.approx((1.0 + 1 / math.log2(4)) / 5)
    assert ndcg(ranks, 10) == pytest.approx((1.0 + 0.5 + 1 / 3) / 5)
    assert ndcg(ranks, 20) == pytest.approx((1.0 + 0.5 + 1 / 3 + 1 / math.log2(13)) / 5)
    assert mrr(ranks) == pytest.approx((1 + 1 / 3 + 1 / 7 + 1 / 12 + 1 / 30) / 5)
    m = ranking_metrics(ranks, ks=(5, 10))
    assert set(m) == {"HR@5", "NDCG@5", "MRR@5", "HR@10", "NDCG@10", "MRR@10", "MRR"}
    assert m["MRR@10"] == pytest.approx((1 + 1 / 3 + 1 / 7) / 5)  # ranks 12 and 30 count 0, unlike in MRR
    assert m["MRR@5"] == pytest.approx((1 + 1 / 3) / 5)
    assert ranking_metrics(np.array([], dtype=np.int64))["MRR"] == 0.0


def test_top_k_excludes_seen_and_breaks_ties_by_index() -> None:
    scores = np.array([[50.0, 3.0, 3.0, 9.0, 3.0, 1.0]])
    top = top_k(scores, [_h(3)], 3)
    assert top.tolist() == [[1, 2, 4]]
    # fewer unseen items than k: padded with -1
    top = top_k(np.array([[0.0, 1.0, 2.0]]), [_h(2)], 3)
    assert top.tolist() == [[1, -1, -1]]


def test_coverage_and_novelty() -> None:
    top = np.array([[1, 2], [1, 3]])
    assert coverage(top, n_items=10) == pytest.approx(0.3)
    counts = item_user_counts([_h(1, 1, 2), _h(1), _h(3, 1)], n_items=4)
    assert counts.tolist() == [0, 3, 1, 1, 0]
    # p = (u+1)/(U+1): item1 4/4, item2 2/4, item3 2/4 → self-info 0, 1, 0, 1 → mean 0.5
    assert novelty(top, counts, n_users=3) == pytest.approx(0.5)
    out = beyond_accuracy(top, counts, 3, 10, ks=(1, 2))
    assert out["Coverage@1"] == pytest.approx(0.1) and out["Novelty@1"] == pytest.approx(0.0)


def test_seen_mask_and_input_checks() -> None:
    m = seen_mask([_h(1, 2), _h()], 4, targets=np.array([2, 3]))
    assert m.tolist() == [[True, True, False, False], [True, False, False, False]]
    with pytest.raises(ValueError):
        target_ranks(np.zeros((1, 4)), [_h()], np.array([0]))
    with pytest.raises(ValueError):
        target_ranks(np.zeros((2, 4)), [_h()], np.array([1]))

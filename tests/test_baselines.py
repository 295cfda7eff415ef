"""Baselines (pop, recent_pop, itemknn, markov): hand-checkable behaviour and the shared interface."""

from __future__ import annotations

import numpy as np
import pytest

from evorec.evals.metrics import ranking_metrics, target_ranks
from evorec.tools.data.schema import Dataset
from evorec.tools.data.sequences import History, ItemVocab, SequenceData
from evorec.tools.data.splits import leave_one_out
from evorec.tools.models import available_models, create_model
from evorec.tools.models.base import ValidationSet
from evorec.tools.models.itemknn import ItemKNN
from evorec.tools.models.markov import Markov
from evorec.tools.models.pop import Pop, validation_ndcg10
from evorec.tools.models.recent_pop import DAY, RecentPop

BASELINES = ["pop", "recent_pop", "itemknn", "markov"]


def _h(items: list[int], times: list[int] | None = None) -> History:
    t = times if times is not None else list(range(len(items)))
    return History(items=np.array(items, dtype=np.int64), times=np.array(t, dtype=np.int64))


def _data(histories: list[History], n_items: int = 6) -> SequenceData:
    vocab = ItemVocab(["<pad>", *[f"i{k}" for k in range(1, n_items + 1)]])
    return SequenceData(vocab, ["A"], np.zeros((n_items + 1, 1), np.float32),
                        [f"u{k}" for k in range(len(histories))], histories)


def test_registered() -> None:
    assert set(BASELINES) <= set(available_models())


def test_pop_counts_and_top() -> None:
    m = Pop()
    m.fit(_data([_h([1, 2, 2]), _h([2, 3])]), progress=False)
    s = m.full_sort_predict([_h([1]), _h([])])
    assert s.shape == (2, 7) and s[0].tolist() == [0, 1, 3, 1, 0, 0, 0]
    idx, counts = m.top(2, exclude=np.array([2]))
    assert idx.tolist() == [1, 3] and counts.tolist() == [1.0, 1.0]  # tie broken by lower index
    with pytest.raises(ValueError):
        Pop(bogus=1)


def test_recent_pop_decays_and_never_looks_ahead() -> None:
    # item 1 popular long ago, item 2 popular recently; item 3 only appears after the query time
    old = [_h([1], [0]) for _ in range(5)]
    recent = [_h([2], [100 * DAY]) for _ in range(2)]
    future = [_h([3], [200 * DAY]) for _ in range(9)]
    m = RecentPop(half_life_days=7)
    m.fit(_data(old + recent + future), progress=False)
    s = m.full_sort_predict([_h([4], [101 * DAY])])[0]
    assert s[2] > s[1] > s[3]  # recent beats old; the future item scores as never seen
    m_flat = RecentPop(half_life_days=float("inf"))
    m_flat.fit(_data(old + recent + future), progress=False)
    s = m_flat.full_sort_predict([_h([4], [101 * DAY])])[0]
    assert s[1] > s[2] > s[3]  # no decay: plain popularity up to the request time


def test_recent_pop_tunes_half_life_on_validation() -> None:
    old = [_h([1], [0]) for _ in range(5)]
    recent = [_h([2], [100 * DAY]) for _ in range(2)]
    valid = ValidationSet([_h([4], [101 * DAY])] * 3, np.array([2, 2, 2]))
    m = RecentPop()
    rep = m.fit(_data(old + recent), valid, progress=False)
    assert m.half_life_days < 100 and rep.best_valid_ndcg10 == pytest.approx(1.0)
    assert len(rep.history) == len(m.cfg.grid_days)


def test_itemknn_neighbours_and_scores() -> None:
    hists = [_h([1, 2, 5]), _h([1, 2, 6]), _h([1, 3]), _h([4, 5])]
    m = ItemKNN(window=1, n_last=1, recency=1.0, shrink=0.0)
    m.fit(_data(hists), progress=False)
    idx, sims = m.neighbours([1, 4], n=3)
    assert idx[0, 0] == 2  # 1-2 adjacent twice: the strongest neighbour
    assert sims[0, 0] == pytest.approx(2 / np.sqrt(3 * 2))
    assert idx[1].tolist() == [5, 0, 0] and sims[1, 1] == 0.0  # padded
    assert m.score_items(np.array([1]))[2] == pytest.approx(sims[0, 0])
    s = m.full_sort_predict([_h([3, 1])])[0]
    assert int(np.argmax(s)) == 2
    # whole-history co-occurrence: 1 and 5 now co-occur (distance 2)
    m0 = ItemKNN(window=0, n_last=1, recency=1.0, shrink=0.0)
    m0.fit(_data(hists), progress=False)
    assert m0.score_items(np.array([1]))[5] > 0 and m.score_items(np.array([1]))[5] == 0


def test_markov_transitions_with_popularity_backoff() -> None:
    hists = [_h([1, 2]), _h([1, 2]), _h([1, 3]), _h([4, 4, 4, 4])]
    m = Markov(alpha=0.5)
    m.fit(_data(hists), progress=False)
    s = m.full_sort_predict([_h([1]), _h([5]), _h([])])
    assert np.argsort(-s[0])[:2].tolist() == [2, 3]
    assert int(np.argmax(s[1])) == 4 and int(np.argmax(s[2])) == 4  # unseen last item / empty: popularity
    assert np.allclose(s[:, 1:].sum(axis=1), 1.0, atol=1e-5)  # proper distributions
    assert s[0, 6] == 0.0  # never seen anywhere


def test_validation_ndcg_matches_pessimistic_convention() -> None:
    valid = ValidationSet([_h([1])], np.array([1]))  # re-consumed target stays rankable
    assert validation_ndcg10(np.array([[0, 5.0, 1, 1]]), valid) == pytest.approx(1.0)
    valid = ValidationSet([_h([])], np.array([2]))
    assert validation_ndcg10(np.array([[0, 1.0, 1.0, 0]]), valid) == pytest.approx(1 / np.log2(3))


@pytest.mark.parametrize("name", BASELINES)
def test_interface_on_synthetic(name: str, synthetic_dataset: Dataset) -> None:
    data = SequenceData.from_dataset(synthetic_dataset)
    split = leave_one_out(data)
    a, b = create_model(name), create_model(name)
    ra = a.fit(split.train, split.valid, seed=1, progress=False)
    b.fit(split.train, split.valid, seed=1, progress=False)
    sa = a.full_sort_predict(split.test.histories)
    assert sa.shape == (len(split.test.histories), data.n_items + 1)
    assert np.array_equal(sa, b.full_sort_predict(split.test.histories))  # deterministic
    assert ra.model == name and ra.train_seconds >= 0
    m = ranking_metrics(target_ranks(sa, split.test.histories, split.test.targets))
    assert m["HR@20"] > 20 / data.n_items  # better than a random ranking's expectation

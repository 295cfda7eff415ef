"""Scaling to a large catalog: no model (nor the harness) builds a dense [all users x catalog] score matrix.

Amazon Sports (35k users x 18k items) made the popularity baseline peak at 8.6 GB RSS because validation
tuning scored every validation user in one call. These tests fail when any baseline scores more than a
batch of histories at once, or when its traced peak memory grows with the number of users.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from evorec.evals.runner import evaluate_model
from evorec.tools.data.sequences import History, ItemVocab, SequenceData
from evorec.tools.data.splits import leave_one_out
from evorec.tools.models import create_model, pop
from evorec.tools.models.pop import item_user_counts

BASELINES = ["pop", "recent_pop", "itemknn", "markov"]
# fixed where a grid would multiply the runtime without changing the memory path
CONFIGS: dict[str, dict] = {"itemknn": {"window": 5}, "recent_pop": {"grid_days": [7.0, float("inf")]}}


def _data(n_users: int, n_items: int, seed: int = 0) -> SequenceData:
    rng = np.random.default_rng(seed)
    hists = []
    for _ in range(n_users):
        n = int(rng.integers(4, 12))
        items = rng.integers(1, n_items + 1, size=n).astype(np.int64)
        times = np.sort(rng.integers(0, 400 * 86_400, size=n)).astype(np.int64)
        hists.append(History(items=items, times=times))
    vocab = ItemVocab(["<pad>", *[f"i{k}" for k in range(1, n_items + 1)]])
    return SequenceData(vocab, ["A"], np.zeros((n_items + 1, 1), np.float32),
                        [f"u{k}" for k in range(n_users)], hists)


@pytest.mark.parametrize("name", BASELINES)
def test_validation_tuning_scores_in_batches(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pop, "VALID_BATCH", 8, raising=False)
    split = leave_one_out(_data(40, 30))
    model = create_model(name, **CONFIGS.get(name, {}))
    sizes: list[int] = []
    inner = model.full_sort_predict

    def spy(histories: list[History]) -> np.ndarray:
        sizes.append(len(histories))
        return inner(histories)

    monkeypatch.setattr(model, "full_sort_predict", spy)
    report = model.fit(split.train, split.valid, progress=False)
    assert sizes and max(sizes) <= 8, sizes
    assert report.best_valid_ndcg10 is not None and 0.0 <= report.best_valid_ndcg10 <= 1.0


def test_batched_validation_ndcg_equals_the_one_shot_figure() -> None:
    split = leave_one_out(_data(50, 40, seed=1))
    m = create_model("markov", alpha=1.0)
    m.fit(split.train, None, progress=False)
    whole = pop.validation_ndcg10(m.full_sort_predict(split.valid.histories), split.valid)
    assert pop.batched_validation_ndcg10(m.full_sort_predict, split.valid, batch_size=7) == pytest.approx(whole)


@pytest.mark.parametrize("name", BASELINES)
def test_peak_memory_does_not_grow_with_users(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """3,000 users x 6,000 items: one dense float32 score matrix alone is 72 MB (144 MB as float64); fit with
    validation tuning plus scoring every test case must stay far below that."""
    monkeypatch.setattr(pop, "VALID_BATCH", 128, raising=False)
    data = _data(3000, 6000, seed=2)
    split = leave_one_out(data)
    counts = item_user_counts(split.train.histories, data.n_items)
    model = create_model(name, **CONFIGS.get(name, {}))
    tracemalloc.start()
    try:
        model.fit(split.train, split.valid, progress=False)
        evaluate_model(model, split, [10], 128, counts)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 50 * 2**20, f"{name} peaked at {peak / 2**20:.0f} MiB"

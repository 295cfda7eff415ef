"""Fusion ranker: NDCG by hand, weights fitted (not set) and chosen by held-out NDCG, save/load, eval model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_ranking_support import OfflineWorld, offline_world

from evorec.errors import ArtifactError
from evorec.tools.ranking.features import FEATURES
from evorec.tools.ranking.fusion import CANDIDATES, FusionModel, Group, fit_fusion_model, ndcg_at


@pytest.fixture(scope="module")
def world(synthetic_dir: Path) -> OfflineWorld:
    return offline_world(synthetic_dir)


def test_ndcg_by_hand() -> None:
    g1 = Group(X=np.zeros((3, 1)), y=np.array([0, 1, 0]))
    g2 = Group(X=np.zeros((2, 1)), y=np.array([0, 0]))  # target not in the pool: counts 0
    scores = [np.array([0.9, 0.5, 0.1]), np.array([1.0, 0.0])]  # target at rank 2 → 1/log2(3)
    assert ndcg_at([g1, g2], scores) == pytest.approx((1 / np.log2(3)) / 2)
    assert ndcg_at([g1], [np.array([0.1, 0.9, 0.5])]) == pytest.approx(1.0)
    assert ndcg_at([g1], [np.array([0.1, 0.9, 0.5])], k=0) == 0.0


def _planted_groups(n: int, seed: int) -> list[Group]:
    """Pools where the target is the row with the largest feature 2 (+ noise in the others)."""
    rng = np.random.default_rng(seed)
    groups = []
    for _ in range(n):
        X = rng.normal(size=(30, len(FEATURES)))
        y = np.zeros(30, np.int64)
        y[int(np.argmax(X[:, 2]))] = 1
        groups.append(Group(X=X, y=y))
    return groups


def test_fitted_weights_recover_the_planted_signal_and_choice_is_by_holdout(tmp_path: Path) -> None:
    groups = _planted_groups(120, 0)
    model, summary = fit_fusion_model(groups, FEATURES, seed=0)
    assert set(summary.holdout_ndcg10) == set(CANDIDATES)
    assert summary.chosen == max(summary.holdout_ndcg10, key=lambda k: summary.holdout_ndcg10[k])
    test = _planted_groups(40, 1)
    assert ndcg_at(test, [model.score(g.X) for g in test]) > 0.8
    if model.kind != "hgb":
        w = model.weights()
        assert max(w, key=lambda f: abs(w[f])) == FEATURES[2]
    model.save(tmp_path / "m")
    again = FusionModel.load(tmp_path / "m")
    assert np.allclose(again.score(test[0].X), model.score(test[0].X))


def test_each_family_round_trips(tmp_path: Path) -> None:
    groups = _planted_groups(30, 2)
    for name in CANDIDATES:
        m, _ = fit_fusion_model(groups, FEATURES, candidates=[name])
        m.save(tmp_path / name)
        assert np.allclose(FusionModel.load(tmp_path / name).score(groups[0].X), m.score(groups[0].X))


def test_missing_or_broken_artifacts_are_artifact_errors(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="no fusion model"):
        FusionModel.load(tmp_path)
    (tmp_path / "model.json").write_text("{not json")
    with pytest.raises(ArtifactError, match="unreadable"):
        FusionModel.load(tmp_path)


def test_too_few_positive_pools_is_a_clear_error() -> None:
    groups = [Group(X=np.zeros((5, len(FEATURES))), y=np.zeros(5, np.int64)) for _ in range(10)]
    with pytest.raises(ArtifactError, match="validation users have their target"):
        fit_fusion_model(groups, FEATURES)


def test_eval_model_ranks_its_pool_first_and_scores_the_full_catalog(world: OfflineWorld) -> None:
    from evorec.tools.data.splits import leave_one_out
    from evorec.tools.models import create_model

    split = leave_one_out(world.data)
    m = create_model("fusion", fitted_forecaster=world.forecaster, use_trends=False)
    report = m.fit(split.train, split.valid, progress=False)
    assert report.best_valid_ndcg10 is not None
    hs = split.test.histories[:8]
    s = m.full_sort_predict(hs)
    assert s.shape == (8, world.data.n_items + 1) and np.isneginf(s[:, 0]).all()
    for row, h in zip(s, hs, strict=True):
        assert (row[h.items] < 0).all() and (row[1:] >= 0).sum() >= 20  # seen items below the pool


def test_eval_model_fits_on_bounded_batches_of_validation_signals(world: OfflineWorld,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Signals hold several catalog-sized arrays per user: the fit computes them a batch at a time and on at most
    ``max_fit_cases`` validation cases (a large catalog's users x items signals would not fit in memory)."""
    from evorec.tools.data.splits import leave_one_out
    from evorec.tools.models import create_model, fusion

    split = leave_one_out(world.data)
    assert len(split.valid.targets) > 40
    seen: list[int] = []
    inner = fusion.batch_signals

    def spy(index, users, histories, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(len(histories))
        return inner(index, users, histories, *args, **kwargs)

    monkeypatch.setattr(fusion, "batch_signals", spy)
    monkeypatch.setattr(fusion, "SIGNAL_BATCH", 16, raising=False)
    m = create_model("fusion", fitted_forecaster=world.forecaster, use_trends=False, max_fit_cases=40)
    m.fit(split.train, split.valid, progress=False)
    assert seen and max(seen) <= 16 and sum(seen) == 40, seen

"""The fused ranker as an evaluation model (``--models forecaster,fusion``), constraints off.

``fit`` trains the forecaster on the training histories (early stopping on the validation
targets, exactly as the ``forecaster`` model does), builds the ranking index from the
training histories, then fits the fusion weights on the validation targets. ``full_sort_predict``
puts each user's candidate pool first in fused order and everything else after it in
forecaster order, so full-catalog metrics compare like with like.

Config: ``forecaster`` (dict, the forecaster's config), ``use_trends`` (bool, default True),
``exclude_sources`` (list of candidate source names, for ablations), ``sizes`` (pool size per
source), ``fitted_forecaster`` (an already fitted Forecaster to reuse, e.g. in benchmarks),
``candidates`` (fusion families to try), ``catalog_trends`` (bool, default True: the trending source uses the
TRENDS engine's rising catalog items), ``as_of_cases`` (bool, default True: popularity, its trend and catalog
trends as of each case's time, for the validation cases the weights are fitted on and for the test cases),
``max_fit_cases`` (int, default 5000: the fusion weights are fitted on at most this many validation cases, a seeded
random subset when there are more; ML-100K's 943 are all used).

Memory: signals hold several ``[n_items + 1]`` arrays per user, so they are computed ``SIGNAL_BATCH`` users at a
time and only each case's candidate-pool features are kept (Amazon Sports: 35k users x 18k items would be ~50 GB).

Validation stacking: the forecaster is fitted on the training histories with early stopping on the validation
targets; the fusion weights are then fitted on the SAME validation targets (the forecaster's validation scores
are features), so the fusion's held-out choice among families is made on a split of the validation users.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from evorec.tools.candidates import default_sources
from evorec.tools.data.sequences import History, SequenceData
from evorec.tools.models import create_model, register
from evorec.tools.models.base import FitReport, Recommender, ValidationSet
from evorec.tools.ranking.features import FEATURES
from evorec.tools.ranking.fusion import FitSummary, fit_fusion_model
from evorec.tools.ranking.index import RankingIndex
from evorec.tools.ranking.ranker import Ranker
from evorec.tools.ranking.training import batch_signals, build_groups, fit_cold_start


def index_from_sequences(data: SequenceData) -> RankingIndex:
    mh = np.asarray(data.item_categories) > 0
    cats = [[data.category_names[j] for j in np.flatnonzero(row)] for row in mh]
    years = data.item_years if data.item_years is not None else np.full(data.n_items + 1, -1, np.int64)
    titles = list(data.vocab.item_ids)
    return RankingIndex.from_arrays(data.vocab, list(data.category_names), titles, cats, mh, years, data.histories,
                                    data.item_text_emb)


SIGNAL_BATCH = 256


def validation_groups(index: RankingIndex, valid: ValidationSet, predict: Any, sources: list, use_trends: bool,
                      batch: int | None = None) -> list:
    """Candidate-pool feature groups of the validation cases, ``batch`` users' signals alive at a time."""
    batch = batch or SIGNAL_BATCH
    users = valid.user_ids or [str(i) for i in range(len(valid.histories))]
    targets = np.asarray(valid.targets)
    groups = []
    for lo in range(0, len(users), batch):
        sigs = batch_signals(index, users[lo:lo + batch], list(valid.histories[lo:lo + batch]),
                             [None] * len(users[lo:lo + batch]), predict, use_trends=use_trends, batch=batch)
        groups += build_groups(index, sigs, targets[lo:lo + batch], sources)
    return groups


@register
class FusionRecommender(Recommender):
    name = "fusion"

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        self.forecaster: Any = config.get("fitted_forecaster")
        self.use_trends = bool(config.get("use_trends", True))
        self.exclude = list(config.get("exclude_sources", []) or [])
        self.sizes = dict(config.get("sizes", {}) or {})
        self.ranker: Ranker | None = None
        self.summary: FitSummary | None = None

    def fit(self, train: SequenceData, valid: ValidationSet | None = None, *, seed: int = 0,
            progress: bool = True) -> FitReport:
        t0 = time.perf_counter()
        if valid is None or not len(valid.histories):
            raise ValueError("the fusion model fits its weights on a validation split; pass one")
        if self.forecaster is None:
            self.forecaster = create_model("forecaster", **dict(self.config.get("forecaster", {}) or {}))
            self.forecaster.fit(train, valid, seed=seed, progress=progress)
        index = index_from_sequences(train)
        if self.config.get("catalog_trends", True):
            index.attach_catalog_trends(train.histories)
        index.per_case = bool(self.config.get("as_of_cases", True))
        sources = default_sources(self.sizes, exclude=self.exclude)
        max_cases = int(self.config.get("max_fit_cases", 5000))
        if len(valid.targets) > max_cases:
            keep = np.sort(np.random.default_rng(seed).choice(len(valid.targets), max_cases, replace=False))
            valid = ValidationSet(histories=[valid.histories[i] for i in keep], targets=np.asarray(valid.targets)[keep],
                                  user_ids=[valid.user_ids[i] for i in keep] if valid.user_ids else [])
        groups = validation_groups(index, valid, self.forecaster.predict, sources, self.use_trends)
        model, self.summary = fit_fusion_model(groups, FEATURES, seed=seed,
                                               candidates=self.config.get("candidates"))
        cold, _ = fit_cold_start(index, np.asarray(valid.targets), seed=seed)
        self.ranker = Ranker(index, model, sources, cold_model=cold)
        secs = time.perf_counter() - t0
        return FitReport(model=self.name, train_seconds=secs, seconds_to_best=secs,
                         best_valid_ndcg10=self.summary.holdout_ndcg10[self.summary.chosen],
                         history=[{f"holdout_ndcg10:{k}": v for k, v in self.summary.holdout_ndcg10.items()}])

    def full_sort_predict(self, histories: list[History]) -> np.ndarray:
        if self.ranker is None:
            raise RuntimeError("fusion model is not fitted")
        index = self.ranker.index
        users = [str(i) for i in range(len(histories))]
        out = np.zeros((len(histories), index.n_items + 1), dtype=np.float32)
        for lo in range(0, len(histories), 256):
            sigs = batch_signals(index, users[lo:lo + 256], histories[lo:lo + 256], [None] * len(users[lo:lo + 256]),
                                 self.forecaster.predict, use_trends=self.use_trends)
            for r, sig in enumerate(sigs):
                out[lo + r] = self.ranker.score_full(sig)
        return out

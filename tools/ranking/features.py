"""Fusion features per (user, candidate), read from the user's signals at the candidates.

Every feature is a number the evidence can explain: the forecaster's log-probability and
rank, how well the item's categories match the forecast mix and its shift, the trend labels
of its categories, co-occurrence and semantic similarity with recent/liked history, how many
people had it on one day with something from the user's last day, catalog popularity and its
recent trend, recency of related history, and which sources proposed it.
"""

from __future__ import annotations

import numpy as np

from evorec.tools.candidates import SOURCE_NAMES
from evorec.tools.candidates.base import CandidatePool
from evorec.tools.ranking.index import RankingIndex
from evorec.tools.ranking.signals import UserSignals

BASE_FEATURES = ["fc_logp", "fc_rrank", "mix_align", "mix_shift", "trend_up", "trend_down", "cooc", "same_day",
                 "semantic", "pop", "pop_trend", "recency"]
FEATURES = BASE_FEATURES + [f"src_{s}" for s in SOURCE_NAMES]


def feature_matrix(index: RankingIndex, sig: UserSignals, items: np.ndarray,
                   membership: np.ndarray | None = None, source_names: list[str] | None = None) -> np.ndarray:
    """float64 [len(items), len(FEATURES)]."""
    items = np.asarray(items, dtype=np.int64)
    cw = index.cat_w[items].astype(np.float64)
    mh = index.cat_mh[items]
    ncat = np.maximum(mh.sum(axis=1), 1)
    rank = sig.fc_rank[items].astype(np.float64)
    cols = [
        sig.fc_logp[items],
        np.where(rank > 0, 1.0 / np.log2(1.0 + np.maximum(rank, 1.0)), 0.0),
        cw @ sig.forecast_mix,
        cw @ (sig.forecast_mix - sig.current_mix),
        (mh @ sig.trend_up) / ncat,
        (mh @ sig.trend_down) / ncat,
        np.log1p(50.0 * sig.cooc[items]),
        np.log1p(sig.same_day[items]),
        sig.semantic[items],
        np.log1p(index.popularity[items]),
        index.pop_trend()[items],
        sig.recency[items],
    ]
    src = np.zeros((len(items), len(SOURCE_NAMES)))
    if membership is not None and source_names is not None:
        for j, name in enumerate(source_names):
            src[:, SOURCE_NAMES.index(name)] = membership[:, j]
    return np.column_stack([*cols, src]) if len(items) else np.zeros((0, len(FEATURES)))


def pool_features(index: RankingIndex, sig: UserSignals, pool: CandidatePool) -> np.ndarray:
    return feature_matrix(index, sig, pool.items, pool.membership, pool.source_names)

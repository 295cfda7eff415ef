"""Trending items (the TRENDS engine's rising catalog items) in the categories the user is moving towards.

The user's rising set: categories the trend models label rising/emerging, plus those whose
forecast share exceeds the current share by ``min_shift``. Cold-start users: every category.
"""

from __future__ import annotations

import numpy as np

from evorec.tools.candidates.base import CandidateSource
from evorec.tools.ranking.index import RankingIndex
from evorec.tools.ranking.signals import UserSignals


class TrendingSource(CandidateSource):
    name = "trending"

    def __init__(self, n: int = 50, min_shift: float = 0.05) -> None:
        super().__init__(n)
        self.min_shift = min_shift

    def rising_categories(self, sig: UserSignals) -> np.ndarray:
        """bool [C]."""
        if sig.cold_start:
            return np.ones(len(sig.trend_up), dtype=bool)
        return (sig.trend_up > 0) | (sig.forecast_mix - sig.current_mix >= self.min_shift)

    def scores(self, index: RankingIndex, sig: UserSignals) -> np.ndarray | None:
        rising = self.rising_categories(sig)
        if not rising.any():
            return None
        in_rising = index.cat_mh[:, rising].any(axis=1)
        if index.catalog_score is not None:  # the TRENDS engine's rising/emerging catalog items
            return np.where(in_rising, index.catalog_score, -np.inf)
        trend = index.pop_trend()  # proxy when catalog trends are unavailable: recent vs previous window
        ok = in_rising & (index.pop_recent > 0) & (trend > 0)
        return np.where(ok, trend, -np.inf)

"""Popularity: the cold-start fallback (and a weak prior for everyone)."""

from __future__ import annotations

import numpy as np

from evorec.tools.candidates.base import CandidateSource
from evorec.tools.ranking.index import RankingIndex
from evorec.tools.ranking.signals import UserSignals


class PopularSource(CandidateSource):
    name = "popular"

    def scores(self, index: RankingIndex, sig: UserSignals) -> np.ndarray | None:
        return np.where(index.popularity > 0, index.popularity, -np.inf)

"""Item-item co-occurrence neighbours of the user's recent (and liked) items."""

from __future__ import annotations

import numpy as np

from evorec.tools.candidates.base import CandidateSource
from evorec.tools.ranking.index import RankingIndex
from evorec.tools.ranking.signals import UserSignals


class CoocSource(CandidateSource):
    name = "cooc"

    def scores(self, index: RankingIndex, sig: UserSignals) -> np.ndarray | None:
        if sig.cold_start:
            return None
        return np.where(sig.cooc > 0, sig.cooc, -np.inf)

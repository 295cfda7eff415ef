"""Semantic neighbours: items whose text embedding is closest to a recent or liked history item."""

from __future__ import annotations

import numpy as np

from evorec.tools.candidates.base import CandidateSource
from evorec.tools.ranking.index import RankingIndex
from evorec.tools.ranking.signals import UserSignals


class SemanticSource(CandidateSource):
    name = "semantic"

    def scores(self, index: RankingIndex, sig: UserSignals) -> np.ndarray | None:
        if sig.cold_start or index.item_emb is None:
            return None
        return np.where(sig.sem_anchor >= 0, sig.semantic, -np.inf)

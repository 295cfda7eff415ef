"""Forecaster top-N: the sequence model's most likely next items."""

from __future__ import annotations

import numpy as np

from evorec.tools.candidates.base import CandidateSource
from evorec.tools.ranking.index import RankingIndex
from evorec.tools.ranking.signals import UserSignals


class ForecasterSource(CandidateSource):
    name = "forecaster"

    def scores(self, index: RankingIndex, sig: UserSignals) -> np.ndarray | None:
        return sig.fc_logp if sig.has_forecaster else None

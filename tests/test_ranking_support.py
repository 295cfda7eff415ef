"""Shared, cached test worlds for the ranking tests (no tests here).

``offline_world``: the small synthetic dataset, a tiny real forecaster (2 epochs), real item text
embeddings, the ranking index and a fusion ranker fitted on the validation targets — built once
per test session and reused by every ranking/candidates test module.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import torch

from evorec.tools.data.loader import load_dataset
from evorec.tools.data.schema import Dataset
from evorec.tools.data.sequences import History, SequenceData
from evorec.tools.forecast.artifacts import item_text_embeddings, serving_split
from evorec.tools.models import create_model
from evorec.tools.ranking.explain import ExplainContext
from evorec.tools.ranking.index import RankingIndex
from evorec.tools.ranking.ranker import Ranker
from evorec.tools.ranking.signals import UserSignals, compute_signals
from evorec.tools.ranking.training import batch_signals, build_groups, fit_cold_start, ratings_by_user

TINY_FORECASTER = {"hidden": 16, "blocks": 1, "heads": 1, "epochs": 2, "device": "cpu", "threads": 1}


@dataclass
class OfflineWorld:
    ds: Dataset
    data: SequenceData
    index: RankingIndex
    forecaster: object
    ranker: Ranker
    ratings: dict[str, np.ndarray]

    def signals(self, user_id: str | None) -> UserSignals:
        """Signals of a dataset user (full history), or of a cold-start user when ``user_id`` is None."""
        if user_id is None:
            return compute_signals(self.index, "nobody", History(np.zeros(0, np.int64), np.zeros(0, np.int64)))
        pos = self.data.user_position()[user_id]
        h = self.data.histories[pos]
        scores, mixes = self.forecaster.predict([h])  # type: ignore[attr-defined]
        return compute_signals(self.index, user_id, h, self.ratings[user_id], fc_scores=scores[0],
                               forecast_mix=mixes[0])

    def context(self, user_id: str) -> ExplainContext:
        return ExplainContext(user_id=user_id)


@cache
def offline_world(synthetic_dir: Path) -> OfflineWorld:
    torch.set_num_threads(1)
    ds = load_dataset("synthetic", path=synthetic_dir)
    data = SequenceData.from_dataset(ds)
    data.item_text_emb = item_text_embeddings(ds, data.vocab)
    train, valid, _, _ = serving_split(data)
    fc = create_model("forecaster", **TINY_FORECASTER)
    fc.fit(train, valid, seed=0, progress=False)
    index = RankingIndex.build(ds, train.histories, data.vocab, data.item_text_emb)
    index.attach_catalog_trends(train.histories)
    rat = ratings_by_user(ds)
    users = list(valid.user_ids)
    sigs = batch_signals(index, users, list(valid.histories), [rat[u][: len(h)] for u, h in
                                                               zip(users, valid.histories, strict=True)],
                         fc.predict, use_trends=False)
    from evorec.tools.candidates import default_sources
    from evorec.tools.ranking.features import FEATURES
    from evorec.tools.ranking.fusion import fit_fusion_model

    sources = default_sources()
    model, _ = fit_fusion_model(build_groups(index, sigs, np.asarray(valid.targets), sources), FEATURES)
    cold, _ = fit_cold_start(index, np.asarray(valid.targets))
    full_index = RankingIndex.build(ds, data.histories, data.vocab, data.item_text_emb)
    full_index.attach_catalog_trends(data.histories)
    return OfflineWorld(ds, data, full_index, fc, Ranker(full_index, model, sources, cold_model=cold), rat)

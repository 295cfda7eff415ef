"""``UserSignals``: one user's full-catalog signal vectors, computed once per request.

Candidate sources pick their top items from these vectors and the fusion features read
them at the candidates, so every source and feature shares one pass over the catalog.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from evorec.tools.data.sequences import History
from evorec.tools.forecast.mix import window_mix
from evorec.tools.ranking.index import RankingIndex, last_day_items

RECENT_ANCHORS = 10  # last events that anchor co-occurrence and semantic neighbours
ANCHOR_DECAY = 0.8  # weight of the k-th most recent anchor: DECAY**k
LIKED_RATING = 4.0  # a rating at or above this makes an older event an anchor too
LIKED_LOOKBACK = 50
RECENCY_SCALE = 10.0  # events; recency feature = exp(-events since the category was last seen / scale)
MIX_HORIZON = 10
RISING_LABELS = ("rising", "emerging")
FADING_LABELS = ("fading", "dormant")


@dataclass
class UserSignals:
    user_id: str
    history: History
    ratings: np.ndarray  # float64 per event, NaN when absent
    seen: np.ndarray  # bool [n+1]
    cold_start: bool
    fc_raw: np.ndarray  # float64 [n+1]: forecaster logits as the model returned them (zeros when none)
    fc_logp: np.ndarray  # float64 [n+1]: forecaster log-probability (zeros when no forecaster)
    fc_rank: np.ndarray  # int64 [n+1]: 1-based forecaster rank among unseen items (0 = no forecaster)
    current_mix: np.ndarray  # float64 [C]
    forecast_mix: np.ndarray  # float64 [C]
    trend_labels: dict[str, str]
    trend_up: np.ndarray  # float64 [C]: 1 for rising/emerging categories
    trend_down: np.ndarray  # float64 [C]: 1 for fading/dormant categories
    anchors: np.ndarray  # positions in history of the anchor events (most recent first)
    cooc: np.ndarray  # float64 [n+1] normalised co-occurrence with the recent anchors
    cooc_raw: np.ndarray  # float64 [n+1] weighted raw counts
    same_day: np.ndarray  # float64 [n+1]: users who had the item on one day with an item of the user's last day
    semantic: np.ndarray  # float64 [n+1] max cosine to an anchor (0 when no embeddings)
    sem_anchor: np.ndarray  # int64 [n+1]: position in history of the most similar anchor (-1 none)
    recency: np.ndarray  # float64 [n+1]
    has_forecaster: bool = True
    as_of: int | None = None  # offline (``index.per_case``): the case's time; catalog-wide signals count up to it
    extras: dict[str, object] = field(default_factory=dict)


def _log_softmax(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    finite = np.isfinite(x)
    m = x[finite].max() if finite.any() else 0.0
    z = np.where(finite, x - m, -np.inf)
    lse = np.log(np.exp(z[finite]).sum()) if finite.any() else 0.0
    out = z - lse
    out[~finite] = -50.0
    return out


def anchor_positions(history: History, ratings: np.ndarray) -> np.ndarray:
    n = len(history)
    recent = list(range(n - 1, max(-1, n - 1 - RECENT_ANCHORS), -1))
    lo = max(0, n - LIKED_LOOKBACK)
    liked = [p for p in range(n - 1 - RECENT_ANCHORS, lo - 1, -1)
             if p >= 0 and np.isfinite(ratings[p]) and ratings[p] >= LIKED_RATING][:RECENT_ANCHORS]
    return np.asarray(recent + liked, dtype=np.int64)


def compute_signals(index: RankingIndex, user_id: str, history: History, ratings: np.ndarray | None = None,
                    fc_scores: np.ndarray | None = None, forecast_mix: np.ndarray | None = None,
                    trend_labels: dict[str, str] | None = None) -> UserSignals:
    n1 = index.n_items + 1
    ratings = np.full(len(history), np.nan) if ratings is None else np.asarray(ratings, dtype=np.float64)
    seen = np.zeros(n1, dtype=bool)
    seen[history.items] = True
    seen[0] = True
    cold = len(history) == 0
    current = window_mix(history.items[-MIX_HORIZON:], index.cat_w)
    has_fc = fc_scores is not None and not cold
    if has_fc:
        assert fc_scores is not None
        logp = _log_softmax(fc_scores)
        logp[0] = -50.0
        order = np.argsort(-np.where(seen, -np.inf, logp), kind="stable")
        rank = np.zeros(n1, dtype=np.int64)
        rank[order] = np.arange(1, n1 + 1)
        rank[seen] = 0
    else:
        logp = np.zeros(n1)
        rank = np.zeros(n1, dtype=np.int64)
    fmix = np.asarray(forecast_mix, dtype=np.float64) if forecast_mix is not None and not cold else current
    labels = dict(trend_labels or {})
    up = np.array([1.0 if labels.get(c) in RISING_LABELS else 0.0 for c in index.category_names])
    down = np.array([1.0 if labels.get(c) in FADING_LABELS else 0.0 for c in index.category_names])

    anchors = anchor_positions(history, ratings) if not cold else np.zeros(0, np.int64)
    a_items = history.items[anchors] if len(anchors) else np.zeros(0, np.int64)
    w = ANCHOR_DECAY ** np.minimum(np.arange(len(anchors)), RECENT_ANCHORS)
    cooc, cooc_raw = index.cooc_scores(a_items, w)
    same_day = index.same_day_scores(last_day_items(history))
    if index.item_emb is not None and len(a_items):
        sims = index.item_emb @ index.item_emb[a_items].T  # [n+1, m]
        best = sims.argmax(axis=1)
        semantic = sims[np.arange(n1), best].astype(np.float64)
        sem_anchor = anchors[best]
        semantic[0] = 0.0
    else:
        semantic = np.zeros(n1)
        sem_anchor = np.full(n1, -1, dtype=np.int64)
    # recency of related history: events since the user last saw any of the item's categories
    cat_age = np.full(len(index.category_names), np.inf)
    for age, item in enumerate(history.items[::-1][:200]):
        cats = index.cat_mh[item]
        cat_age[cats] = np.minimum(cat_age[cats], age)
    cat_rec = np.exp(-cat_age / RECENCY_SCALE)
    recency = (index.cat_mh * cat_rec[None, :]).max(axis=1) if len(cat_rec) else np.zeros(n1)
    raw = np.asarray(fc_scores, dtype=np.float64) if has_fc and fc_scores is not None else np.zeros(n1)
    return UserSignals(user_id=str(user_id), history=history, ratings=ratings, seen=seen, cold_start=cold,
                       fc_raw=raw, fc_logp=logp, fc_rank=rank, current_mix=current, forecast_mix=fmix,
                       trend_labels=labels, trend_up=up, trend_down=down, anchors=anchors, cooc=cooc, cooc_raw=cooc_raw,
                       same_day=same_day,
                       semantic=semantic, sem_anchor=sem_anchor, recency=recency, has_forecaster=has_fc,
                       as_of=int(history.times[-1]) if index.per_case and not cold else None)

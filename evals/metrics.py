"""Exact full-catalog ranking metrics, vectorised with numpy.

Conventions (every model is measured the same way):
- Scores are ``[n_cases, n_items + 1]``; column 0 is padding and never ranked.
- Items already in the case's history are excluded from the ranking (masked), except the
  target itself: a re-consumed target stays rankable.
- Non-finite model scores (NaN, ±inf) are replaced by (lowest finite real-item score - 1), so such
  items rank last but still count as candidates.
- Ties are pessimistic: the target's rank is 1 + the number of *other* candidates whose score is
  greater than or equal to the target's. A constant scorer therefore ranks every target last.
- HR@K (= Recall@K with one target) = 1[rank <= K]; NDCG@K = 1/log2(rank + 1) if rank <= K else 0
  (the ideal DCG with one target is 1); MRR = mean 1/rank over the full ranking (not truncated);
  MRR@K = mean of 1/rank when rank <= K, else 0.
- Top-K lists (for coverage and novelty) order by score descending, ties by lower item index.
- Coverage@K = distinct items in any case's top-K / catalog size.
- Novelty@K = mean self-information -log2 p(i) of recommended items, p(i) = (u_i + 1) / (U + 1),
  u_i = training users who interacted with i, U = training users (add-one so unseen items are finite).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from evorec.tools.data.sequences import History

DEFAULT_KS: tuple[int, ...] = (5, 10, 20)


def _clean(scores: np.ndarray) -> np.ndarray:
    s = np.array(scores, dtype=np.float64, copy=True)
    finite = np.isfinite(s)
    if not finite.all():
        real = s[:, 1:][finite[:, 1:]]
        s[~finite] = real.min() - 1.0 if real.size else 0.0
    return s


def seen_mask(histories: Sequence[History], n_cols: int, targets: np.ndarray | None = None) -> np.ndarray:
    """Boolean ``[n_cases, n_cols]``: True for padding and items in each history, never for the target."""
    mask = np.zeros((len(histories), n_cols), dtype=bool)
    mask[:, 0] = True
    if histories:
        rows = np.concatenate([np.full(len(h), r, dtype=np.int64) for r, h in enumerate(histories)])
        cols = np.concatenate([np.asarray(h.items, dtype=np.int64) for h in histories])
        mask[rows, cols] = True
    if targets is not None:
        mask[np.arange(len(histories)), np.asarray(targets, dtype=np.int64)] = False
    return mask


def masked_scores(scores: np.ndarray, histories: Sequence[History], targets: np.ndarray | None = None) -> np.ndarray:
    """A float64 copy with non-finite scores clamped and seen items (not the target) set to -inf."""
    s = _clean(scores)
    s[seen_mask(histories, s.shape[1], targets)] = -np.inf
    return s


def target_ranks(scores: np.ndarray, histories: Sequence[History], targets: np.ndarray) -> np.ndarray:
    """1-based pessimistic rank of each target among the unseen catalog items (int64 ``[n_cases]``)."""
    targets = np.asarray(targets, dtype=np.int64)
    if scores.shape[0] != len(targets) or len(histories) != len(targets):
        raise ValueError(
            f"scores ({scores.shape[0]}), histories ({len(histories)}) and targets ({len(targets)}) differ")
    if (targets < 1).any() or (targets >= scores.shape[1]).any():
        raise ValueError("targets must be real item indices in 1..n_items")
    s = masked_scores(scores, histories, targets)
    t = s[np.arange(len(targets)), targets]
    return (s >= t[:, None]).sum(axis=1).astype(np.int64)


def hit_rate(ranks: np.ndarray, k: int) -> float:
    return float(np.mean(ranks <= k)) if len(ranks) else 0.0


def ndcg(ranks: np.ndarray, k: int) -> float:
    if not len(ranks):
        return 0.0
    gains = np.where(ranks <= k, 1.0 / np.log2(ranks.astype(np.float64) + 1.0), 0.0)
    return float(gains.mean())


def mrr(ranks: np.ndarray) -> float:
    return float(np.mean(1.0 / ranks.astype(np.float64))) if len(ranks) else 0.0


def mrr_at(ranks: np.ndarray, k: int) -> float:
    if not len(ranks):
        return 0.0
    return float(np.mean(np.where(ranks <= k, 1.0 / ranks.astype(np.float64), 0.0)))


def ndcg_per_case(ranks: np.ndarray, k: int) -> np.ndarray:
    return np.where(ranks <= k, 1.0 / np.log2(ranks.astype(np.float64) + 1.0), 0.0)


def top_k(scores: np.ndarray, histories: Sequence[History], k: int) -> np.ndarray:
    """Indices ``[n_cases, k]`` of the best unseen items; ties by lower index. Seen items never appear
    unless fewer than k unseen items exist (then the tail is padded with -1)."""
    s = masked_scores(scores, histories)
    n_cols = s.shape[1]
    k_eff = min(k, n_cols - 1)
    # lexicographic (score desc, index asc): stable argsort of -score keeps index order on ties
    order = np.argsort(-s, axis=1, kind="stable")[:, :k_eff]
    valid = np.isfinite(np.take_along_axis(s, order, axis=1))
    out = np.full((s.shape[0], k), -1, dtype=np.int64)
    out[:, :k_eff] = np.where(valid, order, -1)
    return out


def coverage(top_items: np.ndarray, n_items: int) -> float:
    items = np.unique(top_items[top_items > 0])
    return float(len(items) / n_items) if n_items else 0.0


def novelty(top_items: np.ndarray, user_counts: np.ndarray, n_users: int) -> float:
    items = top_items[top_items > 0]
    if not items.size:
        return 0.0
    p = (user_counts[items].astype(np.float64) + 1.0) / (n_users + 1.0)
    return float(np.mean(-np.log2(p)))


def ranking_metrics(ranks: np.ndarray, ks: Sequence[int] = DEFAULT_KS) -> dict[str, float]:
    out: dict[str, float] = {}
    for k in ks:
        out[f"HR@{k}"] = hit_rate(ranks, k)
        out[f"NDCG@{k}"] = ndcg(ranks, k)
        out[f"MRR@{k}"] = mrr_at(ranks, k)
    out["MRR"] = mrr(ranks)
    return out


def beyond_accuracy(top_items: np.ndarray, user_counts: np.ndarray, n_users: int, n_items: int,
                    ks: Sequence[int] = DEFAULT_KS) -> dict[str, float]:
    """Coverage@K and Novelty@K from top-``max(ks)`` lists."""
    out: dict[str, float] = {}
    for k in ks:
        out[f"Coverage@{k}"] = coverage(top_items[:, :k], n_items)
        out[f"Novelty@{k}"] = novelty(top_items[:, :k], user_counts, n_users)
    return out

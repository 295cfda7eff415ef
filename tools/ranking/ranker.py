"""The ranking step: candidates → fused scores → hard constraints, exactly.

Constraints become an allowed-item mask BEFORE candidates are drawn (so sources fill the
pool with items that can be returned), and every returned item is checked again with
``Constraints.allows``. When the pool holds fewer than k allowed items, every other allowed
item is added in popularity order; fewer than k allowed items in the whole catalog is a
``shortfall``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evorec.errors import ArtifactError, InvalidRequestError
from evorec.tools.candidates import CandidatePool, CandidateSource, cold_start_sources, default_sources, gather
from evorec.tools.constraints import Constraints
from evorec.tools.ranking.features import FEATURES, feature_matrix
from evorec.tools.ranking.fusion import FusionModel
from evorec.tools.ranking.index import RankingIndex, case_index
from evorec.tools.ranking.signals import UserSignals

BACKFILL = "backfill"


@dataclass
class RankOutcome:
    items: np.ndarray  # int64 item indices, best first (at most k)
    scores: np.ndarray  # float64
    sources: list[list[str]]
    features: np.ndarray  # [len(items), F]
    constraints: Constraints  # with category names resolved to the catalog's spelling
    n_allowed: int
    pool_size: int
    shortfall: str | None = None


def resolve_categories(names: list[str], known: list[str]) -> list[str]:
    lower = {c.lower(): c for c in known}
    out = []
    for n in names:
        c = lower.get(str(n).strip().lower())
        if c is None:
            raise InvalidRequestError(f"unknown category {n!r}; known: {', '.join(known)}")
        out.append(c)
    return list(dict.fromkeys(out))


def normalise_constraints(c: Constraints, index: RankingIndex) -> Constraints:
    inc = resolve_categories(c.include_categories, index.category_names)
    exc = resolve_categories(c.exclude_categories, index.category_names)
    if set(inc) & set(exc):
        raise InvalidRequestError(f"categories both included and excluded: {sorted(set(inc) & set(exc))}")
    if inc == c.include_categories and exc == c.exclude_categories:
        return c
    return c.model_copy(update={"include_categories": inc, "exclude_categories": exc})


def allowed_mask(index: RankingIndex, seen: np.ndarray, c: Constraints) -> np.ndarray:
    """bool [n+1]: items the constraints allow (index 0 never)."""
    ok = np.ones(index.n_items + 1, dtype=bool)
    ok[0] = False
    if c.exclude_seen:
        ok &= ~seen
    pos = {name: j for j, name in enumerate(index.category_names)}
    if c.include_categories:
        ok &= index.cat_mh[:, [pos[x] for x in c.include_categories]].any(axis=1)
    if c.exclude_categories:
        ok &= ~index.cat_mh[:, [pos[x] for x in c.exclude_categories]].any(axis=1)
    if c.year_min is not None:
        ok &= (index.years >= 0) & (index.years >= c.year_min)
    if c.year_max is not None:
        ok &= (index.years >= 0) & (index.years <= c.year_max)
    for iid in c.exclude_items:
        i = index.vocab.index.get(str(iid))
        if i is not None:
            ok[i] = False
    return ok


class Ranker:
    def __init__(self, index: RankingIndex, model: FusionModel | None,
                 sources: list[CandidateSource] | None = None, cold_model: FusionModel | None = None) -> None:
        self.index = index
        self.model = model
        self.cold_model = cold_model
        self.sources = sources if sources is not None else default_sources()
        self.cold_sources = cold_start_sources()
        for m in (model, cold_model):
            if m is not None and m.features != FEATURES:
                raise ArtifactError("fusion model was fitted on other features; retrain with `evorec train-fusion`")

    def fallback_scores(self, sig: UserSignals, items: np.ndarray) -> np.ndarray:
        """Order used without fitted weights and for backfill: forecaster log-probability, else popularity."""
        if sig.has_forecaster:
            return sig.fc_logp[items]
        return np.log1p(case_index(self.index, sig.as_of).popularity[items])

    def score(self, sig: UserSignals, pool: CandidatePool) -> tuple[np.ndarray, np.ndarray]:
        X = feature_matrix(case_index(self.index, sig.as_of), sig, pool.items, pool.membership, pool.source_names)
        model = self.cold_model if sig.cold_start else self.model
        s = model.score(X) if model is not None else self.fallback_scores(sig, pool.items)
        return s, X

    def pool(self, sig: UserSignals, allowed: np.ndarray) -> CandidatePool:
        return gather(self.cold_sources if sig.cold_start else self.sources, case_index(self.index, sig.as_of), sig,
                      allowed)

    def rank(self, sig: UserSignals, constraints: Constraints) -> RankOutcome:
        c = normalise_constraints(constraints, self.index)
        allowed = allowed_mask(self.index, sig.seen, c)
        n_allowed = int(allowed.sum())
        pool = self.pool(sig, allowed)
        scores, X = self.score(sig, pool)
        order = np.argsort(-scores, kind="stable")[: c.k * 2 + 10]  # the re-check below never drops more than this
        items = pool.items[order]
        src = [pool.sources_of(int(r)) for r in order]
        feats = X[order]
        out_scores = scores[order]
        if len(items) < c.k and n_allowed > len(items):
            rest = np.flatnonzero(allowed)
            rest = rest[~np.isin(rest, items)]
            fb = self.fallback_scores(sig, rest)
            rest = rest[np.argsort(-fb, kind="stable")][: c.k - len(items)]
            floor = (out_scores.min() if len(out_scores) else 0.0) - 1.0
            rest_scores = floor - np.arange(len(rest)) * 1e-3
            items = np.concatenate([items, rest])
            out_scores = np.concatenate([out_scores, rest_scores])
            src += [[BACKFILL]] * len(rest)
            feats = (np.vstack([feats, feature_matrix(case_index(self.index, sig.as_of), sig, rest)]) if len(rest)
                     else feats)
        # exact re-check with the shared predicate (belt and braces over the mask)
        seen_ids = sig.extras.get("seen_ids")
        if not isinstance(seen_ids, set):
            seen_ids = sig.extras["seen_ids"] = {self.index.vocab.item_ids[i] for i in np.flatnonzero(sig.seen[1:]) + 1}
        keep = [j for j, i in enumerate(items.tolist())
                if c.allows(self.index.vocab.item_ids[i], self.index.item_categories[i],
                            int(self.index.years[i]) if self.index.years[i] >= 0 else None, seen_ids)][: c.k]
        items, out_scores, feats = items[keep], out_scores[keep], feats[keep]
        src = [src[j] for j in keep]
        shortfall = None
        if len(items) < c.k:
            shortfall = (f"only {len(items)} of the requested {c.k} items satisfy the constraints "
                         f"({n_allowed} allowed in a catalog of {self.index.n_items})")
        return RankOutcome(items=items, scores=out_scores, sources=src, features=feats, constraints=c,
                           n_allowed=n_allowed, pool_size=len(pool), shortfall=shortfall)

    def score_full(self, sig: UserSignals) -> np.ndarray:
        """Full-catalog scores for offline evaluation (no constraints): the pool's fused scores above everything
        else, the rest in fallback order below."""
        allowed = ~sig.seen
        allowed[0] = False
        pool = self.pool(sig, allowed)
        out = self.fallback_scores(sig, np.arange(self.index.n_items + 1)).astype(np.float64)
        out = out - out.max() - 1.0
        if len(pool):
            s, _ = self.score(sig, pool)
            out[pool.items] = s - s.min()
        out[0] = -np.inf
        return out

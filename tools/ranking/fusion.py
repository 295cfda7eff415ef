"""The fused ranker: a scorer over :data:`FEATURES`, fitted on validation targets, stored as an artifact.

Model families tried (chosen by NDCG@10 on held-out validation users, then refitted on all):
pointwise logistic regression, pairwise logistic regression (RankNet-style: positive minus
sampled negatives) and sklearn's histogram gradient boosting. No weight is set by hand.
"""

from __future__ import annotations

import json
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression

from evorec.errors import ArtifactError

Kind = Literal["logreg", "pairwise", "hgb"]
MODEL_JSON = "model.json"
MODEL_PICKLE = "model.pkl"


@dataclass
class Group:
    """One validation user: the candidate pool's features and which row (if any) is the held-out target."""

    X: np.ndarray  # float64 [n, F]
    y: np.ndarray  # int [n] 0/1


class FusionModel:
    def __init__(self, kind: Kind, features: list[str], params: dict[str, Any], estimator: Any = None) -> None:
        self.kind = kind
        self.features = list(features)
        self.params = params
        self.estimator = estimator
        if kind != "hgb":
            self._mean = np.asarray(params["mean"], dtype=np.float64)
            self._scale = np.asarray(params["scale"], dtype=np.float64)
            self._coef = np.asarray(params["coef"], dtype=np.float64)
            self._b = float(params.get("intercept", 0.0))

    def score(self, X: np.ndarray) -> np.ndarray:
        if len(X) == 0:
            return np.zeros(0)
        if self.kind == "hgb":
            return np.asarray(self.estimator.predict_proba(X)[:, 1], dtype=np.float64)
        return ((X - self._mean) / self._scale) @ self._coef + self._b

    def weights(self) -> dict[str, float]:
        """Standardised linear weights per feature (empty for tree models)."""
        if self.kind == "hgb":
            return {}
        return {f: round(float(w), 4) for f, w in zip(self.features, self._coef, strict=True)}

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        meta = {"kind": self.kind, "features": self.features, "params": self.params}
        (directory / MODEL_JSON).write_text(json.dumps(meta, indent=2))
        if self.kind == "hgb":
            with open(directory / MODEL_PICKLE, "wb") as fh:
                pickle.dump(self.estimator, fh)

    @classmethod
    def load(cls, directory: Path) -> FusionModel:
        path = directory / MODEL_JSON
        if not path.is_file():
            raise ArtifactError(f"no fusion model at {directory}")
        try:
            meta = json.loads(path.read_text())
            est = None
            if meta["kind"] == "hgb":
                with open(directory / MODEL_PICKLE, "rb") as fh:
                    est = pickle.load(fh)
            return cls(meta["kind"], meta["features"], meta["params"], est)
        except (OSError, ValueError, KeyError, pickle.UnpicklingError) as e:
            raise ArtifactError(f"{directory}: unreadable fusion model ({e.__class__.__name__}); retrain") from None


class FitSummary(BaseModel):
    chosen: str
    holdout_ndcg10: dict[str, float] = Field(description="Held-out validation NDCG@10 per candidate model.")
    forecaster_only_ndcg10: float = Field(description="Same holdout, candidates ordered by the forecaster alone.")
    pool_recall: float = Field(description="Share of validation targets the candidate pool contains.")
    n_users: int
    n_rows: int
    weights: dict[str, float] = Field(default_factory=dict)


def ndcg_at(groups: list[Group], scores: list[np.ndarray], k: int = 10) -> float:
    """Mean NDCG@k with one relevant item per group (0 when the target is not in the pool)."""
    if not groups:
        return 0.0
    total = 0.0
    for g, s in zip(groups, scores, strict=True):
        pos = np.flatnonzero(np.asarray(g.y) > 0)
        if len(pos) == 0:
            continue
        rank = int((s > s[pos[0]]).sum())  # ties resolved in the target's favour only if exact
        if rank < k:
            total += 1.0 / np.log2(rank + 2.0)
    return total / len(groups)


def _stack(groups: list[Group]) -> tuple[np.ndarray, np.ndarray]:
    X = np.vstack([g.X for g in groups]) if groups else np.zeros((0, 0))
    y = np.concatenate([np.asarray(g.y) for g in groups]) if groups else np.zeros(0)
    return X, y


def _standardise(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = X.mean(axis=0)
    scale = X.std(axis=0)
    scale[scale < 1e-9] = 1.0
    return mean, scale


def _fit_logreg(groups: list[Group], features: list[str], C: float, seed: int) -> FusionModel:
    X, y = _stack(groups)
    mean, scale = _standardise(X)
    lr = LogisticRegression(C=C, max_iter=500, random_state=seed)
    lr.fit((X - mean) / scale, y)
    return FusionModel("logreg", features, {"mean": mean.tolist(), "scale": scale.tolist(),
                                            "coef": lr.coef_[0].tolist(), "intercept": float(lr.intercept_[0]),
                                            "C": C})


def _fit_pairwise(groups: list[Group], features: list[str], C: float, seed: int, n_neg: int = 30) -> FusionModel:
    rng = np.random.default_rng(seed)
    X_all, _ = _stack(groups)
    mean, scale = _standardise(X_all)
    diffs = []
    for g in groups:
        y = np.asarray(g.y)
        pos = np.flatnonzero(y > 0)
        neg = np.flatnonzero(y == 0)
        if len(pos) == 0 or len(neg) == 0:
            continue
        pick = rng.choice(neg, size=min(n_neg, len(neg)), replace=False)
        Z = (g.X - mean) / scale
        diffs.append(Z[pos[0]][None, :] - Z[pick])
    if not diffs:
        raise ArtifactError("no validation user has its target in the candidate pool; cannot fit the fusion")
    D = np.vstack(diffs)
    Xp = np.vstack([D, -D])
    yp = np.concatenate([np.ones(len(D)), np.zeros(len(D))])
    lr = LogisticRegression(C=C, max_iter=500, fit_intercept=False, random_state=seed)
    lr.fit(Xp, yp)
    return FusionModel("pairwise", features, {"mean": mean.tolist(), "scale": scale.tolist(),
                                              "coef": lr.coef_[0].tolist(), "intercept": 0.0, "C": C})


def _fit_hgb(groups: list[Group], features: list[str], seed: int) -> FusionModel:
    X, y = _stack(groups)
    est = HistGradientBoostingClassifier(max_iter=150, learning_rate=0.05, max_leaf_nodes=15, min_samples_leaf=40,
                                         l2_regularization=1.0, early_stopping=False, random_state=seed)
    est.fit(X, y)
    return FusionModel("hgb", features, {"max_iter": 150, "learning_rate": 0.05}, est)


CANDIDATES: dict[str, tuple[str, float | None]] = {
    "logreg_C0.1": ("logreg", 0.1), "logreg_C1": ("logreg", 1.0),
    "pairwise_C0.1": ("pairwise", 0.1), "pairwise_C1": ("pairwise", 1.0),
    "hgb": ("hgb", None),
}


def _fit_one(name: str, groups: list[Group], features: list[str], seed: int) -> FusionModel:
    kind, C = CANDIDATES[name]
    if kind == "logreg":
        return _fit_logreg(groups, features, float(C or 1.0), seed)
    if kind == "pairwise":
        return _fit_pairwise(groups, features, float(C or 1.0), seed)
    return _fit_hgb(groups, features, seed)


def fit_fusion_model(groups: list[Group], features: list[str], *, seed: int = 0, holdout: float = 0.3,
                     candidates: list[str] | None = None) -> tuple[FusionModel, FitSummary]:
    """Pick the model family by held-out NDCG@10 over validation users, then refit it on all of them."""
    names = candidates or list(CANDIDATES)
    with_pos = [g for g in groups if np.asarray(g.y).sum() > 0]
    if len(with_pos) < 4:
        raise ArtifactError(f"only {len(with_pos)} validation users have their target in the candidate pool; "
                            "need at least 4 to fit the fusion")
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(groups))
    n_hold = max(1, round(holdout * len(groups)))
    hold = [groups[i] for i in perm[:n_hold]]
    fit = [groups[i] for i in perm[n_hold:]]
    if not any(np.asarray(g.y).sum() > 0 for g in fit):
        fit, hold = groups, groups
    fc_col = features.index("fc_logp")
    scores: dict[str, float] = {}
    for name in names:
        m = _fit_one(name, fit, features, seed)
        scores[name] = round(ndcg_at(hold, [m.score(g.X) for g in hold]), 5)
    best = max(names, key=lambda n: (scores[n], -names.index(n)))
    model = _fit_one(best, groups, features, seed)
    recall = float(np.mean([np.asarray(g.y).sum() > 0 for g in groups]))
    fc_only = round(ndcg_at(hold, [g.X[:, fc_col] for g in hold]), 5)
    summary = FitSummary(chosen=best, holdout_ndcg10=scores, forecaster_only_ndcg10=fc_only,
                         pool_recall=round(recall, 4), n_users=len(groups), n_rows=int(sum(len(g.y) for g in groups)),
                         weights=model.weights())
    return model, summary

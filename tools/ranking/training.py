"""Fitting the fusion weights on the validation split, and the artifacts they live in.

``fit_fusion(settings, dataset)`` is what ``evorec train`` calls after the forecaster (and what
``evorec train-fusion`` runs alone): it holds out each user's last event (the same split the
forecaster artifacts validate on), builds the ranking index from the rest, draws candidate
pools for every user, computes features, fits the fusion ranker (family chosen by held-out
NDCG@10) and writes ``artifacts_dir(dataset)/fusion/`` with a manifest naming the data.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field, ValidationError

from evorec.errors import ArtifactError
from evorec.settings import Settings, get_settings
from evorec.tools.candidates import CandidatePool, CandidateSource, cold_start_sources, default_sources, gather
from evorec.tools.data.schema import Dataset
from evorec.tools.data.sequences import History, ItemVocab, SequenceData
from evorec.tools.ranking.features import FEATURES, feature_matrix
from evorec.tools.ranking.fusion import FitSummary, FusionModel, Group, fit_fusion_model
from evorec.tools.ranking.index import RankingIndex, case_index
from evorec.tools.ranking.signals import UserSignals, compute_signals
from evorec.tools.ranking.trend_labels import labels_for_history
from evorec.tools.store.progress import progress_bar

SUBDIR = "fusion"
COLD_SUBDIR = "cold_start"
MANIFEST = "manifest.json"
EMB_FILE = "item_emb.npy"

# Scores [n, n_items + 1] and category-mix forecasts [n, C] for a batch of histories.
Predictor = Callable[[list[History]], tuple[np.ndarray, np.ndarray]]


class FusionManifest(BaseModel):
    dataset: str
    fingerprint: str
    created_at: str
    features: list[str]
    sources: dict[str, int] = Field(description="Pool size per candidate source.")
    use_trends: bool
    fit: FitSummary
    cold_fit: FitSummary | None = None
    seconds: float


def fusion_dir(settings: Settings, dataset: str) -> Path:
    return settings.artifacts_dir(dataset) / SUBDIR


def ratings_by_user(ds: Dataset) -> dict[str, np.ndarray]:
    """Per user, ratings in event order (the order ``SequenceData.from_dataset`` uses)."""
    ints = ds.interactions
    r = ints["rating"].to_numpy(np.float64)
    return {str(u): r[np.sort(pos)] for u, pos in ints.groupby("user_id", sort=True).indices.items()}


def batch_signals(index: RankingIndex, user_ids: list[str], histories: list[History],
                  ratings: Sequence[np.ndarray | None], predictor: Predictor | None, use_trends: bool = True,
                  batch: int = 256, on_batch: Callable[[int], None] | None = None) -> list[UserSignals]:
    """Ranking signals per user, scoring ``batch`` histories per forward pass; ``on_batch(n)`` after each."""
    out: list[UserSignals] = []
    for lo in range(0, len(histories), batch):
        hs = histories[lo:lo + batch]
        warm = [j for j, h in enumerate(hs) if len(h)]
        scores = mixes = None
        if predictor is not None and warm:
            scores, mixes = predictor([hs[j] for j in warm])
        row = {j: r for r, j in enumerate(warm)}
        for j, h in enumerate(hs):
            labels = labels_for_history(user_ids[lo + j], h, index) if use_trends else {}
            r = row.get(j)
            out.append(compute_signals(index, user_ids[lo + j], h, ratings[lo + j],
                                       fc_scores=None if r is None or scores is None else scores[r],
                                       forecast_mix=None if r is None or mixes is None else mixes[r],
                                       trend_labels=labels))
        if on_batch is not None:
            on_batch(len(hs))
    return out


def case_pool(index: RankingIndex, sig: UserSignals, sources: list[CandidateSource]
              ) -> tuple[RankingIndex, CandidatePool]:
    """(the index as of the case, its candidate pool of unseen items) for one user's signals."""
    allowed = ~sig.seen
    allowed[0] = False
    ix = case_index(index, sig.as_of)
    return ix, gather(sources, ix, sig, allowed)


def build_groups(index: RankingIndex, signals: list[UserSignals], targets: np.ndarray,
                 sources: list[CandidateSource]) -> list[Group]:
    groups = []
    for sig, t in zip(signals, targets.tolist(), strict=True):
        ix, pool = case_pool(index, sig, sources)
        if len(pool) == 0:
            continue
        X = feature_matrix(ix, sig, pool.items, pool.membership, pool.source_names)
        groups.append(Group(X=X, y=(pool.items == int(t)).astype(np.int64)))
    return groups


def fit_cold_start(index: RankingIndex, targets: np.ndarray, seed: int = 0) -> tuple[FusionModel, FitSummary]:
    """The cold-start ranker: what a user with no history picks next, over popularity/trend candidates."""
    empty = History(np.zeros(0, np.int64), np.zeros(0, np.int64))
    sig = compute_signals(index, "cold", empty)
    allowed = ~sig.seen
    allowed[0] = False
    pool = gather(cold_start_sources(), index, sig, allowed)
    X = feature_matrix(index, sig, pool.items, pool.membership, pool.source_names)
    groups = [Group(X=X, y=(pool.items == int(t)).astype(np.int64)) for t in targets.tolist()]
    return fit_fusion_model(groups, FEATURES, seed=seed, candidates=["logreg_C0.1", "pairwise_C0.1", "hgb"])


def item_emb_path(settings: Settings, ds: Dataset, vocab: ItemVocab) -> Path:
    """Where the item text embeddings of this catalog (texts, in vocab order) are cached. Keyed on the catalog,
    not the interactions: retraining on new events reuses them."""
    texts = ds.item_text()
    h = hashlib.sha256()
    for iid in vocab.item_ids[1:]:
        h.update(f"{iid}\x00{texts.get(iid, '')}\x01".encode())
    return fusion_dir(settings, ds.name) / f"item_emb_{h.hexdigest()[:16]}.npy"


def cached_item_embeddings(settings: Settings, ds: Dataset, vocab: ItemVocab) -> np.ndarray | None:
    """The cached embeddings (row 0 zeros), or None when none are cached for this catalog."""
    path = item_emb_path(settings, ds, vocab)
    if path.is_file():
        emb = np.load(path)
        if emb.shape[0] == vocab.n_items + 1:
            return emb
    return None


def item_embeddings(settings: Settings, ds: Dataset, vocab: ItemVocab) -> np.ndarray | None:
    """Item text embeddings (row 0 zeros), computed once per catalog and cached; None if no embedder."""
    emb = cached_item_embeddings(settings, ds, vocab)
    if emb is not None:
        return emb
    from evorec.tools.forecast.artifacts import item_text_embeddings

    emb = item_text_embeddings(ds, vocab)
    if emb is not None:
        path = item_emb_path(settings, ds, vocab)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, emb)
    return emb


def fit_fusion(settings: Settings | None = None, dataset: str | Dataset | None = None, *, seed: int = 0,
               use_trends: bool = True, exclude_sources: list[str] | None = None, progress: bool = True,
               max_users: int | None = None) -> FusionManifest:
    """Fit and store the fusion ranker for ``dataset`` (needs the forecaster artifacts of the same data). A name
    means the data the current forecaster was trained on (the dataset files plus its training delta)."""
    from evorec.tools.data.loader import load_dataset
    from evorec.tools.forecast.artifacts import serving_split
    from evorec.tools.forecast.service import ForecastService
    from evorec.tools.forecast.training_data import served_dataset

    t0 = time.perf_counter()
    settings = settings or get_settings()
    if isinstance(dataset, Dataset):
        ds = dataset
    else:
        ds = served_dataset(settings, load_dataset(dataset or settings.dataset, settings=settings))
    svc = ForecastService.load(settings, ds)
    data = SequenceData.from_dataset(ds, vocab=svc.art.vocab)
    fc = svc.art.manifest
    train, valid, _, _ = serving_split(data, fc.horizon, fc.calib_fraction, fc.split_seed)  # what it trained on
    emb = item_embeddings(settings, ds, data.vocab)
    index = RankingIndex.build(ds, train.histories, data.vocab, emb)
    index.attach_catalog_trends(train.histories)
    index.per_case = True  # each validation case sees popularity and trends as of its own time
    rat = ratings_by_user(ds)
    users = list(valid.user_ids)
    hists, targets = list(valid.histories), np.asarray(valid.targets)
    if max_users is not None and len(users) > max_users:
        pick = np.random.default_rng(seed).choice(len(users), size=max_users, replace=False)
        pick.sort()
        users, hists, targets = [users[i] for i in pick], [hists[i] for i in pick], targets[pick]
    ratings = [rat.get(u, np.zeros(0))[: len(h)] for u, h in zip(users, hists, strict=True)]
    with progress_bar(progress) as bar:
        task = bar.add_task(f"fusion: signals of {len(users)} validation users", total=len(users))
        sigs = batch_signals(index, users, hists, ratings, svc.model.predict, use_trends=use_trends, batch=64,
                             on_batch=lambda n: bar.update(task, advance=n))
    sources = default_sources(exclude=exclude_sources)
    groups = build_groups(index, sigs, targets, sources)
    _say(progress, f"fusion: fitting on {len(groups)} candidate pools")
    model, summary = fit_fusion_model(groups, FEATURES, seed=seed)
    _say(progress, "fusion: fitting the cold-start ranker (same targets, histories hidden)")
    cold_model, cold_summary = fit_cold_start(index, targets, seed=seed)
    out = fusion_dir(settings, ds.name)
    model.save(out)
    cold_model.save(out / COLD_SUBDIR)
    manifest = FusionManifest(dataset=ds.name, fingerprint=ds.fingerprint(),
                              created_at=datetime.now(UTC).isoformat(timespec="seconds"), features=FEATURES,
                              sources={s.name: s.n for s in sources}, use_trends=use_trends, fit=summary,
                              cold_fit=cold_summary,
                              seconds=round(time.perf_counter() - t0, 2))
    (out / MANIFEST).write_text(manifest.model_dump_json(indent=2))
    _say(progress, f"fusion: chose {summary.chosen} (holdout NDCG@10 {summary.holdout_ndcg10[summary.chosen]:.4f} vs "
                   f"forecaster-only {summary.forecaster_only_ndcg10:.4f}; pool recall {summary.pool_recall:.3f})")
    return manifest


def read_fusion_manifest(settings: Settings, dataset: str) -> FusionManifest | None:
    path = fusion_dir(settings, dataset) / MANIFEST
    if not path.is_file():
        return None
    try:
        return FusionManifest.model_validate_json(path.read_text())
    except (ValidationError, ValueError) as e:
        raise ArtifactError(f"{path}: unreadable fusion manifest ({e.__class__.__name__}); retrain") from None


def load_fusion(settings: Settings, dataset: str, fingerprint: str | None = None
                ) -> tuple[FusionModel, FusionModel | None, FusionManifest] | None:
    """The stored fusion ranker, or None when none was fitted; weights fitted on other data, or on another feature
    list (an older release), are an ArtifactError."""
    manifest = read_fusion_manifest(settings, dataset)
    if manifest is None:
        return None
    if fingerprint is not None and manifest.fingerprint != fingerprint:
        raise ArtifactError(f"fusion weights for {dataset!r} were fitted on other data (fingerprint "
                            f"{manifest.fingerprint}, data is {fingerprint}); run `evorec train --dataset {dataset}`")
    d = fusion_dir(settings, dataset)
    cold = FusionModel.load(d / COLD_SUBDIR) if (d / COLD_SUBDIR).is_dir() else None
    model = FusionModel.load(d)
    if any(m.features != FEATURES for m in (model, cold) if m is not None):
        raise ArtifactError(f"fusion weights for {dataset!r} were fitted on other features (an older release); "
                            f"run `evorec train-fusion --dataset {dataset}`")
    return model, cold, manifest


def _say(progress: bool, msg: str) -> None:
    if progress:
        from rich.console import Console

        Console(stderr=True).print(msg, highlight=False)


__all__ = ["FusionManifest", "batch_signals", "build_groups", "cached_item_embeddings", "case_pool", "fit_fusion",
           "fusion_dir", "item_emb_path", "item_embeddings", "load_fusion"]

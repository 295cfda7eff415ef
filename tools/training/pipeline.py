"""Getting a home ready to serve a dataset: store ingest, forecaster training, fusion fit — THE training pipeline.

``prepare(settings, PrepareOptions(...))`` is what ``evorec train`` (forecaster + fusion), ``evorec train-fusion``
(fusion alone), the demo, tests and benchmarks run; the admin retrain job runs ``evorec train --delta FILE`` in
its own process.

Training learns from the dataset files as ingested PLUS what the history store learned since (events added
at run time, users forgotten): see :mod:`evorec.tools.forecast.training_data`. The retrain job passes that
difference in a file (:func:`write_store_delta`, then ``--delta``), taken by the API process that owns the
store, so the job's process never opens an embedded Chroma directory a server holds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from evorec.settings import Settings
from evorec.tools.forecast.artifacts import ForecastManifest
from evorec.tools.forecast.training_data import DataDelta
from evorec.tools.ranking.training import FusionManifest


class PrepareOptions(BaseModel):
    """What one pipeline run does; the defaults are a full first run (ingest, forecaster, fusion)."""

    model_config = ConfigDict(extra="forbid")

    dataset: str | None = Field(None, description="Dataset name (default: settings.dataset).")
    path: Path | None = Field(None, description="Dataset directory (default: the delta's, else the loader's).")
    ingest: bool = Field(True, description="Upsert the dataset into the history store first.")
    train: bool = Field(True, description="Train the interest forecaster.")
    fusion: bool = Field(True, description="Fit the fusion ranker on the forecaster's scores.")
    store_events: bool = Field(True, description="Train on the files plus the store's events added since ingest "
                                                 "(False: the files alone).")
    delta: DataDelta | None = Field(None, description="The store's difference from the files, already taken (the "
                                                      "retrain job); None: read from the store when training.")
    delta_file: Path | None = Field(None, description="The same, as a file written by write_store_delta().")
    epochs: int | None = Field(None, ge=1, description="Maximum forecaster epochs (default: the trainer's).")
    seed: int = 0
    device: Literal["auto", "cpu", "cuda"] | None = None
    text: bool = Field(True, description="Item text embeddings in the forecaster.")
    config: dict[str, Any] | None = Field(None, description="Forecaster hyper-parameters over the serving defaults.")
    fusion_trends: bool = Field(True, description="Trend-label features in the fusion fit.")
    progress: bool = Field(False, description="Progress bars.")


class PrepareReport(BaseModel):
    dataset: str
    users: int
    items: int
    events: int = Field(description="Events trained on (dataset files + added − removed).")
    added_events: int = Field(0, description="Events from the store the dataset files lack.")
    removed_events: int = Field(0, description="Dataset events no longer in the store (forgotten users).")
    seconds: dict[str, float] = Field(default_factory=dict)
    forecaster: ForecastManifest | None = None
    fusion: FusionManifest | None = None

    def summary(self) -> dict[str, Any]:
        """The figures worth a log line: counts, times, validation NDCG of each fitted model."""
        out = self.model_dump(mode="json", exclude={"forecaster", "fusion"})
        if self.forecaster is not None:
            out["valid_ndcg10"] = self.forecaster.fit.best_valid_ndcg10
        if self.fusion is not None:
            out["fusion"] = {"chosen": self.fusion.fit.chosen,
                             "holdout_ndcg10": self.fusion.fit.holdout_ndcg10.get(self.fusion.fit.chosen)}
        return out


def prepare(settings: Settings, options: PrepareOptions | None = None,
            say: Callable[[str], None] = lambda _: None) -> PrepareReport:
    """Ingest (optional), train the forecaster, fit the fusion ranker — on the composed training data.

    With a delta (given or read from ``delta_file``) the store is not opened for training; else, with
    ``store_events``, the store's difference is read when training; fusion alone fits on the data the current
    forecaster was trained on.
    """
    from evorec.tools.data.loader import load_dataset
    from evorec.tools.forecast.training_data import (
        compose,
        delta_from_store,
        erase_forgotten,
        read_delta,
        served_dataset,
        without_forgotten,
    )

    opts = options or PrepareOptions()
    name = opts.dataset or settings.dataset
    delta = opts.delta
    if delta is None and opts.delta_file is not None:
        delta = read_delta(opts.delta_file)
    path = opts.path
    if path is None and delta is not None and delta.source and Path(delta.source).is_dir():
        path = Path(delta.source)
    base = load_dataset(name, path=path, settings=settings)
    ingest_s: float | None = None
    if opts.ingest:
        from evorec.tools.store.history import HistoryStore

        t0 = time.perf_counter()
        say(f"ingesting {base.name} into the history store ...")
        HistoryStore.open(settings, base.name).ingest(base, progress=opts.progress)
        ingest_s = round(time.perf_counter() - t0, 2)
    if delta is None and not opts.train:  # fusion alone: on what the current forecaster was trained on
        ds = served_dataset(settings, base)
        added, removed = _trained_delta_size(settings, base.name) if ds is not base else (0, 0)
    else:
        if delta is None:
            delta = delta_from_store(settings, base) if opts.store_events else DataDelta.none(base)
        delta = without_forgotten(settings, base, delta)  # forgotten users never reach training (tombstones)
        ds = compose(base, delta)
        added, removed = delta.n_added, delta.n_removed
    report = PrepareReport(dataset=ds.name, users=ds.n_users, items=ds.n_items, events=len(ds.interactions),
                           added_events=added, removed_events=removed)
    if ingest_s is not None:
        report.seconds["ingest"] = ingest_s
    say(f"training data {ds.name}: {ds.n_users} users, {ds.n_items} items, {report.events} events "
        f"(dataset files {len(base.interactions)} + {report.added_events} added since ingest − "
        f"{report.removed_events} forgotten; fingerprint {ds.fingerprint()})")
    emb = None
    if (opts.train and opts.text) or opts.fusion:
        from evorec.tools.data.sequences import ItemVocab
        from evorec.tools.ranking.training import item_embeddings

        t0 = time.perf_counter()
        say("item text embeddings (cached per catalog) ...")
        emb = item_embeddings(settings, ds, ItemVocab.from_dataset(ds))  # once, shared by training and serving
        report.seconds["item_embeddings"] = round(time.perf_counter() - t0, 2)
    if opts.train:
        from evorec.tools.forecast.artifacts import train_artifacts

        t0 = time.perf_counter()
        say("training the interest forecaster ...")
        report.forecaster = train_artifacts(ds, settings, epochs=opts.epochs, device=opts.device, seed=opts.seed,
                                            progress=opts.progress, config=opts.config,
                                            text_emb=emb if opts.text else None, use_embedder=opts.text, delta=delta)
        erase_forgotten(settings, ds)  # users forgotten while training ran leave the saved delta too
        report.seconds["train"] = round(time.perf_counter() - t0, 2)
    if opts.fusion:
        from evorec.tools.ranking.training import fit_fusion

        t0 = time.perf_counter()
        say("fitting the fusion ranker on the forecaster's scores ...")
        report.fusion = fit_fusion(settings, ds, seed=opts.seed, use_trends=opts.fusion_trends,
                                   progress=opts.progress)
        report.seconds["fusion"] = round(time.perf_counter() - t0, 2)
    say(f"done: {report.seconds}")
    return report


def write_store_delta(settings: Settings, dataset: str, path: Path, store: Any = None) -> int:
    """Take the store's difference from the dataset files now (through ``store``, the caller's open
    ``HistoryStore``, else one opened here) and write it to ``path`` for ``prepare(delta_file=path)`` in another
    process; returns how many added events it holds."""
    from evorec.tools.forecast.training_data import delta_from_store, ingested_base
    from evorec.tools.store.history import HistoryStore

    store = store if store is not None else HistoryStore.open(settings, dataset)
    delta = delta_from_store(settings, ingested_base(settings, store, dataset), store)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(delta.model_dump_json())
    tmp.replace(path)
    return delta.n_added


def is_prepared(settings: Settings, dataset: str) -> bool:
    """True when the forecaster and fusion artifacts match the dataset files and the store holds them."""
    from evorec.errors import EvorecError
    from evorec.tools.data.loader import load_dataset
    from evorec.tools.forecast.artifacts import read_manifest
    from evorec.tools.ranking.training import read_fusion_manifest
    from evorec.tools.store.history import HistoryStore

    try:
        ds = load_dataset(dataset, settings=settings)
        manifest = read_manifest(settings, dataset)
        # base_fingerprint: the dataset files the forecaster was trained on (plus events added since ingest)
        if manifest.base_fingerprint != ds.fingerprint() or read_fusion_manifest(settings, dataset) is None:
            return False
        store = HistoryStore.open(settings, dataset)
        return store.user_history(str(ds.interactions["user_id"].iloc[0]), limit=1).known
    except EvorecError:
        return False


def _trained_delta_size(settings: Settings, dataset: str) -> tuple[int, int]:
    from evorec.tools.forecast.artifacts import read_manifest

    m = read_manifest(settings, dataset)
    return m.added_events, m.removed_events

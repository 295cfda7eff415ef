"""Getting a home ready to serve a dataset: store ingest, forecaster training, fusion fit — THE training pipeline.

``prepare()`` is what ``evorec train`` (forecaster + fusion), ``evorec train-fusion`` (fusion alone), the
demo, tests and benchmarks run, and ``python -m evorec.serving.api.prepare --dataset synthetic [--no-ingest]
[--delta FILE] [--epochs N]`` is what the admin retrain job runs in its own process.

Training learns from the dataset files as ingested PLUS what the history store learned since (events added
at run time, users forgotten): see :mod:`evorec.tools.forecast.training_data`. The retrain job passes that
difference in a file (``--delta``), taken by the API process that owns the store, so the job's process never
opens an embedded Chroma directory a server holds.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from evorec.errors import EvorecError
from evorec.settings import Settings, get_settings
from evorec.tools.forecast.artifacts import ForecastManifest
from evorec.tools.forecast.training_data import DataDelta
from evorec.tools.ranking.training import FusionManifest


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


def prepare(settings: Settings, dataset: str | None = None, *, path: Path | None = None, ingest: bool = True,
            train: bool = True, fusion: bool = True, store_events: bool = True, delta: DataDelta | None = None,
            epochs: int | None = None, seed: int = 0, device: str | None = None, text: bool = True,
            config: dict[str, Any] | None = None,
            fusion_trends: bool = True, progress: bool = False,
            say: Callable[[str], None] = lambda _: None) -> PrepareReport:
    """Ingest (optional), train the forecaster, fit the fusion ranker — on the composed training data.

    ``delta``: the store's difference from the files, already taken (the retrain job); else, with
    ``store_events``, it is read from the store when training; fusion alone fits on the data the current
    forecaster was trained on. ``text``: item text embeddings in the forecaster; ``config``: forecaster
    hyper-parameters over the serving defaults.
    """
    from evorec.tools.data.loader import load_dataset
    from evorec.tools.forecast.training_data import (
        compose,
        delta_from_store,
        erase_forgotten,
        served_dataset,
        without_forgotten,
    )

    name = dataset or settings.dataset
    if path is None and delta is not None and delta.source and Path(delta.source).is_dir():
        path = Path(delta.source)
    base = load_dataset(name, path=path, settings=settings)
    if ingest:
        from evorec.tools.store.history import HistoryStore

        t0 = time.perf_counter()
        say(f"ingesting {base.name} into the history store ...")
        HistoryStore.open(settings, base.name).ingest(base, progress=progress)
        report_ingest = round(time.perf_counter() - t0, 2)
    if delta is None and not train:  # fusion alone: on what the current forecaster was trained on
        ds = served_dataset(settings, base)
        added, removed = _trained_delta_size(settings, base.name) if ds is not base else (0, 0)
    else:
        if delta is None:
            delta = delta_from_store(settings, base) if store_events else DataDelta.none(base)
        delta = without_forgotten(settings, base, delta)  # forgotten users never reach training (tombstones)
        ds = compose(base, delta)
        added, removed = delta.n_added, delta.n_removed
    report = PrepareReport(dataset=ds.name, users=ds.n_users, items=ds.n_items, events=len(ds.interactions),
                           added_events=added, removed_events=removed)
    if ingest:
        report.seconds["ingest"] = report_ingest
    say(f"training data {ds.name}: {ds.n_users} users, {ds.n_items} items, {report.events} events "
        f"(dataset files {len(base.interactions)} + {report.added_events} added since ingest − "
        f"{report.removed_events} forgotten; fingerprint {ds.fingerprint()})")
    emb = None
    if (train and text) or fusion:
        from evorec.tools.data.sequences import ItemVocab
        from evorec.tools.ranking.training import item_embeddings

        t0 = time.perf_counter()
        say("item text embeddings (cached per catalog) ...")
        emb = item_embeddings(settings, ds, ItemVocab.from_dataset(ds))  # once, shared by training and serving
        report.seconds["item_embeddings"] = round(time.perf_counter() - t0, 2)
    if train:
        from evorec.tools.forecast.artifacts import train_artifacts

        t0 = time.perf_counter()
        say("training the interest forecaster ...")
        report.forecaster = train_artifacts(ds, settings, epochs=epochs, device=device, seed=seed, progress=progress,
                                            config=config, text_emb=emb if text else None, use_embedder=text,
                                            delta=delta)
        erase_forgotten(settings, ds)  # users forgotten while training ran leave the saved delta too
        report.seconds["train"] = round(time.perf_counter() - t0, 2)
    if fusion:
        from evorec.tools.ranking.training import fit_fusion

        t0 = time.perf_counter()
        say("fitting the fusion ranker on the forecaster's scores ...")
        report.fusion = fit_fusion(settings, ds, seed=seed, use_trends=fusion_trends, progress=progress)
        report.seconds["fusion"] = round(time.perf_counter() - t0, 2)
    say(f"done: {report.seconds}")
    return report


def _trained_delta_size(settings: Settings, dataset: str) -> tuple[int, int]:
    from evorec.tools.forecast.artifacts import read_manifest

    m = read_manifest(settings, dataset)
    return m.added_events, m.removed_events


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m evorec.serving.api.prepare", description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default=None)
    p.add_argument("--path", type=Path, default=None, help="Dataset directory (default: the delta's, the store's).")
    p.add_argument("--no-ingest", action="store_true", help="Skip the store ingest (retraining only).")
    p.add_argument("--delta", type=Path, default=None, help="The store's difference from the dataset files "
                                                            "(JSON, as the retrain job writes it); default: read "
                                                            "the store.")
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        from evorec.tools.forecast.training_data import read_delta

        delta = read_delta(args.delta) if args.delta is not None else None
        report = prepare(get_settings(), args.dataset, path=args.path, ingest=not args.no_ingest, delta=delta,
                         epochs=args.epochs, seed=args.seed, progress=True, say=lambda m: print(m, flush=True))
    except EvorecError as e:
        print(f"error: {e}", file=sys.stderr, flush=True)
        return e.exit_code
    summary = report.model_dump(exclude={"forecaster", "fusion"})
    if report.forecaster is not None:
        summary["valid_ndcg10"] = report.forecaster.fit.best_valid_ndcg10
    if report.fusion is not None:
        summary["fusion"] = {"chosen": report.fusion.fit.chosen,
                             "holdout_ndcg10": report.fusion.fit.holdout_ndcg10.get(report.fusion.fit.chosen)}
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

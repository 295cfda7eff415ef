"""Getting a home ready to serve a dataset: store ingest, forecaster training, fusion fit.

``python -m evorec.serving.api.prepare --dataset synthetic [--no-ingest] [--epochs N]`` is
what the admin retrain job runs in its own process (without ingest: the store already
holds the data plus any events added since), and what tests and benchmarks use to
prepare a fresh home.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable

from pydantic import BaseModel, Field

from evorec.errors import EvorecError
from evorec.settings import Settings, get_settings


class PrepareReport(BaseModel):
    dataset: str
    users: int
    items: int
    events: int
    seconds: dict[str, float] = Field(default_factory=dict)


def prepare(settings: Settings, dataset: str | None = None, *, ingest: bool = True, train: bool = True,
            fusion: bool = True, epochs: int | None = None, seed: int = 0, progress: bool = False,
            say: Callable[[str], None] = lambda _: None) -> PrepareReport:
    from evorec.tools.data.loader import load_dataset

    name = dataset or settings.dataset
    ds = load_dataset(name, settings=settings)
    report = PrepareReport(dataset=ds.name, users=ds.n_users, items=ds.n_items, events=len(ds.interactions))
    say(f"dataset {ds.name}: {ds.n_users} users, {ds.n_items} items, {len(ds.interactions)} events")
    if ingest:
        from evorec.tools.store.history import HistoryStore

        t0 = time.perf_counter()
        say("ingesting into the history store ...")
        HistoryStore.open(settings, ds.name).ingest(ds, progress=progress)
        report.seconds["ingest"] = round(time.perf_counter() - t0, 2)
    emb = None
    if train or fusion:
        from evorec.tools.data.sequences import ItemVocab
        from evorec.tools.ranking.training import item_embeddings

        t0 = time.perf_counter()
        emb = item_embeddings(settings, ds, ItemVocab.from_dataset(ds))  # once, cached for fusion and serving
        report.seconds["item_embeddings"] = round(time.perf_counter() - t0, 2)
    if train:
        from evorec.tools.forecast.artifacts import train_artifacts

        t0 = time.perf_counter()
        say("training the interest forecaster ...")
        train_artifacts(ds, settings, epochs=epochs, seed=seed, progress=progress, text_emb=emb)
        report.seconds["train"] = round(time.perf_counter() - t0, 2)
    if fusion:
        from evorec.tools.ranking.training import fit_fusion

        t0 = time.perf_counter()
        say("fitting the fusion ranker ...")
        fit_fusion(settings, ds, seed=seed, progress=progress)
        report.seconds["fusion"] = round(time.perf_counter() - t0, 2)
    say(f"done: {report.seconds}")
    return report


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m evorec.serving.api.prepare", description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default=None)
    p.add_argument("--no-ingest", action="store_true", help="Skip the store ingest (retraining only).")
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        report = prepare(get_settings(), args.dataset, ingest=not args.no_ingest, epochs=args.epochs, seed=args.seed,
                         progress=True, say=lambda m: print(m, flush=True))
    except EvorecError as e:
        print(f"error: {e}", file=sys.stderr, flush=True)
        return e.exit_code
    print(report.model_dump_json(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Forecaster vs SASRec+ on MovieLens-100K, leave-one-out, full-catalog ranking (not a test).

Both models are trained by the same loop (tools/models/torch_trainer.py) with the same seed,
sequence length, batch size, optimiser and early stopping on validation NDCG@10; the test
split is only scored once, at the best validation epoch. Also evaluates the interest-evolution
head (mean KL / JS vs the realised next-10 mix, against "last window persists" and "all-time mix").

    nice -n 5 .venv/bin/python benchmarks/bench_forecaster.py --threads 1
    nice -n 5 .venv/bin/python benchmarks/bench_forecaster.py --threads 1 --skip-mix --models forecaster

Wall times depend on contention on the shared machine; CPU seconds (single thread) are the
uncontended estimate and are printed beside them.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np
import torch
from rich.console import Console
from rich.table import Table

from evorec.evals.metrics import ndcg, target_ranks
from evorec.settings import get_settings
from evorec.tools.data.loader import load_dataset
from evorec.tools.data.sequences import SequenceData
from evorec.tools.data.splits import leave_one_out
from evorec.tools.forecast.artifacts import item_text_embeddings
from evorec.tools.forecast.evaluate import run_mix_eval
from evorec.tools.models import create_model

console = Console()

# Shared by both models: the fair comparison (tuned on the validation split only).
COMMON: dict[str, Any] = {"max_len": 200, "batch_size": 128, "lr": 2e-3, "hidden": 64, "blocks": 2, "heads": 2,
                          "dropout": 0.3, "patience": 10, "epochs": 200, "device": "cpu"}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="ml-100k")
    ap.add_argument("--models", default="sasrec_ce,forecaster")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--skip-mix", action="store_true", help="skip the interest-head evaluation")
    ap.add_argument("--config", default="{}", help="JSON overrides for the forecaster only")
    ap.add_argument("--out", type=Path, default=None, help="write the figures as JSON here")
    args = ap.parse_args()
    logging.basicConfig(format="%(asctime)s %(message)s", stream=sys.stdout)
    logging.getLogger("evorec.tools.models.torch_trainer").setLevel(logging.INFO)  # one line per epoch
    torch.set_num_threads(args.threads)
    settings = get_settings()
    ds = load_dataset(args.dataset, settings=settings)
    data = SequenceData.from_dataset(ds)
    data.item_text_emb = item_text_embeddings(ds, data.vocab)
    split = leave_one_out(data)
    common = {**COMMON, "threads": args.threads}
    if args.epochs:
        common["epochs"] = args.epochs
    results: dict[str, dict[str, float]] = {}
    for name in [m.strip() for m in args.models.split(",") if m.strip()]:
        cfg = {**common, **(json.loads(args.config) if name == "forecaster" else {})}
        model = create_model(name, **cfg)
        rep = model.fit(split.train, split.valid, seed=args.seed, progress=True)
        t0 = time.perf_counter()
        scores = model.full_sort_predict(split.test.histories)
        infer_ms = 1000 * (time.perf_counter() - t0) / len(split.test.histories)
        ranks = target_ranks(scores, split.test.histories, split.test.targets)
        best_row = rep.history[rep.best_epoch - 1]
        results[name] = {"test_ndcg10": ndcg(ranks, 10), "test_hr10": float(np.mean(ranks <= 10)),
                         "valid_ndcg10": rep.best_valid_ndcg10 or 0.0, "best_epoch": rep.best_epoch,
                         "epochs_run": rep.epochs_run, "wall_s_to_best": rep.seconds_to_best,
                         "cpu_s_to_best": best_row.get("cpu_seconds", float("nan")),
                         "batch_infer_ms_per_user": infer_ms}
        console.print(f"{name}: {results[name]}", highlight=False)
    _table(results)
    if not args.skip_mix:
        cfg = {**common, **json.loads(args.config)}
        mix, _ = run_mix_eval(data, horizon=10, seed=args.seed, progress=True, **cfg)
        console.print(f"\ninterest head, next-10 category mix ({mix.n_users} users, lower is better):")
        console.print(mix.table(), highlight=False)
        console.print(f"JS ratio forecaster / last window = {mix.ratio('forecaster', 'last_window', 'js'):.3f}; "
                      f"KL ratio = {mix.ratio('forecaster', 'last_window', 'kl'):.3f}", highlight=False)
        results["mix"] = {f"{m}_{k}": getattr(v, k) for m, v in mix.methods.items() for k in ("kl", "js")}
    console.print(f"\nrepeat: nice -n 5 .venv/bin/python {' '.join(sys.argv)}", highlight=False)
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))
    return 0


def _table(results: dict[str, dict[str, float]]) -> None:
    t = Table(title="ML-100K leave-one-out, full ranking (test split, best validation epoch)")
    cols = ("model", "NDCG@10", "HR@10", "valid NDCG@10", "vs SASRec+", "best/run epochs", "to best (wall / CPU s)")
    for col in cols:
        t.add_column(col, justify="right")
    base = results.get("sasrec_ce", {}).get("test_ndcg10")
    for name, r in results.items():
        ratio = f"{r['test_ndcg10'] / base:.3f}x" if base else "-"
        t.add_row(name, f"{r['test_ndcg10']:.4f}", f"{r['test_hr10']:.4f}", f"{r['valid_ndcg10']:.4f}", ratio,
                  f"{r['best_epoch']}/{r['epochs_run']}", f"{r['wall_s_to_best']:.0f} / {r['cpu_s_to_best']:.0f}")
    console.print(t)


if __name__ == "__main__":
    sys.exit(main())

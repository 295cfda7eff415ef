"""Forecaster ablations against the faithful SASRec+ on the same leave-one-out split (not a test).

Each variant of the forecaster is fitted per seed by the shared torch loop (tools/models/torch_trainer.py:
same windows, loss, early stopping on validation NDCG@10 as SASRec+) and ranked over the full catalog with
the EVALS metrics. The SASRec+ baseline is read from an ``evorec eval`` run of the same data (its
``ranks.npz``), so the paired bootstrap interval of the NDCG@10 ratio is over the very same test cases and
SASRec+ is not refitted here. Variants that use item text are marked "with side information".

    nice -n 10 .venv/bin/python benchmarks/bench_forecaster.py --dataset ml-100k --seeds 0 \\
        --baseline runs/ml100k-sasrec --variants full,no_text,no_time,no_mix --out benchmarks/results/fc-ablation

Wall times depend on contention on the shared machine; CPU seconds (one thread) are printed beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np
import torch

from evorec.evals.metrics import ndcg_per_case, ranking_metrics, target_ranks
from evorec.evals.stats import mean_sd, ratio_interval
from evorec.settings import get_settings
from evorec.tools.data.loader import load_dataset
from evorec.tools.data.sequences import SequenceData
from evorec.tools.data.splits import leave_one_out
from evorec.tools.forecast.artifacts import item_text_embeddings
from evorec.tools.models import create_model

# name -> (forecaster config overrides, uses item text)
VARIANTS: dict[str, dict[str, Any]] = {
    "full": {},
    "no_text": {"use_text": False},
    "no_time": {"use_time": False},
    "no_mix": {"mix_weight": 0.0},
    "no_age": {"use_item_age": False},
    "id_only": {"use_text": False, "use_time": False, "mix_weight": 0.0, "use_item_age": False},
    "all_windows": {"windows": "all"},
    "pos_from_end": {"positions": "from_end"},
}


def uses_text(cfg: dict[str, Any], has_text: bool) -> bool:
    return has_text and cfg.get("use_text", True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="ml-100k")
    ap.add_argument("--path", type=Path, default=None)
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--variants", default="full")
    ap.add_argument("--baseline", type=Path, default=None, help="an evorec eval run dir with sasrec_ce in ranks.npz")
    ap.add_argument("--epochs", type=int, default=None, help="cap on epochs (say so when reporting)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    seeds = [int(s) for s in args.seeds.split(",")]
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        print(f"unknown variant(s) {unknown}; known: {', '.join(VARIANTS)}", file=sys.stderr)
        return 2
    ds = load_dataset(args.dataset, path=args.path, settings=get_settings())
    data = SequenceData.from_dataset(ds)
    data.item_text_emb = item_text_embeddings(ds, data.vocab) if ds.has_item_text else None
    has_text = data.item_text_emb is not None
    split = leave_one_out(data)
    base: dict[int, np.ndarray] = {}
    if args.baseline is not None:
        with np.load(args.baseline / "ranks.npz") as z:
            if not np.array_equal(z["targets"], split.test.targets):
                print("the baseline run has other test cases", file=sys.stderr)
                return 2
            base = {int(k.split("seed")[1]): z[k] for k in z.files if k.startswith("sasrec_ce/seed")}
    base_gain = np.mean([ndcg_per_case(r, 10) for r in base.values()], axis=0) if base else None
    args.out.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    for name in variants:
        cfg = {**VARIANTS[name], "device": args.device, "threads": args.threads}
        if args.epochs:
            cfg["epochs"] = args.epochs
        per_seed, gains = [], []
        for seed in seeds:
            model = create_model("forecaster", **cfg)
            t0, c0 = time.perf_counter(), time.process_time()
            rep = model.fit(split.train, split.valid, seed=seed, progress=False)
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            ranks = target_ranks(model.full_sort_predict(split.test.histories), split.test.histories,
                                 split.test.targets)
            m = ranking_metrics(ranks, (10,))
            gains.append(ndcg_per_case(ranks, 10))
            per_seed.append({"seed": seed, **m, "fit_s": wall, "fit_cpu_s": cpu, "best_epoch": rep.best_epoch,
                             "epochs_run": rep.epochs_run, "best_valid_ndcg10": rep.best_valid_ndcg10})
            np.save(args.out / f"ranks-{name}-seed{seed}.npy", ranks)
            print(f"{name} seed {seed}: NDCG@10 {m['NDCG@10']:.4f} HR@10 {m['HR@10']:.4f} "
                  f"epochs {rep.best_epoch}/{rep.epochs_run} fit {wall:.0f}s wall {cpu:.0f}s CPU", flush=True)
        row: dict[str, Any] = {"variant": name, "config": VARIANTS[name], "side_information": uses_text(cfg, has_text),
                               "seeds": per_seed}
        for k in ("NDCG@10", "HR@10", "MRR@10"):
            row[k], row[k + "_sd"] = mean_sd([r[k] for r in per_seed])
        if base_gain is not None:
            iv = ratio_interval(name, np.mean(gains, axis=0), "sasrec_ce", base_gain, "NDCG@10")
            row["vs_sasrec"] = iv.model_dump()
        rows.append(row)
        (args.out / "ablation.json").write_text(json.dumps({"dataset": ds.name, "seeds": seeds,
                                                            "baseline_seeds": sorted(base), "rows": rows,
                                                            "command": " ".join(sys.argv)}, indent=2))
    (args.out / "ablation.md").write_text(render(ds.name, seeds, sorted(base), rows, args.epochs))
    print((args.out / "ablation.md").read_text())
    return 0


def render(dataset: str, seeds: list[int], base_seeds: list[int], rows: list[dict[str, Any]],
           cap: int | None) -> str:
    out = [f"# Forecaster ablation — {dataset}, leave-one-out, full ranking", "",
           f"Seeds {seeds}; SASRec+ baseline seeds {base_seeds or 'none'}"
           + (f"; epochs capped at {cap}" if cap else "") + ". Command: see ablation.json.", "",
           "| variant | side information | NDCG@10 | HR@10 | × SASRec+ [95 % paired bootstrap] | fit CPU s (mean) |",
           "|---|---|---:|---:|---:|---:|"]
    for r in rows:
        iv = r.get("vs_sasrec")
        ratio = f"{iv['ratio']:.3f} [{iv['lo']:.3f}, {iv['hi']:.3f}]" if iv else "–"
        cpu = np.mean([s["fit_cpu_s"] for s in r["seeds"]])
        out.append(f"| {r['variant']} | {'with side information (item text)' if r['side_information'] else 'no'} | "
                   f"{r['NDCG@10']:.4f} ± {r['NDCG@10_sd']:.4f} | {r['HR@10']:.4f} ± {r['HR@10_sd']:.4f} | {ratio} | "
                   f"{cpu:.0f} |")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.exit(main())

"""The interest-mix head vs "last window persists" and the all-time mix, on next-window category mix (not a test).

Runs only the category-mix evaluation of ``evorec eval`` (the same code: ``evals.runner.mix_evaluation``): per
seed, a forecaster is trained with each user's last ``horizon`` events held out (and, for a quarter of the
users, the ``horizon`` before those: the calibration windows the pool with the naive mixes is chosen on); the
forecast is compared with the realised mix of the held-out window. Writes ``mix.json``, ``mix.md`` and
``category_mix.png``.

    nice -n 10 .venv/bin/python benchmarks/bench_mix_head.py --dataset ml-100k --seeds 0 \\
        --out benchmarks/results/mix-head-ml100k
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from rich.console import Console

from evorec.evals.plots import mix_bars
from evorec.evals.results import EvalConfig
from evorec.evals.runner import limit_threads, mix_evaluation, text_embeddings
from evorec.settings import get_settings
from evorec.tools.data.loader import load_dataset
from evorec.tools.data.sequences import SequenceData


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="synthetic")
    ap.add_argument("--path", type=Path, default=None)
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--horizon", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--set", action="append", default=[], help="forecaster KEY=JSON value")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    limit_threads(args.threads)
    overrides = {k: json.loads(v) for k, _, v in (s.partition("=") for s in args.set)}
    cfg = EvalConfig(dataset=args.dataset, path=args.path, models=["forecaster"], mix_horizon=args.horizon,
                     seeds=[int(s) for s in args.seeds.split(",")], overrides={"forecaster": overrides})
    ds = load_dataset(args.dataset, path=args.path)
    data = SequenceData.from_dataset(ds)
    if ds.has_item_text:  # as ``evorec eval`` does for the forecaster: item text embeddings on
        data.item_text_emb = text_embeddings(ds, data, get_settings(), Console(stderr=True))
    t0 = time.perf_counter()
    mix = mix_evaluation(data, cfg, progress=False, console=Console(stderr=True))
    args.out.mkdir(parents=True, exist_ok=True)
    command = " ".join(["nice -n 10 .venv/bin/python", *sys.argv])
    (args.out / "mix.json").write_text(json.dumps({"command": command, "dataset": args.dataset,
                                                   "wall_seconds": time.perf_counter() - t0,
                                                   **mix.model_dump()}, indent=2))
    lines = [f"# Interest-mix head on {args.dataset}: next {mix.horizon} events' category mix", "",
             f"{mix.n_users} users, seeds {mix.seeds}; item text embeddings: {'yes' if ds.has_item_text else 'no'}; "
             f"lower is better. Command: `{command}`", "",
             "| method | mean KL | mean JS |", "|---|---:|---:|"]
    for name, m in mix.methods.items():
        lines.append(f"| {name} | {m.kl:.4f} | {m.js:.4f} |")
    lines += ["", "Forecaster minus naive (paired bootstrap over users, 95 %):", "",
              "| vs | metric | difference | 95 % interval | below 0 |", "|---|---|---:|---:|:---:|"]
    for d in mix.diff_intervals:
        lines.append(f"| {d.b} | {d.metric} | {d.diff:+.4f} | [{d.lo:+.4f}, {d.hi:+.4f}] | "
                     f"{'yes' if d.hi < 0 else 'no'} |")
    lines += ["", "Calibration chosen per seed on held-out windows (never the test windows):", ""]
    lines += [f"- {json.dumps(b)}" for b in mix.blends]
    lines += ["", "![category mix](category_mix.png)"]
    mix_bars(mix, args.out / "category_mix.png", f"{args.dataset}, seeds {args.seeds}")
    (args.out / "mix.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())

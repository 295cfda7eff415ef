"""Combine evaluation runs of the same data and split that were made with different seeds into one run.

Long CPU runs are often done a seed (or a few) at a time; ``combine_runs`` joins their per-seed results
and per-case ranks (``ranks.npz``) and recomputes the means, sds, history-length buckets and paired
bootstrap intervals exactly as one ``evorec eval --seeds ...`` run would. Runs must agree on dataset
fingerprint, protocol and split; a model is kept when every run has it, and a seed must not repeat.

    python -m evorec.evals.combine RUN_DIR RUN_DIR ... --out DIR

``join_runs`` puts side by side runs of the same data, split and seeds that hold different models, or the
same model under different configs (an ablation): each run's models may be relabelled (``RUN_DIR=LABEL``),
and the paired intervals then compare every variant with every other on the same test cases.

    python -m evorec.evals.combine --join RUN_DIR=full RUN_DIR=no_text ... --out DIR
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from evorec.errors import InvalidRequestError
from evorec.evals.results import EvalResult
from evorec.evals.runner import aggregate, pairwise_intervals, save_ranks, write_run


def load_run(run_dir: Path) -> tuple[EvalResult, dict[str, np.ndarray]]:
    metrics, ranks = run_dir / "metrics.json", run_dir / "ranks.npz"
    if not metrics.is_file() or not ranks.is_file():
        raise InvalidRequestError(f"{run_dir}: not a finished run with per-case ranks (metrics.json, ranks.npz)")
    res = EvalResult.model_validate_json(metrics.read_text())
    with np.load(ranks) as z:
        return res, {k: z[k] for k in z.files}


def _load_same_split(run_dirs: list[Path]) -> list[tuple[EvalResult, dict[str, np.ndarray]]]:
    loaded = [load_run(Path(d)) for d in run_dirs]
    if not loaded:
        raise InvalidRequestError("no runs to combine")
    first, first_ranks = loaded[0]
    for res, ranks in loaded[1:]:
        if (res.dataset.fingerprint, res.config.protocol, res.split) != \
                (first.dataset.fingerprint, first.config.protocol, first.split):
            raise InvalidRequestError("runs differ in dataset, protocol or split")
        if not np.array_equal(ranks["targets"], first_ranks["targets"]):
            raise InvalidRequestError("runs have different test cases")
    return loaded


def combine_runs(run_dirs: list[Path], out_dir: Path) -> EvalResult:
    loaded = _load_same_split(run_dirs)
    first, first_ranks = loaded[0]
    seeds = [s for res, _ in loaded for s in (res.seeds or [res.config.seed])]
    if len(set(seeds)) != len(seeds):
        raise InvalidRequestError(f"a seed repeats across the runs: {seeds}")
    names = [m.name for m in first.models if all(any(x.name == m.name for x in r.models) for r, _ in loaded)]
    lengths = first_ranks["lengths"]
    out = first.model_copy(deep=True)
    out.seeds, out.models = seeds, []
    out.config = out.config.model_copy(update={"seeds": seeds, "seed": seeds[0], "run_name": out_dir.name,
                                               "out_dir": out_dir.parent})
    ranks_by: dict[str, list[np.ndarray]] = {}
    for name in names:
        runs, per_seed = [], []
        for res, ranks in loaded:
            m = res.model(name)
            runs += m.runs
            per_seed += [ranks[f"{name}/seed{r.seed}"] for r in m.runs]
        ranks_by[name] = per_seed
        fm = first.model(name)
        out.models.append(aggregate(name, fm.config, runs, per_seed, fm.fit, lengths))
    return _write_merged(out, loaded, ranks_by, seeds, out_dir)


def _write_merged(out: EvalResult, loaded: list[tuple[EvalResult, dict[str, np.ndarray]]],
                  ranks_by: dict[str, list[np.ndarray]], seeds: list[int], out_dir: Path) -> EvalResult:
    """What combining and joining finish alike: paired intervals over the merged ranks, the runs' wall time and
    commands, the report, and ``ranks.npz``. A category-mix evaluation is per run; it is not merged."""
    first, first_ranks = loaded[0]
    out.intervals = pairwise_intervals(list(ranks_by), ranks_by, n_boot=first.config.n_boot)
    out.wall_seconds = sum(r.wall_seconds for r, _ in loaded)
    out.command = " ; ".join(r.command for r, _ in loaded if r.command)
    out.mix = None
    write_run(out, out_dir)
    save_ranks(out_dir / "ranks.npz", list(first_ranks["user_ids"]), first_ranks["targets"], seeds, ranks_by,
               first_ranks["lengths"])
    return out


def parse_labelled(spec: str) -> tuple[Path, str | None]:
    """``RUN_DIR`` or ``RUN_DIR=LABEL``."""
    path, sep, label = spec.partition("=")
    return Path(path), (label.strip() or None) if sep else None


def join_runs(specs: list[tuple[Path, str | None]], out_dir: Path) -> EvalResult:
    """One result holding every run's models (relabelled: ``LABEL`` for a run of one model, else
    ``MODEL-LABEL``), with paired intervals between all of them. The runs must share data, split and seeds."""
    loaded = _load_same_split([p for p, _ in specs])
    first = loaded[0][0]
    seeds = list(first.seeds or [first.config.seed])
    out = first.model_copy(deep=True)
    out.models = []
    ranks_by: dict[str, list[np.ndarray]] = {}
    for (path, label), (res, ranks) in zip(specs, loaded, strict=True):
        if list(res.seeds or [res.config.seed]) != seeds:
            raise InvalidRequestError(f"{path}: seeds {res.seeds} differ from {seeds}; join runs of the same seeds")
        for m in res.models:
            name = m.name if label is None else (label if len(res.models) == 1 else f"{m.name}-{label}")
            if name in ranks_by:
                raise InvalidRequestError(f"two joined models are both called {name!r}: label the runs (RUN=LABEL)")
            ranks_by[name] = [ranks[f"{m.name}/seed{r.seed}"] for r in m.runs]
            out.models.append(m.model_copy(update={"name": name}))
    out.config = out.config.model_copy(update={"models": list(ranks_by), "run_name": out_dir.name,
                                               "out_dir": out_dir.parent})
    return _write_merged(out, loaded, ranks_by, seeds, out_dir)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Combine evorec eval runs made with different seeds (default), or "
                                             "join runs of the same seeds holding different models (--join).")
    ap.add_argument("runs", nargs="+", help="run folders; with --join, RUN_DIR=LABEL relabels a run's models")
    ap.add_argument("--join", action="store_true")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    try:
        res = (join_runs([parse_labelled(s) for s in args.runs], args.out) if args.join
               else combine_runs([Path(r) for r in args.runs], args.out))
    except InvalidRequestError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for m in res.models:
        print(f"{m.name}: NDCG@10 {m.metrics['NDCG@10']:.4f} ± {m.metrics_sd['NDCG@10']:.4f} "
              f"HR@10 {m.metrics['HR@10']:.4f} ± {m.metrics_sd['HR@10']:.4f} (seeds {res.seeds})")
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

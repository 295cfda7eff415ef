"""Offline evaluation: load a dataset, split it, fit each model, rank the full catalog, report.

``run_eval(EvalConfig(...))`` is what ``evorec eval`` calls. Every model sees the same split and
is measured by the same code (``evorec.evals.metrics``): full catalog, seen items masked (never
the target), pessimistic ties. Seeding (python, numpy, torch) happens before each model's fit,
so two runs with the same seed give the same numbers on CPU.
"""

from __future__ import annotations

import hashlib
import platform
import random
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from rich.console import Console

from evorec.errors import InvalidRequestError
from evorec.evals.metrics import beyond_accuracy, ndcg_per_case, ranking_metrics, target_ranks, top_k
from evorec.evals.results import (
    HISTORY_BUCKETS,
    BucketMetric,
    DatasetInfo,
    EvalConfig,
    EvalResult,
    MixMethod,
    MixResult,
    ModelResult,
    SeedRun,
)
from evorec.evals.stats import RatioInterval, diff_interval, mean_sd, ratio_interval
from evorec.settings import REPO_ROOT, Settings, get_settings
from evorec.tools.data.schema import Dataset
from evorec.tools.data.sequences import SequenceData
from evorec.tools.data.splits import Split, make_split
from evorec.tools.models import available_models, create_model
from evorec.tools.models.base import FitReport, Recommender
from evorec.tools.models.pop import item_user_counts

# models that read SequenceData.item_text_emb (others ignore it)
TEXT_MODELS = frozenset({"forecaster", "fusion"})


def check_models(names: list[str]) -> None:
    """One clear error listing what exists when a model name is unknown."""
    known = available_models()
    unknown = [n for n in names if n not in known]
    if unknown:
        raise InvalidRequestError(f"unknown model(s) {', '.join(unknown)}; available: {', '.join(known)}")
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InvalidRequestError(f"model(s) listed twice: {', '.join(dupes)}")


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    try:
        import torch

        torch.manual_seed(seed)
    except ImportError:  # pragma: no cover - torch is a dependency
        pass


def limit_threads(n: int) -> None:
    """Cap torch and BLAS threads (the machine is shared; results must not depend on thread races)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(n)
    import torch

    torch.set_num_threads(n)


def versions() -> dict[str, str]:
    import scipy
    import torch

    from evorec import __version__ as evorec_version

    out = {"python": platform.python_version(), "numpy": np.__version__, "scipy": scipy.__version__,
           "torch": torch.__version__, "evorec": str(evorec_version), "platform": platform.platform()}
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True,
                                text=True, timeout=5).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO_ROOT,
                               capture_output=True, text=True, timeout=5).stdout.strip()
        if commit:
            out["git"] = commit + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        pass
    return out


def text_embeddings(ds: Dataset, data: SequenceData, settings: Settings, console: Console) -> np.ndarray:
    """Item text embeddings ``[n_items + 1, d]`` (row 0 zeros), cached by item-text hash under EVOREC_HOME."""
    texts = ds.item_text()
    ordered = [texts[i] for i in data.vocab.item_ids[1:]]
    key = hashlib.sha256("\n".join(ordered).encode()).hexdigest()[:16]
    cache = settings.home / "cache" / "text_emb" / f"{ds.name}-{key}.npy"
    if cache.is_file():
        emb = np.load(cache)
        if emb.shape[0] == data.n_items + 1:
            return emb
    from evorec.tools.store.embedder import get_embedder

    console.print(f"embedding {len(ordered)} item texts ...", highlight=False)
    emb = get_embedder().encode(ordered)
    emb = np.vstack([np.zeros((1, emb.shape[1]), np.float32), emb]).astype(np.float32)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.save(cache, emb)
    return emb


def bucket_metrics(lengths: np.ndarray, ranks: np.ndarray | list[np.ndarray]) -> list[BucketMetric]:
    """NDCG@10 / HR@10 per test-history length bucket (averaged over seeds when given one rank vector per seed)."""
    per_seed = [ranks] if isinstance(ranks, np.ndarray) else list(ranks)
    gains = np.mean([ndcg_per_case(r, 10) for r in per_seed], axis=0)
    hits = np.mean([(r <= 10).astype(np.float64) for r in per_seed], axis=0)
    out: list[BucketMetric] = []
    for lo, hi in HISTORY_BUCKETS:
        sel = (lengths >= lo) & (lengths < hi)
        if sel.any():
            out.append(BucketMetric(lo=lo, hi=hi, n=int(sel.sum()), ndcg10=float(gains[sel].mean()),
                                    hr10=float(hits[sel].mean())))
    return out


def evaluate_model(model: Recommender, split: Split, ks: list[int], batch_size: int,
                   user_counts: np.ndarray) -> tuple[dict[str, float], np.ndarray, float]:
    """Score the test cases in batches; returns (metrics, per-case ranks, scoring seconds)."""
    test = split.test
    n = len(test.targets)
    ranks = np.zeros(n, dtype=np.int64)
    kmax = max(ks)
    tops = np.full((n, kmax), -1, dtype=np.int64)
    secs = 0.0
    for lo in range(0, n, batch_size):
        hists = test.histories[lo:lo + batch_size]
        t0 = time.perf_counter()
        scores = model.full_sort_predict(hists)
        secs += time.perf_counter() - t0
        if scores.shape != (len(hists), split.train.n_items + 1):
            raise RuntimeError(f"{model.name} returned scores of shape {scores.shape}, "
                               f"expected {(len(hists), split.train.n_items + 1)}")
        ranks[lo:lo + len(hists)] = target_ranks(scores, hists, test.targets[lo:lo + len(hists)])
        tops[lo:lo + len(hists)] = top_k(scores, hists, kmax)
    metrics = ranking_metrics(ranks, ks)
    metrics.update(beyond_accuracy(tops, user_counts, len(split.train.histories), split.train.n_items, ks))
    return metrics, ranks, secs


def mix_evaluation(data: SequenceData, cfg: EvalConfig, progress: bool, console: Console) -> MixResult:
    """The forecaster's interest-evolution head vs "last window persists" and "all-time mix" (MODELS' protocol),
    once per seed; per-user divergences are averaged over seeds, intervals are paired bootstraps over users."""
    from evorec.tools.forecast.evaluate import run_mix_eval

    seeds = list(cfg.seeds or [cfg.seed])
    console.print(f"category-mix evaluation: training a forecaster on all but each user's last "
                  f"{cfg.mix_horizon} events (seeds {seeds}) ...", highlight=False)
    t0 = time.perf_counter()
    overrides = {k: v for k, v in cfg.overrides.get("forecaster", {}).items() if k != "horizon"}
    per_seed = []
    for seed in seeds:
        seed_everything(seed)
        report, _ = run_mix_eval(data, horizon=cfg.mix_horizon, seed=seed, progress=progress, **overrides)
        per_seed.append(report)
    methods: dict[str, MixMethod] = {}
    per_user: dict[tuple[str, str], np.ndarray] = {}
    for name in per_seed[0].methods:
        kl_m, kl_s = mean_sd([r.methods[name].kl for r in per_seed])
        js_m, js_s = mean_sd([r.methods[name].js for r in per_seed])
        methods[name] = MixMethod(kl=kl_m, js=js_m, kl_sd=kl_s, js_sd=js_s)
        for metric in ("kl", "js"):
            per_user[name, metric] = np.mean([np.asarray(r.per_user[metric][name]) for r in per_seed], axis=0)
    pairs = [(base, metric) for base in ("last_window", "all_time") for metric in ("kl", "js")]
    intervals = [ratio_interval("forecaster", per_user["forecaster", metric], base, per_user[base, metric],
                                metric.upper(), n_boot=cfg.n_boot) for base, metric in pairs]
    diffs = [diff_interval("forecaster", per_user["forecaster", metric], base, per_user[base, metric],
                           metric.upper(), n_boot=cfg.n_boot) for base, metric in pairs]
    return MixResult(horizon=per_seed[0].horizon, n_users=per_seed[0].n_users, methods=methods,
                     fit_seconds=time.perf_counter() - t0, seeds=seeds, intervals=intervals, diff_intervals=diffs,
                     blends=[r.blend.model_dump() for r in per_seed if r.blend is not None])


def peak_rss_mb() -> float | None:
    """This process's peak resident set so far (MiB); None where the platform does not say."""
    try:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    except (ImportError, OSError):  # pragma: no cover - non-POSIX
        return None
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def aggregate(name: str, config: dict, runs: list[SeedRun], ranks: list[np.ndarray], fit: FitReport,
              lengths: np.ndarray) -> ModelResult:
    """Mean (and sd) over seeds of every metric; history-length buckets from the seed-averaged per-case gains."""
    keys = list(runs[0].metrics)
    stats = {k: mean_sd([r.metrics[k] for r in runs]) for k in keys}
    return ModelResult(name=name, config=config, metrics={k: v[0] for k, v in stats.items()},
                       metrics_sd={k: v[1] for k, v in stats.items()},
                       fit_seconds=float(np.mean([r.fit_seconds for r in runs])),
                       score_seconds=float(np.mean([r.score_seconds for r in runs])), n_cases=len(ranks[0]), fit=fit,
                       runs=runs, by_history_length=bucket_metrics(lengths, ranks))


def pairwise_intervals(names: list[str], ranks_by: dict[str, list[np.ndarray]], *, n_boot: int,
                       metric: str = "NDCG@10") -> list[RatioInterval]:
    """Paired bootstrap interval of the NDCG@10 ratio for every ordered pair of models."""
    gains = {n: np.mean([ndcg_per_case(r, 10) for r in ranks_by[n]], axis=0) for n in names if ranks_by[n]}
    out: list[RatioInterval] = []
    for a in gains:
        for b in gains:
            if a != b and gains[b].mean() > 0:
                out.append(ratio_interval(a, gains[a], b, gains[b], metric, n_boot=n_boot))
    return out


def save_ranks(path: Path, user_ids: list[str], targets: np.ndarray, seeds: list[int],
               ranks_by: dict[str, list[np.ndarray]], lengths: np.ndarray | None = None) -> Path:
    """Per-case 1-based ranks of every model and seed (``<model>/seed<k>``), with the cases' users, targets and
    history lengths."""
    arrays: dict[str, np.ndarray] = {"user_ids": np.asarray(user_ids, dtype=str),
                                     "targets": np.asarray(targets, dtype=np.int64)}
    if lengths is not None:
        arrays["lengths"] = np.asarray(lengths, dtype=np.int64)
    for name, per_seed in ranks_by.items():
        for seed, r in zip(seeds, per_seed, strict=False):
            arrays[f"{name}/seed{seed}"] = r
    np.savez_compressed(path, **arrays)
    return path


def reuse_forecaster(name: str, model_cfg: dict, fitted: dict[str, Recommender]) -> bool:
    """The fusion model trains a forecaster inside ``fit``; when this run already fitted one on the same split
    with the same config, hand it over instead of training a second (identical) one."""
    if name != "fusion" or "forecaster" not in fitted or "fitted_forecaster" in model_cfg:
        return False
    if model_cfg.get("forecaster") not in (None, fitted["forecaster"].config):
        return False
    model_cfg["fitted_forecaster"] = fitted["forecaster"]
    return True


def run_dir_for(cfg: EvalConfig) -> Path:
    name = cfg.run_name or datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    path = cfg.out_dir / name
    suffix = 1
    while path.exists() and cfg.run_name is None:
        suffix += 1
        path = cfg.out_dir / f"{name}-{suffix}"
    return path


def run_eval(cfg: EvalConfig, settings: Settings | None = None, *, progress: bool = True,
             console: Console | None = None, write: bool = True, command: str = "",
             on_model_done: Callable[[ModelResult], None] | None = None) -> EvalResult:
    """Run the whole evaluation; writes ``metrics.json``, ``report.md`` and plots when ``write``."""
    from evorec.tools.data.loader import load_dataset

    settings = settings or get_settings()
    console = console or Console(stderr=True)
    check_models(cfg.models)
    if any(k < 1 for k in cfg.ks):
        raise InvalidRequestError(f"--k values must be >= 1, got {cfg.ks}")
    cfg = cfg.model_copy(update={"ks": sorted(set(cfg.ks))})
    limit_threads(cfg.threads or settings.threads)
    started = time.perf_counter()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")

    ds = load_dataset(cfg.dataset, path=cfg.path, settings=settings)
    data = SequenceData.from_dataset(ds)
    use_text = cfg.text if cfg.text is not None else bool(TEXT_MODELS & set(cfg.models))
    if use_text and not ds.has_item_text:
        console.print(f"{ds.name} has no item text (ids only): text features off", highlight=False)
        use_text = False
    if use_text:
        data.item_text_emb = text_embeddings(ds, data, settings, console)
    split = make_split(data, cfg.protocol, cutoff_ts=cfg.cutoff_ts, min_history=cfg.min_history,
                       cutoff_quantile=cfg.cutoff_quantile)
    if not len(split.test.targets):
        raise InvalidRequestError(f"the {cfg.protocol} split of {ds.name} has no test cases")
    info = DatasetInfo(name=ds.name, fingerprint=ds.fingerprint(), n_users=len(data.user_ids), n_items=data.n_items,
                       n_events=int(sum(len(h) for h in data.histories)), n_categories=data.n_categories)
    console.print(f"[bold]{ds.name}[/bold] {info.n_users} users, {info.n_items} items, {info.n_events} events; "
                  f"protocol {cfg.protocol}: {split.details['test_cases']} test cases, "
                  f"{split.details['valid_cases']} validation cases", highlight=False)
    result = EvalResult(config=cfg, started_at=started_at, dataset=info, split=split.details,
                        text_embeddings=use_text, versions=versions(), command=command)
    user_counts = item_user_counts(split.train.histories, data.n_items)
    lengths = np.array([len(h) for h in split.test.histories], dtype=np.int64)
    valid = split.valid if len(split.valid.targets) else None

    run_dir = run_dir_for(cfg) if write else None
    partial = run_dir / "metrics.partial.json" if run_dir else None
    seeds = list(cfg.seeds or [cfg.seed])
    result.seeds = seeds
    runs: dict[str, list[SeedRun]] = {n: [] for n in cfg.models}
    ranks_by: dict[str, list[np.ndarray]] = {n: [] for n in cfg.models}
    first_fit: dict[str, FitReport] = {}
    shown: dict[str, dict] = {}
    for seed in seeds:
        fitted: dict[str, Recommender] = {}
        for name in cfg.models:
            console.print(f"[bold cyan]{name}[/bold cyan]: fitting (seed {seed}) ...", highlight=False)
            model_cfg = dict(cfg.overrides.get(name, {}))
            reused = reuse_forecaster(name, model_cfg, fitted)
            try:
                model = create_model(name, **model_cfg)
            except (ValueError, TypeError) as e:
                raise InvalidRequestError(f"bad config for model {name}: {' '.join(str(e).split())[:300]}") from e
            seed_everything(seed)
            t0, c0 = time.perf_counter(), time.process_time()
            fit = model.fit(split.train, valid, seed=seed, progress=progress)
            fit_s, fit_cpu = time.perf_counter() - t0, time.process_time() - c0
            metrics, ranks, score_s = evaluate_model(model, split, cfg.ks, cfg.batch_size, user_counts)
            shown_cfg = dict(cfg.overrides.get(name, {}))
            if reused:
                shown_cfg["fitted_forecaster"] = "reused from this run (its fit time is not counted here)"
            shown[name] = shown_cfg
            first_fit.setdefault(name, fit)
            ranks_by[name].append(ranks)
            runs[name].append(SeedRun(seed=seed, metrics=metrics, fit_seconds=fit_s, fit_cpu_seconds=fit_cpu,
                                      peak_rss_mb=peak_rss_mb(), score_seconds=score_s, epochs_run=fit.epochs_run,
                                      best_epoch=fit.best_epoch, seconds_to_best=fit.seconds_to_best,
                                      best_valid_ndcg10=fit.best_valid_ndcg10))
            console.print(f"  {name} seed {seed}: NDCG@10 {metrics.get('NDCG@10', float('nan')):.4f}  "
                          f"HR@10 {metrics.get('HR@10', float('nan')):.4f}  fit {fit_s:.1f}s  score {score_s:.2f}s",
                          highlight=False)
            result.models = [aggregate(n, shown[n], runs[n], ranks_by[n], first_fit[n], lengths)
                             for n in cfg.models if runs[n]]
            if partial is not None:  # a long run that is stopped still leaves the models finished so far
                partial.parent.mkdir(parents=True, exist_ok=True)
                partial.write_text(result.model_dump_json(indent=2))
            if on_model_done and seed == seeds[-1]:
                on_model_done(result.model(name))
            if name == "forecaster" and "fusion" in cfg.models:
                fitted[name] = model
            del model
        fitted.clear()
    result.intervals = pairwise_intervals(cfg.models, ranks_by, n_boot=cfg.n_boot)

    if cfg.mix_eval and "forecaster" in cfg.models:
        result.mix = mix_evaluation(data, cfg, progress, console)

    result.wall_seconds = time.perf_counter() - started
    if run_dir is not None:
        write_run(result, run_dir)
        save_ranks(run_dir / "ranks.npz", split.test.user_ids, split.test.targets, seeds, ranks_by, lengths)
        if partial is not None:
            partial.unlink(missing_ok=True)
    return result


def write_run(result: EvalResult, run_dir: Path) -> Path:
    from evorec.evals.plots import write_plots
    from evorec.evals.report import render_report

    run_dir.mkdir(parents=True, exist_ok=True)
    result.run_dir = run_dir
    plots = write_plots(result, run_dir) if result.config.plots else []
    (run_dir / "metrics.json").write_text(result.model_dump_json(indent=2))
    (run_dir / "report.md").write_text(render_report(result, plots=[p.name for p in plots]))
    return run_dir


def command_line() -> str:
    return " ".join(["evorec", *sys.argv[1:]]) if sys.argv else ""


__all__ = ["EvalConfig", "EvalResult", "check_models", "command_line", "run_eval", "write_run"]

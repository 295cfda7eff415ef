"""Markdown report of an evaluation run: metrics table (best per column in bold), config, timings."""

from __future__ import annotations

import json

from evorec.evals.results import EvalResult

# coverage and novelty are descriptive (higher is not simply better), so they are not bolded
_BOLD_PREFIXES = ("HR@", "NDCG@", "MRR")


def _fmt(v: float) -> str:
    return f"{v:.4f}"


def metrics_table(result: EvalResult, names: list[str] | None = None) -> str:
    """One row per model, one column per metric; the best value of each accuracy column in bold; ``± sd`` over
    seeds when the run had several."""
    several = len(result.seeds) > 1
    names = names or [n for n in result.metric_names() if n.startswith(_BOLD_PREFIXES)]
    best = {n: max((m.metrics.get(n, float("-inf")) for m in result.models), default=0.0) for n in names}
    lines = ["| model | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for m in result.models:
        cells = []
        for n in names:
            v = m.metrics.get(n)
            if v is None:
                cells.append("–")
            else:
                txt = _fmt(v)
                if n.startswith(_BOLD_PREFIXES) and v == best[n] and len(result.models) > 1:
                    txt = f"**{txt}**"
                if several and n in m.metrics_sd:
                    txt += f" ± {_fmt(m.metrics_sd[n])}"
                cells.append(txt)
        lines.append(f"| {m.name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def ratios_to(result: EvalResult, baseline: str, metric: str = "NDCG@10") -> str:
    base = result.model(baseline).metrics.get(metric, 0.0)
    rows = [f"| model | {metric} | × {baseline} |", "|---|---:|---:|"]
    for m in result.models:
        v = m.metrics.get(metric, 0.0)
        rows.append(f"| {m.name} | {_fmt(v)} | {v / base:.3f} |" if base > 0 else f"| {m.name} | {_fmt(v)} | – |")
    return "\n".join(rows)


def intervals_table(result: EvalResult) -> str:
    """NDCG@10 ratios with paired bootstrap intervals: every model against the reference models of the run
    (SASRec+ and the best single model), plus the forecaster / fusion against every other model."""
    names = [m.name for m in result.models]
    singles = [m for m in result.models if m.name != "fusion"]
    refs = [n for n in ("sasrec_ce",) if n in names]
    if singles:
        best = max(singles, key=lambda m: m.metrics.get("NDCG@10", 0.0)).name
        if best not in refs:
            refs.append(best)
    rows = ["| model | vs | NDCG@10 ratio | 95 % interval | interval above 1 |", "|---|---|---:|---:|:---:|"]
    seen: set[tuple[str, str]] = set()
    wanted = [(a, b) for b in refs for a in names if a != b]
    wanted += [(a, b) for a in ("forecaster", "fusion") if a in names for b in names if b != a]
    for a, b in wanted:
        if (a, b) in seen:
            continue
        seen.add((a, b))
        try:
            r = result.interval(a, b)
        except KeyError:
            continue
        rows.append(f"| {a} | {b} | {r.ratio:.3f} | [{r.lo:.3f}, {r.hi:.3f}] | {'yes' if r.above_one else 'no'} |")
    return "\n".join(rows)


def render_report(result: EvalResult, plots: list[str] | None = None) -> str:
    cfg = result.config
    ds = result.dataset
    out = [f"# evorec evaluation — {ds.name}, protocol `{cfg.protocol}`", ""]
    if result.command:
        out += [f"Command: `{result.command}`", ""]
    seeds = result.seeds or [cfg.seed]
    seed_txt = (f"seeds {', '.join(map(str, seeds))} (metrics are means ± sample sd over seeds)" if len(seeds) > 1
                else f"seed {seeds[0]}")
    out += [f"Started {result.started_at} (UTC), wall time {result.wall_seconds:.1f} s, {seed_txt}.", ""]
    out += ["## Ranking metrics (full catalog, seen items excluded, pessimistic ties)", "",
            f"{result.models[0].n_cases if result.models else 0} test cases. "
            "HR@K = Recall@K (one target per case). MRR is over the full ranking; MRR@K counts ranks ≤ K only. "
            "Best per column in **bold**.", "",
            metrics_table(result), ""]
    if result.intervals:
        out += ["### Paired comparisons (same test cases)", "",
                f"Ratio of mean NDCG@10 (per-case gains averaged over the seeds), 95 % percentile interval from "
                f"{result.intervals[0].n_boot} paired bootstrap resamples of the test cases. "
                "All ordered pairs are in `metrics.json` (`intervals`).", "", intervals_table(result), ""]
    extra = [n for n in result.metric_names() if not n.startswith(_BOLD_PREFIXES)]
    if extra:
        out += ["### Catalog coverage and novelty of the top-K lists", "",
                "Coverage@K: share of the catalog in any top-K list. Novelty@K: mean self-information "
                "−log2 p(item) (p = share of training users with the item, add-one) of recommended items.", "",
                metrics_table(result, extra), ""]
    names = [m.name for m in result.models]
    for base in ("sasrec_ce", "pop"):
        if base in names and len(names) > 1:
            out += [f"### NDCG@10 relative to {base}", "", ratios_to(result, base), ""]
            break
    out += ["## Fit times, per model and seed", "",
            "Wall and CPU seconds of `fit` (the machine may be shared: CPU seconds are the steadier figure); peak RSS "
            "is the process's peak so far (per model only when one model runs per process).", "",
            "| model | seed | fit (s) | fit CPU (s) | score test (s) | epochs run | best epoch | to best (s) | "
            "best valid NDCG@10 | test NDCG@10 | peak RSS (MiB) |", "|---|" + "---:|" * 10]
    for m in result.models:
        for r in m.runs:
            bv = _fmt(r.best_valid_ndcg10) if r.best_valid_ndcg10 is not None else "–"
            rss = f"{r.peak_rss_mb:.0f}" if r.peak_rss_mb is not None else "–"
            out.append(f"| {m.name} | {r.seed} | {r.fit_seconds:.2f} | {r.fit_cpu_seconds:.1f} | "
                       f"{r.score_seconds:.2f} | {r.epochs_run} | {r.best_epoch} | {r.seconds_to_best:.1f} | {bv} | "
                       f"{_fmt(r.metrics.get('NDCG@10', float('nan')))} | {rss} |")
    out.append("")
    if result.models and any(m.by_history_length for m in result.models):
        buckets = [b.label for b in result.models[0].by_history_length]
        counts = [str(b.n) for b in result.models[0].by_history_length]
        out += ["## NDCG@10 by test-history length (events)", "",
                "| model | " + " | ".join(buckets) + " |", "|---|" + "---:|" * len(buckets),
                "| *cases* | " + " | ".join(counts) + " |"]
        for m in result.models:
            out.append(f"| {m.name} | " + " | ".join(_fmt(b.ndcg10) for b in m.by_history_length) + " |")
        out.append("")
    if result.mix is not None:
        mix = result.mix
        out += ["## Interest evolution: category-mix forecast", "",
                f"Each user's last {mix.horizon} events are held out; the forecaster (trained on the rest) predicts "
                f"their category mix. Mean divergence from the realised mix over {mix.n_users} users "
                f"(lower is better; forecaster fits {mix.fit_seconds:.1f} s"
                + (f", seeds {', '.join(map(str, mix.seeds))}, ± sd over seeds" if len(mix.seeds) > 1 else "")
                + ").", "", "| method | mean KL | mean JS |", "|---|---:|---:|"]
        best_js = min(v.js for v in mix.methods.values())
        best_kl = min(v.kl for v in mix.methods.values())
        sd = len(mix.seeds) > 1
        for name, v in mix.methods.items():
            js = f"**{_fmt(v.js)}**" if v.js == best_js else _fmt(v.js)
            kl = f"**{_fmt(v.kl)}**" if v.kl == best_kl else _fmt(v.kl)
            if sd:
                js, kl = f"{js} ± {_fmt(v.js_sd)}", f"{kl} ± {_fmt(v.kl_sd)}"
            out.append(f"| {name} | {kl} | {js} |")
        out.append("")
        if mix.intervals:
            out += _interval_table("Forecaster / naive divergence ratio (< 1: the forecaster is closer to the realised "
                                   "mix), 95 % paired bootstrap interval over users:", "ratio", 1.0, ".3f",
                                   [(r.b, r.metric, r.ratio, r.lo, r.hi) for r in mix.intervals])
        if mix.diff_intervals:
            out += _interval_table("Forecaster minus naive divergence (< 0: the forecaster is closer to the realised "
                                   "mix), 95 % paired bootstrap interval over users:", "difference", 0.0, "+.4f",
                                   [(d.b, d.metric, d.diff, d.lo, d.hi) for d in mix.diff_intervals])
        if mix.blends:
            out += ["`forecaster` is the head's forecast pooled with the learned recency model's and the naive "
                    "mixes, `forecaster_head` the head alone, `forecaster_recency` the recency model alone (fitted "
                    "on rolling windows of the training histories); the pool (temperature, weights) was chosen per "
                    "seed on out-of-sample calibration windows of a quarter of the users, never on the test "
                    "windows:", ""]
            for b in mix.blends:
                out.append(f"- T {b['temperature']}, head {b['w_head']:.2f}, recency model "
                           f"{b.get('w_recency', 0.0):.2f}, all-time {b['w_all']:.2f}, "
                           f"last window {b['w_last']:.2f}, uniform {b['w_uniform']:.2f} "
                           f"({b['n_cases']} calibration cases)")
            out.append("")
    if plots:
        out += ["## Plots", ""] + [f"![{p}]({p})" for p in plots] + [""]
    out += ["## Setup", "",
            f"- dataset: `{ds.name}` (fingerprint `{ds.fingerprint}`): {ds.n_users} users, {ds.n_items} items, "
            f"{ds.n_events} events, {ds.n_categories} categories",
            f"- split: `{json.dumps(result.split)}`",
            f"- item text embeddings: {'yes' if result.text_embeddings else 'no'}",
            f"- versions: `{json.dumps(result.versions)}`", "",
            "Config:", "", "```json", cfg.model_dump_json(indent=2), "```", ""]
    for m in result.models:
        if m.fit.history and len(m.fit.history) <= 40:
            out += [f"<details><summary>{m.name}: fit history (validation)</summary>", "", "```json",
                    json.dumps(m.fit.history, indent=None), "```", "</details>", ""]
    return "\n".join(out)


def _interval_table(intro: str, value: str, below: float, spec: str,
                    rows: list[tuple[str, str, float, float, float]]) -> list[str]:
    """Markdown lines: one row per (baseline, metric, value, lo, hi), saying whether the interval lies below
    ``below`` (the forecaster closer to the realised mix)."""
    out = [intro, "", f"| vs | metric | {value} | 95 % interval | interval below {below:g} |",
           "|---|---|---:|---:|:---:|"]
    for b, metric, v, lo, hi in rows:
        out.append(f"| {b} | {metric} | {v:{spec}} | [{lo:{spec}}, {hi:{spec}}] | {'yes' if hi < below else 'no'} |")
    return [*out, ""]

"""Markdown report of an evaluation run: metrics table (best per column in bold), config, timings."""

from __future__ import annotations

import json

from evorec.evals.results import EvalResult

# coverage and novelty are descriptive (higher is not simply better), so they are not bolded
_BOLD_PREFIXES = ("HR@", "NDCG@", "MRR")


def _fmt(v: float) -> str:
    return f"{v:.4f}"


def metrics_table(result: EvalResult, names: list[str] | None = None) -> str:
    """One row per model, one column per metric; the best value of each accuracy column in bold."""
    names = names or [n for n in result.metric_names() if n.startswith(_BOLD_PREFIXES)]
    best = {n: max((m.metrics.get(n, float("-inf")) for m in result.models), default=0.0) for n in names}
    lines = ["| model | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for m in result.models:
        cells = []
        for n in names:
            v = m.metrics.get(n)
            if v is None:
                cells.append("–")
            elif n.startswith(_BOLD_PREFIXES) and v == best[n] and len(result.models) > 1:
                cells.append(f"**{_fmt(v)}**")
            else:
                cells.append(_fmt(v))
        lines.append(f"| {m.name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def ratios_to(result: EvalResult, baseline: str, metric: str = "NDCG@10") -> str:
    base = result.model(baseline).metrics.get(metric, 0.0)
    rows = [f"| model | {metric} | × {baseline} |", "|---|---:|---:|"]
    for m in result.models:
        v = m.metrics.get(metric, 0.0)
        rows.append(f"| {m.name} | {_fmt(v)} | {v / base:.3f} |" if base > 0 else f"| {m.name} | {_fmt(v)} | – |")
    return "\n".join(rows)


def render_report(result: EvalResult, plots: list[str] | None = None) -> str:
    cfg = result.config
    ds = result.dataset
    out = [f"# evorec evaluation — {ds.name}, protocol `{cfg.protocol}`", ""]
    if result.command:
        out += [f"Command: `{result.command}`", ""]
    out += [f"Started {result.started_at} (UTC), wall time {result.wall_seconds:.1f} s, seed {cfg.seed}.", ""]
    out += ["## Ranking metrics (full catalog, seen items excluded, pessimistic ties)", "",
            f"{result.models[0].n_cases if result.models else 0} test cases. "
            "HR@K = Recall@K (one target per case). Best per column in **bold**.", "",
            metrics_table(result), ""]
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
    out += ["## Wall times", "", "| model | fit (s) | score test (s) | epochs run | best epoch | to best (s) | "
            "best valid NDCG@10 |", "|---|---:|---:|---:|---:|---:|---:|"]
    for m in result.models:
        f = m.fit
        bv = _fmt(f.best_valid_ndcg10) if f.best_valid_ndcg10 is not None else "–"
        out.append(f"| {m.name} | {m.fit_seconds:.2f} | {m.score_seconds:.2f} | {f.epochs_run} | {f.best_epoch} | "
                   f"{f.seconds_to_best:.1f} | {bv} |")
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
                f"(lower is better; forecaster fit {mix.fit_seconds:.1f} s).", "",
                "| method | mean KL | mean JS |", "|---|---:|---:|"]
        best_js = min(v.js for v in mix.methods.values())
        for name, v in mix.methods.items():
            js = f"**{_fmt(v.js)}**" if v.js == best_js else _fmt(v.js)
            out.append(f"| {name} | {_fmt(v.kl)} | {js} |")
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

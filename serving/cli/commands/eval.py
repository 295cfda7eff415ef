"""``evorec eval``: offline evaluation of recommenders on logged data (full-catalog ranking)."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from evorec.errors import InvalidRequestError
from evorec.settings import get_settings

console = Console(stderr=True)


def parse_list(text: str, what: str) -> list[str]:
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise InvalidRequestError(f"--{what} needs at least one value")
    return items


def parse_ks(text: str) -> list[int]:
    try:
        ks = [int(t) for t in parse_list(text, "k")]
    except ValueError as e:
        raise InvalidRequestError(f"--k must be comma-separated integers like 5,10,20, got {text!r}") from e
    if any(k < 1 for k in ks):
        raise InvalidRequestError(f"--k values must be >= 1, got {text!r}")
    return ks


def parse_seeds(text: str) -> list[int]:
    try:
        out = [int(t) for t in parse_list(text, "seeds")]
    except ValueError as e:
        raise InvalidRequestError(f"--seeds must be comma-separated integers like 0,1,2, got {text!r}") from e
    if len(set(out)) != len(out) or any(s < 0 for s in out):
        raise InvalidRequestError(f"--seeds must be distinct non-negative integers, got {text!r}")
    return out


def parse_sets(values: list[str]) -> dict[str, dict[str, Any]]:
    """``model.key=value`` (value parsed as JSON when it can be) → {model: {key: value}}."""
    out: dict[str, dict[str, Any]] = {}
    for item in values:
        lhs, sep, raw = item.partition("=")
        model, dot, key = lhs.partition(".")
        if not sep or not dot or not model or not key:
            raise InvalidRequestError(f"--set expects MODEL.KEY=VALUE (e.g. sasrec_ce.epochs=5), got {item!r}")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        out.setdefault(model.strip(), {})[key.strip()] = value
    return out


def register(app: typer.Typer) -> None:
    @app.command("eval")
    def eval_cmd(
        dataset: Annotated[str, typer.Option(help="synthetic | ml-100k | csv.")] = "synthetic",
        path: Annotated[Path | None, typer.Option(help="Dataset directory (needed for csv).")] = None,
        protocol: Annotated[str, typer.Option(help="loo (leave-one-out) | temporal (global cut-off).")] = "loo",
        models: Annotated[str, typer.Option(help="Comma-separated model names (see --list-models).")]
        = "pop,recent_pop,itemknn,markov",
        seed: Annotated[int, typer.Option(help="Random seed (same seed → same numbers on CPU).")] = 0,
        seeds: Annotated[str | None, typer.Option(help="Several seeds, comma-separated (e.g. 0,1,2): each model is "
                                                  "fitted per seed; mean ± sd and paired bootstrap intervals.")]
        = None,
        out: Annotated[Path, typer.Option(help="Runs folder; each run writes <out>/<timestamp>/.")] = Path("runs"),
        k: Annotated[str, typer.Option("--k", help="Cut-offs, comma-separated.")] = "5,10,20",
        cutoff: Annotated[int | None, typer.Option(help="Temporal cut-off (unix seconds).")] = None,
        cutoff_quantile: Annotated[float, typer.Option(min=0.01, max=0.99, help="Temporal cut-off as a quantile of "
                                                       "event times when --cutoff is not given.")] = 0.9,
        min_history: Annotated[int, typer.Option(min=1, help="Fewest history events for a test case.")] = 1,
        set_: Annotated[list[str] | None, typer.Option("--set", help="Model config MODEL.KEY=VALUE "
                                                       "(repeatable), e.g. --set sasrec_ce.epochs=5.")] = None,
        text: Annotated[bool | None, typer.Option("--text/--no-text", help="Item text embeddings (default: when a "
                                                  "model uses them).", show_default=False)] = None,
        mix: Annotated[bool, typer.Option("--mix/--no-mix", help="Category-mix evaluation when the forecaster "
                                          "is among the models.")] = True,
        threads: Annotated[int | None, typer.Option(min=1, max=256, help="torch/BLAS threads.")] = None,
        batch_size: Annotated[int, typer.Option(min=1, help="Test cases scored per batch.")] = 256,
        name: Annotated[str | None, typer.Option(help="Run folder name instead of a timestamp.")] = None,
        plots: Annotated[bool, typer.Option("--plots/--no-plots", help="Write PNG plots.")] = True,
        list_models: Annotated[bool, typer.Option("--list-models", help="List the available models and exit.")]
        = False,
    ) -> None:
        """Fit each model on the split, rank the full catalog for every test case, write metrics + report + plots."""
        from evorec.evals.results import EvalConfig
        from evorec.evals.runner import check_models, command_line, run_eval
        from evorec.tools import available_models

        if list_models:
            typer.echo("\n".join(available_models()))
            return
        if protocol not in ("loo", "temporal"):
            raise InvalidRequestError(f"--protocol must be loo or temporal, not {protocol!r}")
        names = parse_list(models, "models")
        check_models(names)
        overrides = parse_sets(set_ or [])
        stray = sorted(set(overrides) - set(names))
        if stray:
            raise InvalidRequestError(f"--set names model(s) not being evaluated: {', '.join(stray)}")
        seed_list = parse_seeds(seeds) if seeds is not None else None
        cfg = EvalConfig(dataset=dataset, path=path, protocol=protocol, models=names, ks=parse_ks(k),
                         seed=seed_list[0] if seed_list else seed, seeds=seed_list,
                         out_dir=out, run_name=name, cutoff_ts=cutoff, cutoff_quantile=cutoff_quantile,
                         min_history=min_history, batch_size=batch_size, text=text, overrides=overrides,
                         mix_eval=mix, threads=threads, plots=plots)
        if not console.is_terminal:  # no live progress bars in a log file: log each training epoch instead
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
            logger = logging.getLogger("evorec")
            logger.addHandler(handler)
            logger.setLevel(logging.INFO)
        settings = get_settings()
        result = run_eval(cfg, settings, progress=True, console=console, command=command_line())
        table = Table(title=f"{result.dataset.name} · {cfg.protocol} · {result.models[0].n_cases} test cases")
        cols = [c for c in result.metric_names() if c.startswith(("HR@", "NDCG@", "MRR"))]
        table.add_column("model")
        for c in cols:
            table.add_column(c, justify="right")
        table.add_column("fit s", justify="right")
        best = {c: max(m.metrics[c] for m in result.models) for c in cols}
        for m in result.models:
            cells = [f"[bold]{m.metrics[c]:.4f}[/bold]" if m.metrics[c] == best[c] else f"{m.metrics[c]:.4f}"
                     for c in cols]
            table.add_row(m.name, *cells, f"{m.fit_seconds:.1f}")
        out_console = Console()
        if not out_console.is_terminal:
            out_console.width = 160
        out_console.print(table)
        if result.mix is not None:
            mix_t = Table(title=f"category mix of the next {result.mix.horizon} events (lower is better)")
            for c in ("method", "mean KL", "mean JS"):
                mix_t.add_column(c)
            for mname, v in result.mix.methods.items():
                mix_t.add_row(mname, f"{v.kl:.4f}", f"{v.js:.4f}")
            out_console.print(mix_t)
        out_console.print(f"run written to {result.run_dir} (report.md, metrics.json, plots)", highlight=False)

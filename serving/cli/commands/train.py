"""``evorec train``: train everything serving needs — the interest forecaster, then the fusion ranker on its scores —
on the dataset plus the events added to the history store since ingest; ``evorec train-fusion``: the fusion ranker
alone. Both run :func:`evorec.tools.prepare`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from evorec.settings import get_settings

if TYPE_CHECKING:
    from evorec.tools import PrepareReport

console = Console(stderr=True)


def register(app: typer.Typer) -> None:
    @app.command()
    def train(
        dataset: Annotated[str | None, typer.Option(help="synthetic | ml-100k | csv (default settings.dataset).")]
        = None,
        path: Annotated[Path | None, typer.Option(help="Dataset directory (needed for csv).")] = None,
        epochs: Annotated[int | None, typer.Option(min=1, max=10_000, help="Maximum epochs (early stopping on "
                                                                          "each user's last event).")] = None,
        device: Annotated[str | None, typer.Option(help="auto | cpu | cuda (auto: CUDA + bf16 when present).")]
        = None,
        seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
        text: Annotated[bool, typer.Option("--text/--no-text", help="Use item text embeddings.")] = True,
        threads: Annotated[int | None, typer.Option(min=1, max=256, help="torch threads (default settings).")]
        = None,
        fusion: Annotated[bool, typer.Option("--fusion/--no-fusion", help="Also fit the fusion ranker on the new "
                                                                        "forecaster's scores (default).")] = True,
        store_events: Annotated[bool, typer.Option("--store-events/--files-only",
                                                   help="Train on the dataset files plus the events added to the "
                                                        "history store since ingest (default), or the files "
                                                        "alone.")] = True,
        ingest: Annotated[bool, typer.Option("--ingest/--no-ingest", help="Ingest the dataset into the history "
                                             "store first (as `evorec ingest`).")] = False,
        delta: Annotated[Path | None, typer.Option(help="The store's difference from the dataset files, as a JSON "
                                                        "file the API's retrain job writes; the store is then not "
                                                        "opened.")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Log progress as plain lines and end with the report's "
                                              "summary as one JSON line (the retrain job's log).")] = False,
    ) -> None:
        """Train the temporal interest forecaster, then fit the fusion ranker on its scores; artifacts go to
        EVOREC_HOME/artifacts/<dataset>/{forecaster,fusion}."""
        from evorec.errors import InvalidRequestError
        from evorec.tools import PrepareOptions, prepare

        if device not in (None, "auto", "cpu", "cuda"):
            raise InvalidRequestError(f"--device must be auto, cpu or cuda, not {device!r}")
        if delta is not None and not delta.is_file():
            raise InvalidRequestError(f"--delta {delta}: no such file")
        settings = get_settings().with_overrides(dataset=dataset, device=device, threads=threads)
        opts = PrepareOptions(dataset=settings.dataset, path=path, ingest=ingest, train=True, fusion=fusion,
                              store_events=store_events, delta_file=delta, epochs=epochs, seed=seed,
                              device=device, text=text, progress=True)
        say = (lambda m: print(m, flush=True)) if as_json else (lambda m: console.print(m, highlight=False))
        report = prepare(settings, opts, say=say)
        if as_json:
            print(json.dumps(report.summary()), flush=True)
            return
        print_training_report(report, settings.artifacts_dir(report.dataset))

    @app.command("train-fusion")
    def train_fusion(
        dataset: Annotated[str | None, typer.Option(help="Dataset (default settings.dataset).")] = None,
        path: Annotated[Path | None, typer.Option(help="Dataset directory (needed for csv).")] = None,
        seed: Annotated[int, typer.Option(help="Random seed (holdout split, sampling).")] = 0,
        trends: Annotated[bool, typer.Option("--trends/--no-trends", help="Trend-label features (statsmodels fits "
                                                                         "per validation user).")] = True,
    ) -> None:
        """Fit the fusion ranker alone, on the data the current forecaster was trained on (`evorec train` does this
        after every forecaster training; this refits, e.g. with --no-trends)."""
        from evorec.tools import PrepareOptions, prepare

        settings = get_settings().with_overrides(dataset=dataset)
        opts = PrepareOptions(dataset=settings.dataset, path=path, ingest=False, train=False, fusion=True, seed=seed,
                              fusion_trends=trends, progress=True)
        report = prepare(settings, opts, say=lambda m: console.print(m, highlight=False))
        print_training_report(report, settings.artifacts_dir(report.dataset))


def print_training_report(report: PrepareReport, artifacts: Path) -> None:
    """The final table of a training run: data, forecaster, fusion, times."""
    t = Table(title=f"trained {report.dataset}", show_header=False)
    t.add_row("artifacts", str(artifacts))
    t.add_row("training events", f"{report.events} ({report.added_events} added since ingest, "
                                 f"{report.removed_events} forgotten)")
    man = report.forecaster
    if man is not None:
        t.add_row("forecaster epochs run / best", f"{man.fit.epochs_run} / {man.fit.best_epoch}")
        if man.fit.best_valid_ndcg10 is not None:
            t.add_row("forecaster valid NDCG@10 (last event)", f"{man.fit.best_valid_ndcg10:.4f}")
        t.add_row("forecaster train time / to best", f"{man.fit.train_seconds:.1f} s / {man.fit.seconds_to_best:.1f} s")
        t.add_row("text embeddings", "yes" if man.text_embeddings else "no")
        t.add_row("horizon (events)", str(man.horizon))
    fus = report.fusion
    if fus is not None:
        chosen = fus.fit.chosen
        t.add_row("fusion model chosen", chosen)
        t.add_row("fusion holdout NDCG@10", f"{fus.fit.holdout_ndcg10[chosen]:.4f} (forecaster alone "
                                            f"{fus.fit.forecaster_only_ndcg10:.4f})")
        t.add_row("fusion pool recall (target in candidates)", f"{fus.fit.pool_recall:.3f}")
        t.add_row("fusion validation users / rows", f"{fus.fit.n_users} / {fus.fit.n_rows}")
        t.add_row("fusion fit time", f"{fus.seconds:.1f} s")
    else:
        t.add_row("fusion", "not fitted (--no-fusion): its weights may be stale; run `evorec train-fusion`")
    for stage, sec in report.seconds.items():
        t.add_row(f"time: {stage}", f"{sec:.1f} s")
    Console().print(t)

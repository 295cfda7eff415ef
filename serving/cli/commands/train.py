"""``evorec train``: train the interest forecaster on a dataset and write its serving artifacts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from evorec.settings import get_settings

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
    ) -> None:
        """Train the temporal interest forecaster; artifacts go to EVOREC_HOME/artifacts/<dataset>/forecaster."""
        from evorec.errors import InvalidRequestError
        from evorec.tools.data.loader import load_dataset
        from evorec.tools.forecast.artifacts import artifacts_path, train_artifacts

        if device not in (None, "auto", "cpu", "cuda"):
            raise InvalidRequestError(f"--device must be auto, cpu or cuda, not {device!r}")
        settings = get_settings().with_overrides(dataset=dataset, device=device, threads=threads)
        ds = load_dataset(settings.dataset, path=path, settings=settings)
        console.print(f"dataset [bold]{ds.name}[/bold]: {ds.n_users} users, {ds.n_items} items, "
                      f"{len(ds.interactions)} events (fingerprint {ds.fingerprint()})", highlight=False)
        if text:
            console.print("computing item text embeddings ...", highlight=False)
        man = train_artifacts(ds, settings, epochs=epochs, device=device, seed=seed, progress=True,
                              use_embedder=text)
        t = Table(title="forecaster trained", show_header=False)
        t.add_row("artifacts", str(artifacts_path(settings, ds.name)))
        t.add_row("epochs run / best", f"{man.fit.epochs_run} / {man.fit.best_epoch}")
        if man.fit.best_valid_ndcg10 is not None:
            t.add_row("valid NDCG@10 (last event)", f"{man.fit.best_valid_ndcg10:.4f}")
        t.add_row("train time / to best", f"{man.fit.train_seconds:.1f} s / {man.fit.seconds_to_best:.1f} s")
        t.add_row("text embeddings", "yes" if man.text_embeddings else "no")
        t.add_row("horizon (events)", str(man.horizon))
        Console().print(t)

"""Rich progress bars for long store work, or a silent stand-in with the same two methods."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class _Silent:
    def add_task(self, description: str, total: float | None = None, **_: Any) -> int:
        return 0

    def update(self, task: int, **_: Any) -> None:
        return None


@contextmanager
def progress_bar(enabled: bool) -> Iterator[Any]:
    if not enabled:
        yield _Silent()
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  transient=False) as bar:
        yield bar

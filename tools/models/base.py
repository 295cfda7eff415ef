"""The one face every recommender model shows (baselines, SASRec+, the forecaster).

RecBole-style: ``fit`` on training sequences (with an optional validation set for early
stopping), ``full_sort_predict`` scores the whole catalog for a batch of histories.
Adding a model is adding a file in this package with a ``@register``-ed class;
nothing else changes (evals and ranking find it through the registry).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel

from evorec.tools.data.sequences import History, SequenceData


@dataclass
class ValidationSet:
    """Histories and their single held-out next item (leave-one-out validation targets)."""

    histories: list[History]
    targets: np.ndarray  # int64 item index per history
    user_ids: list[str] = field(default_factory=list)


class FitReport(BaseModel):
    model: str
    epochs_run: int = 0
    best_epoch: int = 0
    best_valid_ndcg10: float | None = None
    train_seconds: float = 0.0
    seconds_to_best: float = 0.0
    history: list[dict[str, float]] = []


class Recommender(ABC):
    """Scores every catalog item as a user's next interaction."""

    name: ClassVar[str]

    def __init__(self, **config: Any) -> None:
        self.config = config

    @abstractmethod
    def fit(self, train: SequenceData, valid: ValidationSet | None = None, *, seed: int = 0,
            progress: bool = True) -> FitReport:
        """Learn from ``train``'s histories; may early-stop on ``valid``."""

    @abstractmethod
    def full_sort_predict(self, histories: list[History]) -> np.ndarray:
        """Scores [len(histories), n_items + 1]; column 0 (padding) is ignored by callers.

        Higher is better. Callers mask already-seen items themselves.
        """

    def save(self, path: Path) -> None:  # pragma: no cover - models that persist override
        raise NotImplementedError(f"{self.name} has no checkpoint format")

    @classmethod
    def load(cls, path: Path) -> Recommender:  # pragma: no cover
        raise NotImplementedError(f"{cls.name} has no checkpoint format")

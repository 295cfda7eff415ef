"""The run configuration and results of an offline evaluation (what ``metrics.json`` holds)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from evorec.tools.models.base import FitReport

# test-history length buckets for "NDCG@10 by history length": [lo, hi) in events
HISTORY_BUCKETS: tuple[tuple[int, int], ...] = ((1, 5), (5, 10), (10, 20), (20, 50), (50, 100), (100, 200),
                                                (200, 10**9))


class EvalConfig(BaseModel):
    dataset: str = "synthetic"
    path: Path | None = Field(None, description="Dataset directory (csv; optional for the others).")
    protocol: Literal["loo", "temporal"] = "loo"
    models: list[str] = Field(default_factory=lambda: ["pop", "recent_pop", "itemknn", "markov"], min_length=1)
    ks: list[int] = Field(default_factory=lambda: [5, 10, 20], min_length=1)
    seed: int = 0
    out_dir: Path = Path("runs")
    run_name: str | None = Field(None, description="Run folder name; default a UTC timestamp.")
    cutoff_ts: int | None = Field(None, description="Temporal protocol cut-off (unix s); default the quantile.")
    cutoff_quantile: float = Field(0.9, gt=0, lt=1)
    min_history: int = Field(1, ge=1)
    batch_size: int = Field(256, ge=1, description="Test cases scored per full_sort_predict call.")
    text: bool | None = Field(None, description="Item text embeddings for the models; None = when a model uses them.")
    overrides: dict[str, dict[str, Any]] = Field(default_factory=dict, description="Per-model constructor config.")
    mix_eval: bool = Field(True, description="Category-mix evaluation when the forecaster is evaluated.")
    mix_horizon: int = Field(10, ge=1)
    threads: int | None = Field(None, ge=1)
    plots: bool = True


class BucketMetric(BaseModel):
    lo: int
    hi: int
    n: int
    ndcg10: float
    hr10: float

    @property
    def label(self) -> str:
        return f"{self.lo}+" if self.hi >= 10**9 else f"{self.lo}-{self.hi - 1}"


class ModelResult(BaseModel):
    name: str
    config: dict[str, Any] = Field(default_factory=dict)
    metrics: dict[str, float]
    fit_seconds: float
    score_seconds: float
    n_cases: int
    fit: FitReport
    by_history_length: list[BucketMetric] = Field(default_factory=list)


class DatasetInfo(BaseModel):
    name: str
    fingerprint: str
    n_users: int
    n_items: int
    n_events: int
    n_categories: int


class MixMethod(BaseModel):
    kl: float
    js: float


class MixResult(BaseModel):
    """The forecaster's category-mix forecast vs the realised next-window mix (lower is better)."""

    horizon: int
    n_users: int
    methods: dict[str, MixMethod]
    fit_seconds: float


class EvalResult(BaseModel):
    config: EvalConfig
    started_at: str
    wall_seconds: float = 0.0
    dataset: DatasetInfo
    split: dict[str, Any]
    text_embeddings: bool = False
    versions: dict[str, str] = Field(default_factory=dict)
    models: list[ModelResult] = Field(default_factory=list)
    mix: MixResult | None = None
    run_dir: Path | None = None
    command: str = ""

    def metric_names(self) -> list[str]:
        names: list[str] = []
        for m in self.models:
            for k in m.metrics:
                if k not in names:
                    names.append(k)
        return names

    def model(self, name: str) -> ModelResult:
        for m in self.models:
            if m.name == name:
                return m
        raise KeyError(name)

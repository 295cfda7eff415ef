"""The run configuration and results of an offline evaluation (what ``metrics.json`` holds)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from evorec.evals.stats import DiffInterval, RatioInterval
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
    seeds: list[int] | None = Field(None, min_length=1, description="Several seeds: every model is fitted once per "
                                    "seed; metrics are the mean (and sd) over seeds. None = just ``seed``.")
    n_boot: int = Field(2000, ge=100, description="Paired bootstrap resamples for model-vs-model intervals.")
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


class SeedRun(BaseModel):
    """One fit of one model with one seed."""

    seed: int
    metrics: dict[str, float]
    fit_seconds: float
    fit_cpu_seconds: float = 0.0
    peak_rss_mb: float | None = None
    score_seconds: float
    epochs_run: int
    best_epoch: int
    seconds_to_best: float
    best_valid_ndcg10: float | None = None


class ModelResult(BaseModel):
    """``metrics`` / ``fit_seconds`` / ``by_history_length`` are means over ``runs`` (one per seed); ``fit`` is
    the first seed's fit report."""

    name: str
    config: dict[str, Any] = Field(default_factory=dict)
    metrics: dict[str, float]
    metrics_sd: dict[str, float] = Field(default_factory=dict, description="Sample sd over seeds (0 for one).")
    fit_seconds: float
    score_seconds: float
    n_cases: int
    fit: FitReport
    runs: list[SeedRun] = Field(default_factory=list)
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
    kl_sd: float = 0.0
    js_sd: float = 0.0


class MixResult(BaseModel):
    """The forecaster's category-mix forecast vs the realised next-window mix (lower is better)."""

    horizon: int
    n_users: int
    methods: dict[str, MixMethod]
    fit_seconds: float
    seeds: list[int] = Field(default_factory=list)
    intervals: list[RatioInterval] = Field(
        default_factory=list, description="forecaster / naive divergence ratios (< 1: the forecaster is better), "
                                          "paired bootstrap over users.")
    diff_intervals: list[DiffInterval] = Field(
        default_factory=list, description="forecaster minus naive divergence (< 0: the forecaster is better), "
                                          "paired bootstrap over users.")
    blends: list[dict[str, Any]] = Field(
        default_factory=list, description="Per seed: the calibration of the head chosen on held-out windows.")


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
    seeds: list[int] = Field(default_factory=list)
    intervals: list[RatioInterval] = Field(
        default_factory=list, description="NDCG@10 ratio of every ordered pair of models on the same test cases "
                                          "(per-case gains averaged over seeds), paired bootstrap.")
    run_dir: Path | None = None
    command: str = ""

    def metric_names(self) -> list[str]:
        names: list[str] = []
        for m in self.models:
            for k in m.metrics:
                if k not in names:
                    names.append(k)
        return names

    def interval(self, a: str, b: str, metric: str = "NDCG@10") -> RatioInterval:
        for r in self.intervals:
            if (r.a, r.b, r.metric) == (a, b, metric):
                return r
        raise KeyError((a, b, metric))

    def model(self, name: str) -> ModelResult:
        for m in self.models:
            if m.name == name:
                return m
        raise KeyError(name)

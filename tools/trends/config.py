"""Every threshold the trend engine uses, in one validated object (defaults tuned on the synthetic ground truth)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class TrendConfig(BaseModel):
    # --- bucketing (series.py)
    events_per_bucket: float = Field(4.0, gt=0, description="Target mean events per time bucket.")
    min_buckets: int = Field(8, ge=3, description="Fewest buckets of a model-fitted series.")
    max_buckets: int = Field(36, ge=4, description="Most buckets (caps fitting cost).")
    short_buckets: int = Field(4, ge=2, description="Buckets of a short series (EWMA + bootstrap fallback).")
    min_events: int = Field(3, ge=2, description="Fewer events than this is insufficient history.")
    min_category_events: float = Field(3.0, ge=0, description="A category with fewer events gets the EWMA fallback.")
    min_events_for_models: int = Field(16, ge=4, description="Fewer events than this gets the EWMA fallback.")
    smoothing_events: float = Field(2.0, gt=0, description="Pseudo-events pulling a bucket's share toward the"
                                    " previous one (tames one-event buckets, carries empty ones).")
    recent_fraction: float = Field(0.25, gt=0, lt=1, description="Share of buckets forming the recent window.")
    # --- models (fitting.py)
    min_segment_buckets: int = Field(4, ge=2, description="Fit on the buckets after a change point when at least"
                                     " this many remain, else on the whole series.")
    sarimax_min_buckets: int = Field(24, ge=8, description="SARIMAX is a candidate from this many buckets on ...")
    sarimax_min_events: float = Field(20.0, ge=0, description="... for categories with this many events ...")
    sarimax_max_categories: int = Field(3, ge=0, description="... the largest few only (each costs ~2 ms).")
    interval_level: float = Field(0.9, gt=0.5, lt=1, description="Coverage of forecast intervals.")
    bootstrap_draws: int = Field(100, ge=20)
    ewma_alpha: float = Field(0.2, gt=0, le=1)
    # --- labels (labels.py)
    label_level: float = Field(0.8, gt=0.5, lt=1, description="Coverage of the change interval of a category with"
                               " a change point.")
    label_level_no_cp: float = Field(0.975, gt=0.5, lt=1, description="The same for a category without one (a"
                                     " trend with no detected break needs stronger evidence).")
    reference_window: Literal["before_recent", "first_half"] = Field(
        "before_recent", description="Reference of a category without a change point: the events before the recent"
        " window, or those of the first half of the span.")
    reference_level: float = Field(0.95, gt=0.5, lt=1, description="Coverage of the reference band (shown only).")
    min_abs_change: float = Field(0.10, ge=0, description="Smallest share change (absolute) worth a label.")
    min_ratio: float = Field(2.0, ge=1, description="Smallest relative share change worth a label (x or 1/x).")
    absent_share: float = Field(0.03, ge=0, description="A reference share at or below this counts as absent.")
    # --- change points (changepoints.py)
    cp_min_segment: int = Field(8, ge=2, description="Fewest events on either side of a change point.")
    cp_trim: float = Field(0.15, ge=0, lt=0.5, description="And at least this fraction of the events on either side"
                           " (Andrews' trimming: the sup-LR critical values assume it).")
    cp_min_jump: float = Field(0.25, ge=0, description="Smallest share jump of a change point.")
    cp_min_lr: float = Field(12.0, gt=0, description="Smallest max-split likelihood-ratio statistic of a change point"
                             " (sup-LR, about Andrews' 1 % critical value 12.2).")
    cp_joint_alpha: float = Field(2e-3, gt=0, lt=1, description="Level of the whole-mix max-split test (chi2 quantile;"
                                  " a pointwise level; the per-category test at the split guards it).")
    cp_point_lr: float = Field(6.63, gt=0, description="A category's LR at a significant whole-mix split (chi2 1 %).")
    sudden_max_width: float = Field(0.12, gt=0, lt=1,
                                    description="Largest transition width (fraction of events) still called sudden.")

"""Scoring trend detections against planted drifts (the synthetic dataset's ``drifts.json``).

Matching rules (used by the test and the benchmark):

* Tolerance: a detection's date (``CategoryTrend.since_ts``: its change point, else the start of
  the recent window) must lie within ``tol = max(1 day, tol_fraction x the user's span)`` of the
  planted ``change_ts``; for a gradual change point, the planted date must fall inside its
  transition [start - tol, end + tol].
* Recall targets, one per planted drift:
  - ``emerging`` (to B): B labelled emerging or rising, date within tol.
  - ``fading`` (from A): A labelled fading or dormant, date within tol.
  - ``sudden_switch`` (A → B): both of the above, and a *sudden* change point on A or B within tol.
  - ``slow_drift`` users are scored separately (same two labels, no sudden change point needed).
* Precision: every non-stable label on users planted emerging / fading / sudden_switch / stable is a
  detection. It is correct when the planted mix moves that category the labelled way by at least
  ``min_move`` (mix_after - mix_before) and its date is within tol. ``strict`` precision also requires
  the category to be the planted from/to category (background categories whose share moves only
  because another interest arrived or left then count as false).
* Stable users: a false alarm is any non-stable label or any switch.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from evorec.tools.trends.results import CategoryTrend, UserTrends

UP = {"emerging", "rising"}
DOWN = {"fading", "dormant"}
DAY = 86_400
SCORED_KINDS = ("sudden_switch", "emerging", "fading")


class DetectionScore(BaseModel):
    precision: float
    strict_precision: float
    recall: float
    recall_by_kind: dict[str, float]
    n_targets: dict[str, int]
    detections: int
    correct: int
    strict_correct: int
    stable_clean_rate: float
    stable_users: int
    slow_drift_recall: float
    misses: list[str] = Field(default_factory=list, description="user ids of missed targets")
    false_detections: list[str] = Field(default_factory=list, description="'user:category:label' of false ones")


def _span(t: UserTrends) -> int:
    return int(t.bucket_edges[-1] - t.bucket_edges[0]) if t.bucket_edges else 0


def _within(ts: int | None, target: int | None, tol: float) -> bool:
    return ts is not None and target is not None and abs(ts - target) <= tol


def _dated(c: CategoryTrend, target: int | None, tol: float) -> bool:
    """The detection's date is within tol of the planted change (a gradual change: its transition overlaps)."""
    if c.change is not None and not c.change.sudden and target is not None:
        lo = datetime.fromisoformat(c.change.start).replace(tzinfo=UTC).timestamp()
        hi = datetime.fromisoformat(c.change.end).replace(tzinfo=UTC).timestamp() + DAY
        return lo - tol <= target <= hi + tol
    return _within(c.since_ts, target, tol)


def score_detections(trends: Mapping[str, UserTrends], drifts: list, tol_fraction: float = 0.15,
                     min_move: float = 0.1) -> DetectionScore:
    """``drifts``: ``PlantedDrift`` records (``evorec.tools.data.synthetic``); ``trends``: user id → UserTrends."""
    hits = {k: 0 for k in (*SCORED_KINDS, "slow_drift")}
    n = {k: 0 for k in (*SCORED_KINDS, "slow_drift")}
    detections = correct = strict = stable_users = stable_clean = 0
    misses: list[str] = []
    false: list[str] = []
    for d in drifts:
        t = trends.get(d.user_id)
        if t is None:
            continue
        tol = max(DAY, tol_fraction * _span(t))

        def labelled(cat: str | None, labels: set[str], tt: UserTrends = t, tl: float = tol, dd: Any = d) -> bool:
            c = tt.get(cat) if cat else None
            return c is not None and c.label in labels and _dated(c, dd.change_ts, tl)

        if d.kind == "stable":
            stable_users += 1
            stable_clean += int(not t.with_label("emerging", "rising", "fading", "dormant") and not t.switches)
        if d.kind in SCORED_KINDS or d.kind == "slow_drift":
            n[d.kind] += 1
            up_ok = labelled(d.to_category, UP) if d.to_category else True
            down_ok = labelled(d.from_category, DOWN) if d.from_category else True
            ok = up_ok and down_ok
            if d.kind == "sudden_switch":
                cps = [c.change for c in (t.get(d.from_category), t.get(d.to_category)) if c and c.change]
                ok = ok and any(cp.sudden and _within(cp.ts, d.change_ts, tol) for cp in cps)
            hits[d.kind] += int(ok)
            if not ok:
                misses.append(f"{d.kind}:{d.user_id}")
        if d.kind == "slow_drift":
            continue
        for c in t.categories:
            if c.label == "stable":
                continue
            detections += 1
            move = d.mix_after.get(c.category, 0.0) - d.mix_before.get(c.category, 0.0)
            right_way = move >= min_move if c.label in UP else move <= -min_move
            good = right_way and _dated(c, d.change_ts, tol)
            correct += int(good)
            planted = c.category == (d.to_category if c.label in UP else d.from_category)
            strict += int(good and planted)
            if not good:
                false.append(f"{d.user_id}:{c.category}:{c.label}")
    total = sum(n[k] for k in SCORED_KINDS)
    return DetectionScore(
        precision=correct / detections if detections else 1.0,
        strict_precision=strict / detections if detections else 1.0,
        recall=sum(hits[k] for k in SCORED_KINDS) / total if total else 1.0,
        recall_by_kind={k: hits[k] / n[k] if n[k] else 1.0 for k in SCORED_KINDS},
        n_targets={k: n[k] for k in (*SCORED_KINDS, "slow_drift")}, detections=detections, correct=correct,
        strict_correct=strict, stable_clean_rate=stable_clean / stable_users if stable_users else 1.0,
        stable_users=stable_users, slow_drift_recall=hits["slow_drift"] / n["slow_drift"] if n["slow_drift"] else 1.0,
        misses=misses, false_detections=false,
    )

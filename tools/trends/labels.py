"""Labels decided by intervals, not by slope signs.

"No change" is the category's reference share: the share before its change point when it has
one, else before the recent window. The interval of the change (forecast mean share of the next
window minus the reference; both standard errors combined, at ``label_level``) must exclude
zero (a category without a change point needs the stricter ``label_level_no_cp``), and the move
must be material: at least ``min_abs_change`` absolute and a factor
``min_ratio``. A rise from an absent reference (≤ ``absent_share``) is ``emerging``; a fall to an
absent recent window is ``dormant``.
"""

from __future__ import annotations

import math

from evorec.tools.trends.config import TrendConfig
from evorec.tools.trends.fitting import z_value
from evorec.tools.trends.results import Label


def wilson(successes: float, n: float, level: float) -> tuple[float, float]:
    if n <= 0:
        return 0.0, 1.0
    z = z_value(level)
    p = successes / n
    den = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return max(0.0, centre - half), min(1.0, centre + half)


def change_interval(reference_k: float, reference_n: float, fc_mean: float, fc_low: float, fc_high: float,
                    fc_level: float, level: float) -> tuple[float, float]:
    """Interval (coverage ``level``) of (forecast share - reference share): the forecast's standard error (from
    its interval at ``fc_level``) combined with the reference's binomial one (Jeffreys-smoothed, so an absent
    reference still has one)."""
    z = z_value(level)
    se_fc = max(fc_high - fc_mean, fc_mean - fc_low) / z_value(fc_level)
    p = (reference_k + 0.5) / (reference_n + 1)
    se_ref = math.sqrt(p * (1 - p) / max(reference_n, 1.0))
    ref = reference_k / reference_n if reference_n > 0 else 0.0
    half = z * math.sqrt(se_fc**2 + se_ref**2)
    d = fc_mean - ref
    return d - half, d + half


def decide_label(reference: float, change_low: float, change_high: float, fc_mean: float, recent_share: float,
                 cfg: TrendConfig) -> Label:
    up = change_low > 0 and fc_mean - reference >= cfg.min_abs_change and fc_mean >= cfg.min_ratio * reference
    down = change_high < 0 and reference - fc_mean >= cfg.min_abs_change and fc_mean * cfg.min_ratio <= reference
    if up:
        return "emerging" if reference <= cfg.absent_share else "rising"
    if down:
        return "dormant" if recent_share <= cfg.absent_share else "fading"
    return "stable"

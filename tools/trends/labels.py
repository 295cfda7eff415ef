"""Labels decided by intervals, not by slope signs.

"No change" is the category's reference share: the share before its change point when it has
one, else before the recent window, with a Wilson band at ``reference_level``. The forecast
interval of the next window's mean share (``interval_level``) must lie entirely above the band
(rising) or below it (fading), and the move must be material: at least ``min_abs_change``
absolute and a factor ``min_ratio``. A rise from an absent reference (≤ ``absent_share``) is
``emerging``; a fall to an absent recent window is ``dormant``.
"""

from __future__ import annotations

import math

from scipy.stats import norm

from evorec.tools.trends.config import TrendConfig
from evorec.tools.trends.results import Label


def wilson(successes: float, n: float, level: float) -> tuple[float, float]:
    if n <= 0:
        return 0.0, 1.0
    z = float(norm.ppf(0.5 + level / 2))
    p = successes / n
    den = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return max(0.0, centre - half), min(1.0, centre + half)


def decide_label(reference: float, ref_low: float, ref_high: float, fc_mean: float, fc_low: float, fc_high: float,
                 recent_share: float, cfg: TrendConfig) -> Label:
    up = (fc_low > ref_high and fc_mean - reference >= cfg.min_abs_change
          and fc_mean >= cfg.min_ratio * reference)
    down = (fc_high < ref_low and reference - fc_mean >= cfg.min_abs_change
            and fc_mean * cfg.min_ratio <= reference)
    if up:
        return "emerging" if reference <= cfg.absent_share else "rising"
    if down:
        return "dormant" if recent_share <= cfg.absent_share else "fading"
    return "stable"

"""Paired turn-latency ratio of two agent-suite reports (same scenarios): mean ratio with a 95 % bootstrap interval.

    python paired_latency.py "RUNS_A/*/agent_report.json" "RUNS_B/*/agent_report.json"
"""

from __future__ import annotations

import glob
import json
import sys
from pathlib import Path

import numpy as np


def turn_latencies(pattern: str) -> dict[str, list[float]]:
    report = json.loads(Path(glob.glob(pattern)[0]).read_text())
    return {s["id"]: s["latency_ms_per_turn"] for s in report["scenarios"]}


def main(a_pattern: str, b_pattern: str, n_boot: int = 2000) -> str:
    a, b = turn_latencies(a_pattern), turn_latencies(b_pattern)
    xs: list[float] = []
    ys: list[float] = []
    for sid, turns in a.items():
        if sid in b and len(turns) == len(b[sid]):
            xs += turns
            ys += b[sid]
    x, y = np.asarray(xs), np.asarray(ys)
    idx = np.random.default_rng(0).integers(0, len(x), (n_boot, len(x)))
    ratios = x[idx].mean(1) / y[idx].mean(1)
    lo, hi = np.percentile(ratios, [2.5, 97.5])
    return (f"turns {len(x)}: mean {x.mean() / 1000:.1f} s vs {y.mean() / 1000:.1f} s, ratio "
            f"{x.mean() / y.mean():.3f} [{lo:.3f}, {hi:.3f}]; median ratio per turn {np.median(x / y):.3f}")


if __name__ == "__main__":
    print(main(sys.argv[1], sys.argv[2]))

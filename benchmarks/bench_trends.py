"""Trend engine benchmark: speed per user, all ML-100K users in one batch, forecast accuracy, planted-drift detection.

Repeat with:  OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_trends.py [--users N] [--skip-synthetic]

1. Speed: every user of ML-100K through a fresh ``TrendService`` (cold cache: all fits included), median/p90
   ms per user and the batch wall time (progress bar), plus a warm pass (cache hits).
2. Accuracy on ML-100K ("trend forecast vs last window persists"): each user with >= 20 events is cut at
   80 % of their events. The engine runs on the first 80 %; its next-window forecast of each category's
   share (window mean, clipped at 0, renormalised over categories) is compared with
   (a) the shares of the held-out events inside the forecast window [cut, cut + horizon) (users with >= 5 such
       events), and (b) the shares of the next K held-out events, K = events in the training recent window.
   Baseline: the shares of the training recent window persist. Mean absolute error over the 19 genres,
   averaged over users; ratio < 1 means the trend forecast is better.
3. Detection on the synthetic dataset (seed 7, the test's): precision / recall / stable-clean rate with the
   matching rules of ``evorec.tools.trends.matching``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from evorec.tools.data.loader import load_dataset
from evorec.tools.trends import TrendService


def _user_events(ds) -> dict[str, list[tuple]]:  # type: ignore[no-untyped-def]
    cats = dict(zip(ds.items["item_id"], ds.items["categories"], strict=True))
    out: dict[str, list[tuple]] = {}
    for uid, g in ds.interactions.groupby("user_id", sort=False):
        out[str(uid)] = [(int(t), list(cats[i]), f"{uid}:{r}") for t, i, r in
                         zip(g["ts"], g["item_id"], g["row"], strict=True)]
    return out


def _shares(events: list[tuple], cats: list[str]) -> np.ndarray:
    col = {c: j for j, c in enumerate(cats)}
    v = np.zeros(len(cats))
    for _, cs, _ in events:
        for c in cs:
            v[col[c]] += 1.0 / len(cs)
    return v / v.sum() if v.sum() > 0 else v


def speed(users: dict[str, list[tuple]], categories: list[str]) -> dict[str, float]:
    svc = TrendService(categories)
    per: list[float] = []
    cpu: list[float] = []
    t0 = time.perf_counter()
    for uid, evs in tqdm(users.items(), desc="trends, all users (cold)", unit="user"):
        a, c = time.perf_counter(), time.process_time()
        svc.user_trends(uid, evs)
        per.append((time.perf_counter() - a) * 1e3)
        cpu.append((time.process_time() - c) * 1e3)
    wall = time.perf_counter() - t0
    t1 = time.perf_counter()
    for uid, evs in users.items():
        svc.user_trends(uid, evs)
    warm = (time.perf_counter() - t1) / len(users) * 1e3
    return {"users": len(users), "median_ms": statistics.median(per), "cpu_median_ms": statistics.median(cpu),
            "p90_ms": float(np.percentile(per, 90)),
            "max_ms": max(per), "wall_s": wall, "warm_ms": warm}


def accuracy(users: dict[str, list[tuple]], categories: list[str]) -> dict[str, float]:
    svc = TrendService(categories)
    err = {"win_trend": [], "win_last": [], "next_trend": [], "next_last": []}
    for uid, evs in tqdm(users.items(), desc="forecast accuracy", unit="user"):
        if len(evs) < 20:
            continue
        cut = int(0.8 * len(evs))
        train, test = evs[:cut], evs[cut:]
        t = svc.user_trends(uid, train)
        if not t.ok:
            continue
        fc = np.zeros(len(categories))
        last = np.zeros(len(categories))
        recent_start = t.bucket_edges[-1 - t.recent_buckets]
        last = _shares([e for e in train if e[0] >= recent_start], categories)
        col = {c: j for j, c in enumerate(categories)}
        for c in t.categories:
            fc[col[c.category]] = max(0.0, c.forecast.window_mean)
        fc = fc / fc.sum() if fc.sum() > 0 else last
        horizon_end = t.bucket_edges[-1] + t.recent_buckets * int(t.bucket_width_s or 0)
        in_win = [e for e in test if e[0] < horizon_end]
        if len(in_win) >= 5:
            actual = _shares(in_win, categories)
            err["win_trend"].append(float(np.abs(fc - actual).mean()))
            err["win_last"].append(float(np.abs(last - actual).mean()))
        k = max(5, sum(1 for e in train if e[0] >= recent_start))
        actual = _shares(test[:k], categories)
        err["next_trend"].append(float(np.abs(fc - actual).mean()))
        err["next_last"].append(float(np.abs(last - actual).mean()))
    return {k: float(np.mean(v)) for k, v in err.items()} | {"n_window": len(err["win_trend"]),
                                                              "n_next": len(err["next_trend"])}


def detection() -> dict:
    from evorec.tools.data.synthetic import generate_synthetic, load_ground_truth
    from evorec.tools.trends.matching import score_detections

    with tempfile.TemporaryDirectory() as tmp:
        d = generate_synthetic(Path(tmp), seed=7)
        ints = pd.read_csv(d / "interactions.csv")
        items = pd.read_csv(d / "items.csv")
        cats = dict(zip(items["item_id"], items["categories"].str.split("|"), strict=True))
        svc = TrendService()
        per: list[float] = []
        res = {}
        for uid, g in tqdm(ints.groupby("user_id", sort=False), desc="synthetic users", unit="user"):
            evs = [(int(t), cats[i], f"{uid}:{k}") for k, (t, i) in enumerate(zip(g["timestamp"], g["item_id"],
                                                                                   strict=True))]
            a = time.perf_counter()
            res[str(uid)] = svc.user_trends(str(uid), evs)
            per.append((time.perf_counter() - a) * 1e3)
        sc = score_detections(res, load_ground_truth(d))
    return sc.model_dump(exclude={"misses", "false_detections"}) | {"median_ms": statistics.median(per)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=0, help="Only the first N ML-100K users (0 = all 943).")
    ap.add_argument("--skip-synthetic", action="store_true")
    args = ap.parse_args()
    with threadpool_limits(limits=1):
        ds = load_dataset("ml-100k")
        users = _user_events(ds)
        if args.users:
            users = dict(list(users.items())[: args.users])
        s = speed(users, ds.categories)
        a = accuracy(users, ds.categories)
        det = None if args.skip_synthetic else detection()
    print("\n== speed (ML-100K, cold cache = fits included; OPENBLAS_NUM_THREADS=1)")
    print(f"users {s['users']}: median {s['median_ms']:.1f} ms/user (target <= 50), p90 {s['p90_ms']:.1f}, "
          f"max {s['max_ms']:.0f}; batch wall {s['wall_s']:.1f} s; warm (cache hit) {s['warm_ms']:.3f} ms/user")
    print(f"CPU time per user (median, what the fits cost when the machine is shared): {s['cpu_median_ms']:.1f} ms; "
          f"load average while running: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print("\n== next-window category shares, MAE over 19 genres (lower is better)")
    print(f"{'protocol':<38}{'trend':>9}{'last window':>13}{'ratio':>8}")
    for key, name in (("win", f"(a) forecast window, {a['n_window']} users"), ("next", f"(b) next K events, "
                                                                                          f"{a['n_next']} users")):
        tr, la = a[f"{key}_trend"], a[f"{key}_last"]
        print(f"{name:<38}{tr:>9.4f}{la:>13.4f}{tr / la:>8.3f}")
    if det:
        print("\n== planted drift detection (synthetic, seed 7)")
        print(f"precision {det['precision']:.3f} (strict {det['strict_precision']:.3f}), recall {det['recall']:.3f} "
              f"{ {k: round(v, 3) for k, v in det['recall_by_kind'].items()} }, stable users clean "
              f"{det['stable_clean_rate']:.3f}, slow-drift recall {det['slow_drift_recall']:.2f}; "
              f"median {det['median_ms']:.1f} ms/user")
    print(f"\nrepeat: OPENBLAS_NUM_THREADS=1 {sys.executable} benchmarks/bench_trends.py")


if __name__ == "__main__":
    main()

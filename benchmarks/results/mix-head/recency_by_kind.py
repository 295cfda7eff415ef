"""Where does the recency model beat the naive mixes on synthetic? JS per planted user kind (seed 0, the mix
benchmark's split and calibration users; the recency model alone, no forecaster training), and the
anti-persistence of stable users' windows (the generator deals categories so that counts track the plant).

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/results/mix-head/recency_by_kind.py
"""

import numpy as np
import torch

from evorec.settings import get_settings
from evorec.tools.data.loader import load_dataset
from evorec.tools.data.sequences import SequenceData
from evorec.tools.data.synthetic import load_truth
from evorec.tools.forecast.evaluate import mix_split
from evorec.tools.forecast.mix import category_weights, js_divergence, naive_mixes, window_mix
from evorec.tools.forecast.recency_mix import fit_recency_mix

torch.set_num_threads(1)
data = SequenceData.from_dataset(load_dataset("synthetic"))
truth = {d.user_id: d for d in load_truth(get_settings().data_dir / "synthetic").drifts}
sp = mix_split(data, 10, calib_fraction=0.25, seed=0)
w = category_weights(data.item_categories)
real = np.array([window_mix(f, w) for f in sp.futures])
state = fit_recency_mix(sp.train.histories, w, 10, seed=0)
assert state is not None
q = state.forecast(sp.histories, w)
last, all_time = naive_mixes(sp.histories, w, 10)
kinds = np.array([truth[u].kind for u in sp.user_ids])
print("| planted kind | users | recency model JS | last window JS | all-time JS |")
print("|---|---:|---:|---:|---:|")
for k in [*sorted(set(kinds)), "all"]:
    m = kinds == k if k != "all" else np.ones(len(kinds), bool)
    print(f"| {k} | {m.sum()} | {js_divergence(real[m], q[m]).mean():.4f} | "
          f"{js_divergence(real[m], last[m]).mean():.4f} | {js_divergence(real[m], all_time[m]).mean():.4f} |")

xs, ys = [], []
for uid, h in zip(data.user_ids, data.histories, strict=True):
    if truth[uid].kind != "stable" or len(h) < 40:
        continue
    for t in range(30, len(h) - 10, 10):
        long_run = window_mix(h.items[:t], w)
        xs.append(window_mix(h.items[t - 10:t], w) - long_run)
        ys.append(window_mix(h.items[t:t + 10], w) - long_run)
x, y = np.concatenate(xs), np.concatenate(ys)
print(f"\nstable users, non-overlapping 10-event windows: next window's deviation from the long-run mix on the "
      f"last window's, slope {np.polyfit(x, y, 1)[0]:+.3f}, correlation {np.corrcoef(x, y)[0, 1]:+.3f} "
      f"({len(x)} category-window pairs)")

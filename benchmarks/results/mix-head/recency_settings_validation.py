"""The recency model's settings, checked on validation windows only (never a test window).

Users of the mix benchmark's TRAINING histories (seed 0 split; the test windows are already cut off) are split
80/20. Each variant is fitted on rolling cases of the 80 %; it is scored on the 20 %: each held-out user's last 10
training events are the future, the events before them the past. Variants: the loss's cross-entropy weight beside
JS, and the MLP's width. The naive mixes on the same windows are printed for scale.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/results/mix-head/recency_settings_validation.py synthetic
"""

import sys

import numpy as np
import torch

from evorec.tools.data.loader import load_dataset
from evorec.tools.data.sequences import History, SequenceData
from evorec.tools.forecast.evaluate import mix_split
from evorec.tools.forecast.mix import category_weights, js_divergence, kl_divergence, naive_mixes, window_mix
from evorec.tools.forecast.recency_mix import fit_recency_mix

torch.set_num_threads(1)
data = SequenceData.from_dataset(load_dataset(sys.argv[1]))
train = mix_split(data, 10, calib_fraction=0.25, seed=0).train.histories
w = category_weights(data.item_categories)
order = np.random.default_rng(0).permutation(len(train))
cut = int(0.8 * len(train))
fit_users = [train[i] for i in order[:cut]]
held = [train[i] for i in order[cut:] if len(train[i]) >= 15]
past = [History(h.items[:-10], h.times[:-10]) for h in held]
real = np.stack([window_mix(h.items[-10:], w) for h in held])
keep = real.sum(axis=1) > 0
print(f"{sys.argv[1]}: {len(fit_users)} fitting users, {int(keep.sum())} validation windows\n")
print("| variant | JS | KL |\n|---|---:|---:|")
last, all_time = naive_mixes(past, w, 10)
for name, q in (("last window", last), ("all-time", all_time)):
    js, kl = js_divergence(real[keep], q[keep]).mean(), kl_divergence(real[keep], q[keep]).mean()
    print(f"| {name} | {js:.4f} | {kl:.4f} |")
for ce in (0.0, 0.05, 0.2, 1.0, 20.0):
    for hidden in (4, 16, 32):
        state = fit_recency_mix(fit_users, w, 10, seed=0, hidden=hidden, ce_weight=ce)
        assert state is not None
        q = state.forecast(past, w)
        print(f"| JS + {ce} CE, {hidden} units | {js_divergence(real[keep], q[keep]).mean():.4f} | "
              f"{kl_divergence(real[keep], q[keep]).mean():.4f} |", flush=True)

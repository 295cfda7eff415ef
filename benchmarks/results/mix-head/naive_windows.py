"""How far can a naive recency rule get on next-10 category mix? Last-n windows, exponentially weighted mixes and
a linear extrapolation of the last two windows, scored like the mix benchmark (1 % uniform floor, mean JS and KL
over the test windows of `mix_split`). No training; a ceiling check for "beat the last window".

    .venv/bin/python benchmarks/results/mix-head/naive_windows.py synthetic
"""

import sys

import numpy as np

from evorec.tools.data.loader import load_dataset
from evorec.tools.data.sequences import SequenceData
from evorec.tools.forecast.evaluate import mix_split
from evorec.tools.forecast.mix import category_weights, js_divergence, kl_divergence, window_mix

data = SequenceData.from_dataset(load_dataset(sys.argv[1]))
sp = mix_split(data, 10)
w = category_weights(data.item_categories)
real = np.array([window_mix(f, w) for f in sp.futures])


def ewma(items: np.ndarray, half_life: float) -> np.ndarray:
    per = w[items]
    a = 0.5 ** (np.arange(len(items))[::-1] / half_life)
    m = (per * a[:, None]).sum(0)
    return m / max(m.sum(), 1e-12)


def score(name: str, q: np.ndarray) -> None:
    q = 0.99 * q + 0.01 / q.shape[1]
    print(f"{name:20s} JS {js_divergence(real, q).mean():.4f} KL {kl_divergence(real, q).mean():.4f}")


last = np.array([window_mix(h.items[-10:], w) for h in sp.histories])
before = np.array([window_mix(h.items[-20:-10], w) if len(h) >= 20 else window_mix(h.items[-10:], w)
                   for h in sp.histories])
score("last10", last)
score("all", np.array([window_mix(h.items, w) for h in sp.histories]))
for n in (5, 15, 20, 30):
    score(f"last{n}", np.array([window_mix(h.items[-n:], w) for h in sp.histories]))
for hl in (3, 5, 8, 12, 20):
    score(f"ewma{hl}", np.array([ewma(h.items, hl) for h in sp.histories]))
for b in (0.1, 0.2, 0.3, 0.5):
    q = np.clip(last + b * (last - before), 0, None)
    score(f"extrap{b}", q / q.sum(1, keepdims=True))

"""A learned recency model of the category mix: how the shares of several recent windows carry into the next one.

Naive rules ("the last 10 events persist", the all-time mix, an exponentially weighted mix) each fix one window.
Which window forecasts best differs by user and by category: a category the user just dropped, one they keep at
a steady share, one that has only started. This model reads, for every category, its share over the last
3, 5, 10, 15, 20, 30 and 50 events, over all events and three exponentially weighted mixes (half-lives 3, 8 and
20 events), plus the history's length, and scores the category with a small MLP shared by all categories; a
softmax over the scores is the forecast mix of the next ``horizon`` events.

It is fitted on the TRAINING histories alone, by rolling origin: every cut of a history that leaves ``horizon``
events after it is a case (the past before the cut, the realised mix after it), each user weighted equally. The
loss is the Jensen-Shannon divergence to the realised mix (the reported metric) plus a small cross-entropy term
that keeps the forecast from putting zero mass where the realised mix has some (KL). No window of an evaluated or
calibration user's held-out events is ever a case.

The fitted state is a few hundred floats (``RecencyMixState``), stored with the forecaster's checkpoint;
``tools.forecast.calibration`` pools its forecast with the sequence head's.
"""

from __future__ import annotations

import numpy as np
import torch
from pydantic import BaseModel, Field
from scipy.signal import lfilter
from torch import nn

from evorec.tools.data.sequences import History
from evorec.tools.forecast.mix import future_mix_targets

WINDOWS: tuple[int, ...] = (3, 5, 10, 15, 20, 30, 50)
HALF_LIVES: tuple[float, ...] = (3.0, 8.0, 20.0)
LOG_FLOOR = 0.01  # log(share + floor): a share of 0 is a strong, but finite, signal
N_SHARES = len(WINDOWS) + 1 + len(HALF_LIVES)
N_FEATURES = 2 * N_SHARES + 1  # shares, their logs, log history length
MIN_PAST = 3  # shortest past a training case may have
CE_WEIGHT = 0.05  # cross-entropy beside JS: see the module docstring
MAX_CASES = 30_000
HIDDEN = 16
MAX_ITER = 200


class RecencyMixState(BaseModel):
    """The fitted model: weights of ``Linear(N_FEATURES, hidden) -> tanh -> Linear(hidden, 1)`` (``_CategoryScorer``),
    as lists."""

    hidden: int = HIDDEN
    w1: list[list[float]]
    b1: list[float]
    w2: list[float]
    b2: float
    horizon: int
    n_cases: int = Field(description="Rolling-origin training cases it was fitted on.")
    n_users: int = Field(description="Users those cases came from.")
    train_loss: float = Field(description="Final training loss (JS + ce_weight * cross-entropy).")
    ce_weight: float = CE_WEIGHT

    def forecast(self, histories: list[History], cat_w: np.ndarray) -> np.ndarray:
        """Forecast mix of the next ``horizon`` events per history, ``[n, C]`` (rows sum to 1)."""
        n_cat = cat_w.shape[1]
        if not histories:
            return np.zeros((0, n_cat))
        feats = np.stack([history_features(h.items, cat_w, [len(h)])[0] for h in histories])
        return _softmax_scores(self._net(), feats)

    def _net(self) -> _CategoryScorer:
        net = _CategoryScorer(self.hidden)
        with torch.no_grad():
            net.lin1.weight.copy_(torch.tensor(self.w1, dtype=torch.float32))
            net.lin1.bias.copy_(torch.tensor(self.b1, dtype=torch.float32))
            net.lin2.weight.copy_(torch.tensor([self.w2], dtype=torch.float32))
            net.lin2.bias.copy_(torch.tensor([self.b2], dtype=torch.float32))
        return net


class _CategoryScorer(nn.Module):
    """One score per category from its features, the same weights for every category."""

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.lin1 = nn.Linear(N_FEATURES, hidden)
        self.lin2 = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lin2(torch.tanh(self.lin1(x))).squeeze(-1)


def history_features(items: np.ndarray, cat_w: np.ndarray, cuts: list[int] | np.ndarray) -> np.ndarray:
    """Features ``[len(cuts), C, N_FEATURES]`` of the past ``items[:cut]`` for each cut (all cuts >= 1).

    Shares are over the events that carry a category; a window with none gives all-zero shares."""
    per = cat_w[np.asarray(items, dtype=np.int64)].astype(np.float64)  # [n, C]
    has = per.sum(axis=1)  # 1 for an event with a category, 0 without
    csum = np.vstack([np.zeros((1, per.shape[1])), np.cumsum(per, axis=0)])
    ccount = np.concatenate([[0.0], np.cumsum(has)])
    cuts = np.asarray(cuts, dtype=np.int64)
    shares = []
    for k in WINDOWS:
        lo = np.maximum(cuts - k, 0)
        shares.append(_ratio(csum[cuts] - csum[lo], ccount[cuts] - ccount[lo]))
    shares.append(_ratio(csum[cuts], ccount[cuts]))
    for hl in HALF_LIVES:
        a = 0.5 ** (1.0 / hl)
        num = lfilter([1.0], [1.0, -a], per, axis=0)  # num[t] = per[t] + a * num[t - 1]
        den = lfilter([1.0], [1.0, -a], has)
        shares.append(_ratio(num[cuts - 1], den[cuts - 1]))
    s = np.stack(shares, axis=-1)  # [n_cuts, C, N_SHARES]
    length = np.broadcast_to(np.log1p(cuts)[:, None, None] / 5.0, (*s.shape[:2], 1))
    return np.concatenate([s, np.log(s + LOG_FLOOR), length], axis=-1).astype(np.float32)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    den = np.asarray(den, dtype=np.float64)[:, None]
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def _softmax_scores(net: _CategoryScorer, feats: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        scores = net(torch.from_numpy(np.ascontiguousarray(feats, dtype=np.float32)))
        return torch.softmax(scores.double(), dim=-1).numpy()


def rolling_cases(histories: list[History], cat_w: np.ndarray, horizon: int, max_cases: int = MAX_CASES,
                  seed: int = 0) -> tuple[np.ndarray, np.ndarray, int]:
    """(features ``[m, C, F]``, realised next-window mixes ``[m, C]``, users with a case).

    Every cut with at least ``MIN_PAST`` events before it and ``horizon`` after it is a candidate; at most
    ``max_cases`` are drawn, each user equally likely (a heavy user is not a thousand cases). Cuts whose
    next window carries no category are dropped."""
    rng = np.random.default_rng(seed)
    per_user: list[np.ndarray] = []
    for h in histories:
        n = len(h)
        per_user.append(np.arange(MIN_PAST, n - horizon + 1) if n >= MIN_PAST + horizon else np.zeros(0, np.int64))
    counts = np.array([len(c) for c in per_user], dtype=np.float64)
    total = int(counts.sum())
    n_users = int((counts > 0).sum())
    if total == 0:
        return np.zeros((0, cat_w.shape[1], N_FEATURES), np.float32), np.zeros((0, cat_w.shape[1])), 0
    if total > max_cases:  # each user's cuts share the user's 1 / n_users of the draw
        p = np.concatenate([np.full(len(c), 1.0 / len(c)) for c in per_user if len(c)])
        pick = np.sort(rng.choice(total, size=max_cases, replace=False, p=p / p.sum()))
    else:
        pick = np.arange(total)
    owner = np.repeat(np.arange(len(histories)), counts.astype(np.int64))[pick]  # sorted: cuts are user by user
    cuts_all = np.concatenate([c for c in per_user if len(c)])[pick]
    users, starts = np.unique(owner, return_index=True)
    xs, ys = [], []
    for u, cuts in zip(users, np.split(cuts_all, starts[1:]), strict=True):
        items = histories[u].items
        xs.append(history_features(items, cat_w, cuts))
        ys.append(future_mix_targets(items, cat_w, horizon)[0][cuts - 1])  # row t: the events after items[:t + 1]
    x, y = np.concatenate(xs), np.concatenate(ys)
    keep = y.sum(axis=1) > 0
    return x[keep], y[keep], n_users


def fit_recency_mix(histories: list[History], cat_w: np.ndarray, horizon: int, *, seed: int = 0,
                    max_cases: int = MAX_CASES, hidden: int = HIDDEN, max_iter: int = MAX_ITER,
                    ce_weight: float = CE_WEIGHT) -> RecencyMixState | None:
    """Fit on rolling-origin cases of ``histories`` (None when there are no cases, e.g. no categories)."""
    x, y, n_users = rolling_cases(histories, cat_w, horizon, max_cases, seed)
    if not len(x):
        return None
    with torch.random.fork_rng(devices=[]):  # the caller's torch RNG stream is left as it was
        torch.manual_seed(seed)
        net = _CategoryScorer(hidden)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    opt = torch.optim.LBFGS(net.parameters(), max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = mix_loss(net(xt), yt, ce_weight)
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        final = float(mix_loss(net(xt), yt, ce_weight))
    lin1, lin2 = net.lin1, net.lin2
    return RecencyMixState(hidden=hidden, w1=lin1.weight.detach().tolist(), b1=lin1.bias.detach().tolist(),
                           w2=lin2.weight.detach()[0].tolist(), b2=float(lin2.bias.detach()[0]), horizon=horizon,
                           n_cases=len(x), n_users=n_users, train_loss=final, ce_weight=ce_weight)


def mix_loss(scores: torch.Tensor, target: torch.Tensor, ce_weight: float = CE_WEIGHT) -> torch.Tensor:
    """Mean JS(target, softmax(scores)) + ``ce_weight`` * cross-entropy, over rows."""
    logq = torch.log_softmax(scores, dim=-1)
    q = logq.exp()
    m = (0.5 * (q + target)).clamp_min(1e-8)
    js = 0.5 * (target * (torch.log(target.clamp_min(1e-8)) - torch.log(m))).sum(-1) \
        + 0.5 * (q * (logq - torch.log(m))).sum(-1)
    ce = -(target * logq).sum(-1)
    return (js + ce_weight * ce).mean()

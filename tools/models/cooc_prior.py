"""A co-occurrence prior for sequence models: "people who have the last few items also have this one".

Item-item CF (ItemKNN) is strong on sparse catalogs where a sequence encoder has seen each item a handful of
times (Amazon 5-core: ~16 users per item). This module gives the encoder that evidence as an additive score:
for each of the sequence's last ``lags`` events ``a`` and every candidate ``j``, the cosine similarity with
shrinkage of the users who have both, ``c_aj / (sqrt(n_a n_j) + shrink)``, each item's ``k`` strongest
neighbours kept; weighted per lag and per position by a gate read from the hidden state (softplus, so the
prior can only add evidence, and the model learns how far to trust it for this sequence).

Leakage: the counts come from the training sequences, so a training position's own target was counted by
the very user being trained on, and the model would learn to trust a feature that is weaker for a new event.
Every batch row's own contribution is therefore taken out (``c_aj - [user has a and j]``, exact for the
"users who have both" count): at training time the feature means what it means at prediction time, where
the event to predict is not in the counts. The tables are buffers: saved and loaded with the weights.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from evorec.tools.data.sequences import History
from evorec.tools.models.itemknn import user_item_matrix, users_who_have_both

# The prior's weight at initialisation, summed over the lags: similarities are ~0..0.5, and this lets a softplus(0)
# weight move logits by a few units. Each lag gets TOTAL_SCALE / lags (10 with 3 lags), so reading more events does
# not make the prior louder from the start: on a dense catalog with few optimiser steps (ML-100K: 8 per epoch) a
# 5-lag prior at 10 per lag drowned the encoder's logits, and training stalled.
TOTAL_SCALE = 30.0


def neighbour_tables(histories: list[History], n_items: int, k: int, shrink: float
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(neighbour ids ``[n_items + 1, k]``, their co-occurrence counts ``[n_items + 1, k]``, users per item
    ``[n_items + 1]``); rows padded with item 0 and count 0, row 0 (padding) empty. Neighbours are ranked by
    the shrunk cosine the prior scores them with."""
    x = user_item_matrix(histories, n_items)
    users = np.asarray(x.sum(axis=0), dtype=np.float64).ravel()
    c = users_who_have_both(x)
    idx = np.zeros((n_items + 1, k), np.int64)
    cnt = np.zeros((n_items + 1, k), np.float32)
    for r in range(1, n_items + 1):
        lo, hi = c.indptr[r], c.indptr[r + 1]
        if hi == lo:
            continue
        cols, vals = c.indices[lo:hi], c.data[lo:hi]
        sim = vals / (np.sqrt(users[r] * users[cols]) + shrink)
        order = np.lexsort((cols, -sim))[:k]
        idx[r, :len(order)] = cols[order]
        cnt[r, :len(order)] = vals[order]
    return idx, cnt, users.astype(np.float32)


class CoocPrior(nn.Module):
    idx: Tensor
    cnt: Tensor
    users: Tensor

    def __init__(self, n_items: int, d: int, k: int, lags: int, shrink: float) -> None:
        super().__init__()
        self.lags, self.shrink = lags, shrink
        self.register_buffer("idx", torch.zeros(n_items + 1, k, dtype=torch.long))
        self.register_buffer("cnt", torch.zeros(n_items + 1, k))
        self.register_buffer("users", torch.zeros(n_items + 1))
        self.lag_w = nn.Parameter(torch.zeros(lags))
        self.gate = nn.Linear(d, 1)
        nn.init.zeros_(self.gate.weight)
        nn.init.zeros_(self.gate.bias)

    def set_tables(self, idx: np.ndarray, cnt: np.ndarray, users: np.ndarray) -> None:
        with torch.no_grad():
            self.idx.copy_(torch.as_tensor(idx))
            self.cnt.copy_(torch.as_tensor(cnt))
            self.users.copy_(torch.as_tensor(users))

    def forward(self, hidden: Tensor, batch: dict[str, Tensor], rows: Tensor | None) -> Tensor:
        """Additive scores ``[P, n_items + 1]`` for the P scored positions (``rows``: the training mask
        ``[B, L]``; None: each row's last position), hidden ``[P, d]``."""
        items = batch["items"]
        b, L = items.shape
        if rows is None:
            row_of = torch.arange(b, device=items.device)
            pos = torch.full((b,), L - 1, device=items.device, dtype=torch.long)
        else:
            row_of, pos = rows.nonzero(as_tuple=True)
        own = torch.zeros(b, self.users.shape[0], dtype=torch.bool, device=items.device)
        own.scatter_(1, items, True)
        if "targets" in batch:
            own.scatter_(1, batch["targets"], True)
        own[:, 0] = False
        gate = self.gate(hidden.float())  # [P, 1]
        out = torch.zeros(len(pos), self.users.shape[0], device=items.device)
        for lag in range(self.lags):
            q = pos - lag
            a = items[row_of, q.clamp_min(0)] * (q >= 0)  # 0 (padding: no neighbours) before the sequence
            nb = self.idx[a]  # [P, k]
            cnt = (self.cnt[a] - own[row_of[:, None], nb].float()).clamp_min(0.0)  # the user's own pairs out
            sim = cnt / (torch.sqrt(self.users[a][:, None] * self.users[nb]) + self.shrink)
            w = (TOTAL_SCALE / self.lags) * F.softplus(self.lag_w[lag] + gate)
            out.scatter_add_(1, nb, w * sim)
        out[:, 0] = 0.0
        return out

"""The evorec temporal interest forecaster.

A SASRec-style causal transformer whose event representation adds, to the item-id
embedding, a projection of the item's TEXT embedding (so rarely-seen items still carry
meaning), the bucketed log time gap to the previous event (TiSASRec spirit) and the
bucketed log time differences between every query event and the events it attends to, as a
learned per-head attention bias (TiSASRec spirit: this is also how recency enters — the last
position sees each event's age). Items are scored by the same composite item representation
(tied output layer).

Two heads: next-item scores over the full catalog, and an interest-evolution head that
predicts the category mix of the user's next ``horizon`` events, trained with KL to the
realised mix (an auxiliary loss that also regularises the sequence encoder).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any, ClassVar, Literal, cast

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import Field
from torch import Tensor, nn

from evorec.tools.data.sequences import History, SequenceData
from evorec.tools.forecast.calibration import MixBlend, fit_mix_blend
from evorec.tools.forecast.mix import category_weights, future_mix_targets, naive_mixes, window_mix
from evorec.tools.forecast.recency_mix import RecencyMixState, fit_recency_mix
from evorec.tools.models import register
from evorec.tools.models.base import FitReport, ValidationSet
from evorec.tools.models.cooc_prior import CoocPrior, neighbour_tables
from evorec.tools.models.sasrec_ce import LEGACY_NET_OPTIONS, SASRecConfig, SASRecNet, TorchSequenceRecommender
from evorec.tools.models.torch_trainer import GAP_BUCKETS, gap_buckets_torch, last_hidden

AGE_BUCKETS = 40  # 0 unknown release year, 1 released after the query year, 2.. age in years (capped)
# Small bias tables start at zero and Adam moves each entry ~lr per step; scaling lets them reach
# logit-sized values within the few hundred steps a small dataset gives.
AGE_SCALE = 10.0
TIME_SCALE = 5.0


class ForecasterConfig(SASRecConfig):
    use_text: bool = True
    use_time: bool = True
    horizon: int = Field(10, ge=1, description="Events ahead whose category mix the interest head predicts.")
    mix_weight: float = Field(0.5, ge=0, description="Weight of the category-mix KL in the loss (0 = off).")
    text_dropout: float = Field(0.0, ge=0, lt=1)
    use_item_age: bool = Field(True, description="Learned score bias by item age (query year - release year).")
    mix_head: Literal["residual", "gated"] = Field(
        "residual", description="residual: the head corrects, in log space, a learned blend of the recent and "
        "all-so-far mixes; gated: a per-user mixture (in probability space) of the recent mix, the all-so-far mix "
        "and a free category distribution, the weights and the free part read from the sequence's state.")
    cooc_prior: bool = Field(True, description="Add a learned, gated multiple of the co-occurrence similarity "
                             "(users who have both) of each item with the last `cooc_lags` events (`cooc_prior`).")
    cooc_k: int = Field(200, ge=1, description="Neighbours kept per item for the co-occurrence prior.")
    cooc_lags: int = Field(5, ge=1, description="How many of the latest events vote in the co-occurrence prior.")
    cooc_shrink: float = Field(10.0, ge=0, description="Cosine shrinkage of the co-occurrence prior.")
    recency_mix: bool = Field(True, description="Also fit the learned recency model of the category mix "
                              "(`tools.forecast.recency_mix`) on the training histories; the calibration pools it "
                              "with the head's forecast.")


class ForecasterNet(SASRecNet):
    cat_w: Tensor  # buffers (nn.Module's attribute lookup types them as Tensor | Module)
    text_emb: Tensor
    item_years: Tensor
    def __init__(self, n_items: int, cfg: ForecasterConfig, text_emb: np.ndarray | None,
                 cat_w: np.ndarray, n_text: int | None = None, item_years: np.ndarray | None = None) -> None:
        super().__init__(n_items, cfg)
        d = cfg.hidden
        self.cfg_f = cfg
        n_text = n_text if n_text is not None else (text_emb.shape[1] if text_emb is not None else 0)
        self.has_text = cfg.use_text and n_text > 0
        if self.has_text:
            te = (torch.zeros(n_items + 1, n_text) if text_emb is None
                  else torch.as_tensor(text_emb, dtype=torch.float32))
            self.register_buffer("text_emb", te)
            self.text_proj = nn.Linear(n_text, d, bias=False)
            nn.init.normal_(self.text_proj.weight, std=0.02)
            self.text_drop = nn.Dropout(cfg.text_dropout)
        if cfg.use_time:
            self.gap_emb = nn.Embedding(GAP_BUCKETS, d, padding_idx=0)
            self.time_bias = nn.Embedding(GAP_BUCKETS, cfg.heads)
            nn.init.zeros_(self.time_bias.weight)
            nn.init.normal_(self.gap_emb.weight, std=0.02)
        self.register_buffer("cat_w", torch.as_tensor(cat_w, dtype=torch.float32))
        if cfg.use_item_age:
            years = np.full(n_items + 1, -1, np.int64) if item_years is None else np.asarray(item_years, np.int64)
            self.register_buffer("item_years", torch.as_tensor(years))
            self.age_bias = nn.Embedding(AGE_BUCKETS, 1)
            nn.init.zeros_(self.age_bias.weight)
        if cfg.cooc_prior:
            self.cooc = CoocPrior(n_items, d, cfg.cooc_k, cfg.cooc_lags, cfg.cooc_shrink)
        with warnings.catch_warnings():  # an ids-only catalog has no categories: a zero-width layer, fine here
            warnings.filterwarnings("ignore", message="Initializing zero-element tensors")
            self.mix_head = nn.Sequential(nn.Linear(d, d), nn.GELU(), nn.Linear(d, cat_w.shape[1]))
        first, last = cast(nn.Linear, self.mix_head[0]), cast(nn.Linear, self.mix_head[-1])
        if cfg.init == "normal":
            nn.init.normal_(first.weight, std=0.02)
            nn.init.zeros_(first.bias)
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
        # the head corrects (in log space) a learned blend of the recent-window and all-so-far mixes;
        # it starts as exactly that blend, the strong baseline it must then beat
        self.mix_blend = nn.Parameter(torch.tensor(0.5))
        if cfg.mix_head == "gated":  # starts as an even mixture of recent, all-so-far and uniform
            self.mix_gate = nn.Linear(d, 3)
            nn.init.zeros_(self.mix_gate.weight)
            nn.init.zeros_(self.mix_gate.bias)

    def item_table(self) -> Tensor:
        w = self.item_emb.weight
        if self.has_text:
            w = w + self.text_proj(self.text_drop(self.text_emb))
        return w

    def input_embeddings(self, batch: dict[str, Tensor]) -> Tensor:
        items = batch["items"]
        x = self.item_table()[items] * math.sqrt(self.d)
        if self.cfg_f.use_time:
            x = x + self.gap_emb(batch["gaps"])
        return x

    def attention_mask(self, batch: dict[str, Tensor]) -> Tensor:
        allowed = super().attention_mask(batch)
        if not self.cfg_f.use_time:
            return allowed
        t = batch["times"]
        buckets = gap_buckets_torch(t[:, :, None] - t[:, None, :])  # [B, Lq, Lk], age of key at query time
        bias = TIME_SCALE * self.time_bias(buckets).permute(0, 3, 1, 2)  # [B, H, L, L]
        return bias.masked_fill(~allowed, float("-inf"))

    def output_embeddings(self) -> Tensor:
        return self.item_table()

    def item_logits(self, hidden: Tensor, batch: dict[str, Tensor], rows: Tensor | None = None,
                    items: Tensor | None = None) -> Tensor:
        logits = super().item_logits(hidden, batch, rows, items)
        if self.cfg_f.cooc_prior:
            prior = self.cooc(hidden, batch, rows)
            logits = logits + (prior if items is None else prior[:, items]).to(logits.dtype)
        if not self.cfg_f.use_item_age:
            return logits
        qyear = batch["years"][rows] if rows is not None else batch["years"][:, -1]  # query time of each row
        uniq, inv = torch.unique(qyear, return_inverse=True)
        years = self.item_years if items is None else self.item_years[items]
        age = (uniq[:, None] - years[None, :]).clamp(-1, AGE_BUCKETS - 3) + 2  # 1.., 1 = not yet released
        age = torch.where(years[None, :] < 0, torch.zeros_like(age), age)  # 0 = unknown release year
        return logits + AGE_SCALE * self.age_bias(age).squeeze(-1)[inv]

    def observed_mixes(self, items: Tensor) -> tuple[Tensor, Tensor]:
        """Per position: mix of the last ``horizon`` events and of all events so far (in the window)."""
        per = self.cat_w[items]  # [B, L, C]
        cs = per.cumsum(dim=1)
        n = self.cfg_f.horizon
        shifted = torch.zeros_like(cs)
        if cs.shape[1] > n:
            shifted[:, n:] = cs[:, :-n]
        recent, total = cs - shifted, cs
        norm = lambda m: m / m.sum(-1, keepdim=True).clamp_min(1e-8)  # noqa: E731
        return norm(recent), norm(total)

    def mix_logits(self, hidden: Tensor, items: Tensor) -> Tensor:
        """hidden [..., L, d] with the matching items [..., L] -> category logits [..., L, C]."""
        recent, total = self.observed_mixes(items)
        if self.cfg_f.mix_head == "gated":
            g = torch.softmax(self.mix_gate(hidden).float(), dim=-1)
            free = torch.softmax(self.mix_head(hidden).float(), dim=-1)
            q = g[..., 0:1] * recent + g[..., 1:2] * total + g[..., 2:3] * free
            return torch.log(q + 1e-6)
        a = torch.sigmoid(self.mix_blend)
        prior = torch.log(a * recent + (1 - a) * total + 1e-3)
        return self.mix_head(hidden).float() + prior

    def aux_loss(self, hidden: Tensor, batch: dict[str, Tensor]) -> Tensor | None:
        if self.cfg_f.mix_weight <= 0 or "mix" not in batch:
            return None
        w = batch["mix_w"]
        if float(w.sum()) <= 0:
            return None
        logq = F.log_softmax(self.mix_logits(hidden, batch["items"]), dim=-1)
        p = batch["mix"]
        kl = (p * (torch.log(p.clamp_min(1e-8)) - logq)).sum(-1)  # [B, L]
        return self.cfg_f.mix_weight * (kl * w).sum() / w.sum()


@register
class Forecaster(TorchSequenceRecommender):
    name = "forecaster"
    config_cls: ClassVar[type[ForecasterConfig]] = ForecasterConfig
    cfg: ForecasterConfig
    # the prior and the recency model came later: checkpoints without them are read as they were trained
    legacy_options: ClassVar[dict[str, Any]] = {**LEGACY_NET_OPTIONS, "cooc_prior": False, "recency_mix": False}

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        self.category_names: list[str] = []
        self.mix_blend: MixBlend | None = None
        self.recency: RecencyMixState | None = None

    def fit(self, train: SequenceData, valid: ValidationSet | None = None, *, seed: int = 0,
            progress: bool = True) -> FitReport:
        self.mix_blend = None  # a calibration belongs to the weights it was chosen for
        self.recency = None
        report = super().fit(train, valid, seed=seed, progress=progress)
        if self.cfg.recency_mix and train.item_categories.any():  # the training histories only: see recency_mix
            self.recency = fit_recency_mix(train.histories, self._cat_w(), self.cfg.horizon, seed=seed)
        return report

    def checkpoint_extras(self) -> dict[str, Any]:
        return {"mix_blend": self.mix_blend.model_dump() if self.mix_blend is not None else None,
                "recency_mix": self.recency.model_dump() if self.recency is not None else None}

    def restore_extras(self, blob: dict[str, Any]) -> None:
        raw = blob.get("mix_blend")
        self.mix_blend = MixBlend.model_validate(raw) if raw else None
        raw_recency = blob.get("recency_mix")
        self.recency = RecencyMixState.model_validate(raw_recency) if raw_recency else None

    def calibrate_mix(self, histories: list[History], futures: list[np.ndarray]) -> MixBlend:
        """Choose, and from now on apply, the pool of the head's mix with the naive mixes (``calibration``).

        ``histories`` and ``futures`` must be out of sample: windows held out of this model's training. The
        head's own forecast stays available as ``forecast_mix(..., calibrated=False)``."""
        cat_w = self._cat_w()
        head = self.forecast_mix(histories, calibrated=False)
        last, all_time = naive_mixes(histories, cat_w, self.cfg.horizon)
        realised = (np.stack([window_mix(f, cat_w) for f in futures]) if futures
                    else np.zeros((0, cat_w.shape[1])))
        self.mix_blend = fit_mix_blend(head, all_time, last, realised, recency=self.forecast_recency_mix(histories))
        return self.mix_blend

    def forecast_recency_mix(self, histories: list[History]) -> np.ndarray | None:
        """The learned recency model's forecast of the next ``horizon`` events' mix [n, C]; None without one."""
        return self.recency.forecast(histories, self._cat_w()) if self.recency is not None else None

    def _cat_w(self) -> np.ndarray:
        return self._net().cat_w.detach().cpu().numpy()

    def _calibrate(self, head: np.ndarray, histories: list[History]) -> np.ndarray:
        if self.mix_blend is None or not len(head):
            return head
        last, all_time = naive_mixes(histories, self._cat_w(), self.cfg.horizon)
        recency = self.forecast_recency_mix(histories) if self.mix_blend.w_recency > 0 else None
        return self.mix_blend.apply(head, all_time, last, recency)

    def build(self, data: SequenceData) -> nn.Module:
        self.category_names = list(data.category_names)
        net = ForecasterNet(data.n_items, self.cfg, data.item_text_emb, category_weights(data.item_categories),
                            item_years=data.item_years)
        if self.cfg.cooc_prior:  # from the training sequences only: validation and test events are not in it
            net.cooc.set_tables(*neighbour_tables(data.histories, data.n_items, self.cfg.cooc_k,
                                                  self.cfg.cooc_shrink))
        return net

    def dims(self) -> dict[str, Any]:
        net = self._net()
        n_text = net.text_emb.shape[1] if getattr(net, "has_text", False) else 0
        return {"n_text": int(n_text), "n_categories": int(net.cat_w.shape[1]), "categories": self.category_names}

    def build_from_dims(self, n_items: int, dims: dict[str, Any]) -> nn.Module:
        self.category_names = list(dims.get("categories", []))
        cat_w = np.zeros((n_items + 1, int(dims["n_categories"])), dtype=np.float32)
        return ForecasterNet(n_items, self.cfg, None, cat_w, n_text=int(dims["n_text"]))

    def _net(self) -> ForecasterNet:
        net = self._require_net()
        assert isinstance(net, ForecasterNet)
        return net

    def extras_fn(self, data: SequenceData) -> Callable[[History], dict[str, np.ndarray]] | None:
        cat_w = category_weights(data.item_categories)
        horizon = self.cfg.horizon

        def extras(h: History) -> dict[str, np.ndarray]:
            mix, w = future_mix_targets(h.items, cat_w, horizon)
            return {"mix": mix, "mix_w": w}

        return extras if self.cfg.mix_weight > 0 else None

    @staticmethod
    def _last_mix_logits(net: ForecasterNet, h_last: Tensor, batch: dict[str, Tensor]) -> Tensor:
        return net.mix_logits(h_last[:, None, :], batch["items"])[:, -1]

    @torch.no_grad()
    def forecast_mix(self, histories: list[History], calibrated: bool = True) -> np.ndarray:
        """Predicted category mix of each history's next ``horizon`` events [n, C] (rows sum to 1); the calibrated
        pool when ``calibrate_mix`` chose one (and ``calibrated``), else the head alone."""
        net = self._net()
        n_cat = int(net.cat_w.shape[1])
        out = np.zeros((len(histories), n_cat), dtype=np.float64)
        for off, h_last, batch in last_hidden(net, histories, self.train_cfg.max_len, self.device,
                                              self.train_cfg.eval_batch_size):
            probs = torch.softmax(self._last_mix_logits(net, h_last, batch), dim=-1).cpu().numpy()
            out[off:off + len(probs)] = probs
        return self._calibrate(out, histories) if calibrated else out

    @torch.no_grad()
    def predict(self, histories: list[History]) -> tuple[np.ndarray, np.ndarray]:
        """Next-item scores [n, n_items + 1] and category-mix forecast [n, C] (calibrated, see ``forecast_mix``)
        in one pass."""
        net = self._net()
        scores = np.zeros((len(histories), self.n_items + 1), dtype=np.float32)
        mixes = np.zeros((len(histories), int(net.cat_w.shape[1])), dtype=np.float64)
        for off, h_last, batch in last_hidden(net, histories, self.train_cfg.max_len, self.device,
                                              self.train_cfg.eval_batch_size):
            logits = net.item_logits(h_last, batch).float()
            logits[:, 0] = -math.inf
            scores[off:off + len(logits)] = logits.cpu().numpy()
            probs = torch.softmax(self._last_mix_logits(net, h_last, batch), dim=-1)
            mixes[off:off + len(logits)] = probs.cpu().numpy()
        return scores, self._calibrate(mixes, histories)

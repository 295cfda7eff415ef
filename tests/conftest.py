"""Shared fixtures. Everything is real: generated files on disk, a real Chroma, the real embedding model.

- ``tmp_settings``: ``Settings`` with ``home`` under ``tmp_path`` (embedded Chroma, artifacts, data there).
- ``synthetic_dir``: a small generated synthetic dataset (60 users, 150 items), once per session.
- ``synthetic_dataset``: that directory loaded as a ``Dataset`` (a fresh copy per test).
- ``synthetic_truth``: its planted drifts (``list[PlantedDrift]``).
- ``ml100k_dir``: the MovieLens-100K directory, or a skip with the reason.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from evorec.settings import DEFAULT_ML100K, Settings
from evorec.tools.data.loader import load_dataset
from evorec.tools.data.schema import Dataset
from evorec.tools.data.synthetic import PlantedDrift, generate_synthetic, load_ground_truth

SMALL_SYNTHETIC = {"seed": 11, "n_users": 60, "n_items": 150}


@pytest.fixture
def tmp_settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "evorec-home", chroma_mode="embedded", llm="none")


@pytest.fixture(scope="session")
def synthetic_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_synthetic(tmp_path_factory.mktemp("synthetic") / "synthetic", **SMALL_SYNTHETIC)


@pytest.fixture
def synthetic_dataset(synthetic_dir: Path) -> Dataset:
    return load_dataset("synthetic", path=synthetic_dir)


@pytest.fixture(scope="session")
def synthetic_truth(synthetic_dir: Path) -> list[PlantedDrift]:
    return load_ground_truth(synthetic_dir)


@pytest.fixture(scope="session")
def ml100k_dir() -> Path:
    path = Path(os.environ.get("EVOREC_ML100K_PATH", str(DEFAULT_ML100K)))
    if not (path / "u.data").is_file():
        pytest.skip(f"MovieLens-100K not found at {path} (set EVOREC_ML100K_PATH)")
    return path

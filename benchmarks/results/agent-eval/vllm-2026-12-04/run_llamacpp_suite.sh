#!/usr/bin/env bash
# #11: the whole agent suite on our llama.cpp server (packaged 0.5B GGUF), one thread, on a fresh copy of the
# prepared home (see run_vllm_suite.sh for how it was made): the llama.cpp side of the comparison.
# Needs `make llm LLM_BACKENDS="vllm llamacpp"`. Run: TAG=l1 bash run_llamacpp_suite.sh
set -u
T=${TAG:-l1}
export OPENBLAS_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
cd /work/main
m=${MODEL:-qwen2.5-coder-0.5b}; port=${PORT:-8092}  # MODEL=qwen2.5-coder-1.5b ONLY=plain,pref,... for the 1.5B
rm -rf /work/homes/m$T-$m; cp -a /work/homes/bench-main /work/homes/m$T-$m
EVOREC_HOME=/work/homes/m$T-$m EVOREC_LLM_THREADS=1 .venv/bin/evorec llm serve --backend llamacpp --model $m --port $port \
  > /work/llm-models/serve$T.log 2>&1 &
until curl -sf http://127.0.0.1:$port/v1/models >/dev/null; do sleep 5; done; echo "up $(date +%T)"
EVOREC_HOME=/work/homes/m$T-$m /usr/bin/time -v .venv/bin/evorec eval-agent --llm http://127.0.0.1:$port/v1 \
  --scenarios evals/scenarios/agent_scenarios.jsonl --runs-dir /work/llm-models/r$T-$m ${ONLY:+--only $ONLY} > /work/llm-models/eval$T.log 2>&1
pkill -f "evorec llm serve" ; echo DONE $(date +%T)

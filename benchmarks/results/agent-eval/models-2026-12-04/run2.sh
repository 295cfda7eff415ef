#!/usr/bin/env bash
# #13 model choice after the clip/language/session-note changes: the packaged 0.5B on the whole suite and the
# 1.5B on a subset (plain, pref, zh, other, cold), side by side, same tree, each on its own copy of one prepared
# home, each server one llama.cpp thread.
set -u
export OPENBLAS_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
cd /work/main
declare -A PORT=([qwen2.5-coder-0.5b]=8092 [qwen2.5-coder-1.5b]=8091)
declare -A SUB=([qwen2.5-coder-0.5b]="" [qwen2.5-coder-1.5b]="plain,pref,zh,other,cold")
for m in "${!PORT[@]}"; do
  rm -rf /work/homes/m-$m; cp -a /work/homes/bench-main /work/homes/m-$m
  EVOREC_HOME=/work/homes/m-$m EVOREC_LLM_THREADS=1 .venv/bin/evorec llm serve --model $m --port ${PORT[$m]} \
    > /work/llm-models/serve2-$m.log 2>&1 &
done
for m in "${!PORT[@]}"; do
  until curl -sf http://127.0.0.1:${PORT[$m]}/v1/models >/dev/null; do sleep 5; done; echo "$m up $(date +%T)"
done
for m in "${!PORT[@]}"; do
  EVOREC_HOME=/work/homes/m-$m /usr/bin/time -v .venv/bin/evorec eval-agent --llm http://127.0.0.1:${PORT[$m]}/v1 \
    --scenarios evals/scenarios/agent_scenarios.jsonl --runs-dir /work/llm-models/r2-$m ${SUB[$m]:+--only ${SUB[$m]}} \
    > /work/llm-models/eval2-$m.log 2>&1 &
done
wait -n; wait -n
pkill -f "evorec llm serve" ; echo DONE $(date +%T)

#!/usr/bin/env bash
# #11 data point: a fresh checkout, fresh HOME (no pip cache, no ~/.cache/evorec), vLLM as the only LLM backend:
# setup + make llm (vLLM) + evorec demo --no-serve, every output line time-stamped.
set -u
rm -rf /tmp/fresh /tmp/fresh-home; git clone -q /work/main /tmp/fresh; mkdir -p /tmp/fresh-home
cd /tmp/fresh
export HOME=/tmp/fresh-home EVOREC_HOME=/tmp/fresh-home/.evorec PIP_NO_CACHE_DIR=1
stamp() { python3 -u -c "import sys,time
for l in sys.stdin: print(time.strftime('%T'), l, end='', flush=True)"; }
echo "start $(date +%T)"
{ make setup && make llm LLM_BACKENDS=vllm && .venv/bin/evorec demo --no-serve; echo "rc $?"; } 2>&1 | stamp
echo "end $(date +%T)"

#!/usr/bin/env bash
# #11: a fresh checkout and a fresh HOME (no pip cache, no ~/.cache/evorec), then exactly the README's first
# command, `make demo` (less the serving at its end: DEMO_ARGS=--no-serve). Since 2026-12-04 it sets up vLLM
# (the default backend) in the background while the demo trains. Every output line is time-stamped.
#   bash benchmarks/results/fresh-demo/fresh_make_demo.sh > /tmp/fresh-make-demo.log 2>&1
set -u
SRC=${SRC:-/work/main}
rm -rf /tmp/fresh /tmp/fresh-home; git clone -q "$SRC" /tmp/fresh; mkdir -p /tmp/fresh-home
cd /tmp/fresh
export HOME=/tmp/fresh-home EVOREC_HOME=/tmp/fresh-home/.evorec PIP_NO_CACHE_DIR=1
stamp() { python3 -u -c "import sys,time
for l in sys.stdin: print(time.strftime('%T'), l, end='', flush=True)"; }
echo "start $(date +%T)"
{ make demo DEMO_ARGS=--no-serve; echo "rc $?"; } 2>&1 | stamp
echo "end $(date +%T)"

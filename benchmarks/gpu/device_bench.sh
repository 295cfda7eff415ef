#!/usr/bin/env bash
# One lent-GPU session of #12: the Sports and ML-100K evaluations on CUDA, in one call.
#
# Runs in the repository root of a copy of the tree on the GPU machine, with `.gpu/` carried:
#   .gpu/wheels/*.whl   pydantic & co. for that image's Python (it has torch, numpy, pandas, scipy, sklearn,
#                       statsmodels, typer, rich, matplotlib; not the serving stack)
#   .gpu/data/sports/   ../shared/data/amazon-sports-5core (not in the repo; read in place here)
#   .gpu/data/ml-100k/  ../shared/data/ml-100k
#   .gpu/home/cache/text_emb/ml-100k-*.npy   ML-100K item-text embeddings computed on the CPU host (the
#                       embedding model's package is not on that image)
# Stage 1 (smoke + clean timing): 1 epoch of each torch model on ML-100K, then 2 epochs of SASRec+ and of
# the forecaster on Sports, two processes side by side (their per-epoch seconds are the GPU side of the
# speed-up; `cpu_epochs.sh` is the 2-core side). Stage 2: every run of the session in parallel, one process
# each, training capped by a wall-clock budget so that all of them finish inside the lease.
# Everything comes back as $OUT/results.tar.gz (run folders with metrics.json, report.md, ranks.npz, logs).
set -u
T0=$(date +%s)
el() { echo $(( $(date +%s) - T0 )); }
BUDGET=${BUDGET:-300}   # seconds of training per Sports run in stage 2
DEADLINE=${DEADLINE:-560}
RES=/tmp/res
mkdir -p "$RES" /tmp/shim
if [ "${DRY:-0}" != 1 ]; then  # DRY=1: a dry run of the flow on a CPU host (its own env, every job cut at 60 s)
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
        .gpu/wheels/*.whl || { echo "wheel install failed"; exit 3; }
fi
cp -r evorec /tmp/shim/evorec
for d in agent tools prompts serving evals; do ln -sfn "$PWD/$d" "/tmp/shim/evorec/$d"; done
export PYTHONPATH=/tmp/shim:/tmp/site PYTHONUNBUFFERED=1 OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
export EVOREC_HOME=$PWD/.gpu/home EVOREC_ML100K_PATH=$PWD/.gpu/data/ml-100k
nvidia-smi --query-gpu=name --format=csv,noheader >/dev/null 2>&1 && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "import torch, sys; print('python', sys.version.split()[0], 'torch', torch.__version__, 'cuda', torch.cuda.is_available())"
nproc

EVAL="python3 benchmarks/gpu/eval_job.py"
job() {  # job NAME TIMEOUT ARGS... : one eval process in the background, its own log and runs folder
    local name=$1 t=$2; shift 2
    [ "${DRY:-0}" = 1 ] && t=60
    mkdir -p "$RES/$name"
    ( timeout --signal=TERM --kill-after=10 "$t" $EVAL --out "$RES/$name" --name run --no-plots --threads 1 "$@" \
        >"$RES/$name/log" 2>&1; echo "exit $?" >>"$RES/$name/log" ) &
}
finish() {
    echo "== results at $(el) s"
    for d in "$RES"/*/; do
        n=$(basename "$d"); m="$d/run/metrics.json"; p="$d/run/metrics.partial.json"
        [ -f "$m" ] || m=$p
        if [ -f "$m" ]; then
            python3 - "$n" "$m" <<'EOF'
import json, sys
name, path = sys.argv[1], sys.argv[2]
r = json.load(open(path))
for m in r["models"]:
    f = m.get("fit") or {}
    hist = f.get("history") or []
    ep = [h["seconds"] for h in hist]
    per = (ep[-1] / len(ep)) if ep else float("nan")
    print(f"{name:16s} {m['name']:11s} NDCG@10 {m['metrics'].get('NDCG@10', float('nan')):.4f} "
          f"HR@10 {m['metrics'].get('HR@10', float('nan')):.4f} fit {m['fit_seconds']:7.1f}s "
          f"epochs {len(hist):3d} best {f.get('best_epoch')} s/epoch {per:.2f}")
EOF
        else
            echo "$n: no metrics; log tail:"; tail -3 "$d/log"
        fi
    done
    tar czf "$OUT/results.tar.gz" -C "$RES" .
    ls -la "$OUT"
}

echo "== stage 1 at $(el) s"
SP=(--dataset csv --path .gpu/data/sports)
job smoke-ml 150 --dataset ml-100k --models sasrec_ce,forecaster --seed 0 --no-mix \
    --set 'sasrec_ce.train={"epochs": 1}' --set 'forecaster.train={"epochs": 1}'
job time-sp-sasrec 200 "${SP[@]}" --models sasrec_ce --seed 0 --set 'sasrec_ce.train={"epochs": 2}'
job time-sp-forecaster 200 "${SP[@]}" --models forecaster --seed 0 --no-mix --set 'forecaster.train={"epochs": 2}'
wait
grep -h "exit" "$RES"/*/log
if ! grep -q "exit 0" "$RES/smoke-ml/log"; then
    echo "smoke failed:"; tail -30 "$RES/smoke-ml/log"; finish; exit 4
fi

echo "== stage 2 at $(el) s"
LEFT=$(( DEADLINE - $(el) - 25 ))
B=$(( LEFT - 90 < BUDGET ? LEFT - 90 : BUDGET ))
echo "training budget per Sports run: $B s; hard stop in $LEFT s"
for s in 0 1 2; do
    job sp-sasrec-s$s "$LEFT" "${SP[@]}" --models sasrec_ce --seed $s --set "sasrec_ce.train={\"max_seconds\": $B}"
    job sp-forecaster-s$s "$LEFT" "${SP[@]}" --models forecaster --seed $s --no-mix \
        --set "forecaster.train={\"max_seconds\": $B}"
    job ml-all-s$s "$LEFT" --dataset ml-100k --models pop,recent_pop,itemknn,markov,sasrec_ce,forecaster,fusion --seed $s
done
job sp-forecaster-d05-s0 "$LEFT" "${SP[@]}" --models forecaster --seed 0 --no-mix \
    --set "forecaster.train={\"max_seconds\": $B}" --set forecaster.dropout=0.5 --set forecaster.attn_dropout=0.5
job sp-sasrec-d05-s0 "$LEFT" "${SP[@]}" --models sasrec_ce --seed 0 \
    --set "sasrec_ce.train={\"max_seconds\": $B}" --set sasrec_ce.dropout=0.5 --set sasrec_ce.attn_dropout=0.5
for ab in no_text:use_text=false no_time:use_time=false no_age:use_item_age=false no_mix:mix_weight=0; do
    job "ml-fc-${ab%%:*}" "$LEFT" --dataset ml-100k --models forecaster --seeds 0,1,2 --no-mix --set "forecaster.${ab#*:}"
done
wait
finish

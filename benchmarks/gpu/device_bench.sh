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
BUDGET=${BUDGET:-300}   # seconds of training per Sports run in stage 2
DEADLINE=${DEADLINE:-560}
source benchmarks/gpu/setup.sh
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

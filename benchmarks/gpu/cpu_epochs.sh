#!/usr/bin/env bash
# The 2-core side of the GPU speed-up (#12): the same two timing runs as stage 1 of device_bench.sh (2 epochs
# of SASRec+ and of the forecaster on Amazon Sports, seed 0), one after the other, 2 torch/BLAS threads each.
#   bash benchmarks/gpu/cpu_epochs.sh [SPORTS_DIR] [OUT_DIR]
set -eu
SPORTS=${1:-../shared/data/amazon-sports-5core}
OUT=${2:-runs/cpu-epochs}
export OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=2
EV=(.venv/bin/evorec eval --dataset csv --path "$SPORTS" --seed 0 --threads 2 --no-plots --out "$OUT")
"${EV[@]}" --name time-sp-sasrec --models sasrec_ce --set 'sasrec_ce.train={"epochs": 2}'
"${EV[@]}" --name time-sp-forecaster --models forecaster --no-mix --set 'forecaster.train={"epochs": 2}'

#!/usr/bin/env bash
# The forecaster alone on the GPU (no other process time-slicing the card): Amazon Sports, seed 0, trained to
# early stopping or a wall-clock budget, then full-catalog test scoring. Its per-epoch seconds are the GPU
# side of the speed-up over 2 CPU cores (`cpu_epochs.sh`). Carry `.gpu/` (see device_bench.sh).
set -u
BUDGET=${BUDGET:-150}
source benchmarks/gpu/setup.sh
job sp-forecaster-alone-s0 $(( BUDGET + 120 )) --dataset csv --path .gpu/data/sports --models forecaster --seed 0 \
    --no-mix --set "forecaster.train={\"max_seconds\": $BUDGET}"
wait
grep -h "epoch" "$RES"/*/log | cut -c1-140
finish

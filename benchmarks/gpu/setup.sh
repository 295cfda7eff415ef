# Sourced by the device scripts here: the lent machine's image has torch & co. but not pydantic and friends
# (carried as wheels in .gpu/wheels) nor an installed evorec (a shim package maps the repo's folders).
T0=$(date +%s)
el() { echo $(( $(date +%s) - T0 )); }
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
getconf _NPROCESSORS_ONLN


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
    ep = [h["seconds"] for h in hist if "seconds" in h]
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


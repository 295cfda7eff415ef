"""History-store benchmark: ML-100K ingest into a fresh embedded Chroma, and 200-event history fetches.

Goals (issue 2): ingest of 100,000 events / 1,682 items in <= 60 s on 2 cores; p95 of a 200-event
history fetch <= 10 ms. Each figure is printed beside a baseline run in the same process:

* ingest baseline — events carrying a copy of their item's 384-d vector and one metadata key per field
  (the obvious design), timed on the first ``--baseline-events`` events against 1-d event vectors with
  the same five keys (the previous layout) and against ours: 1-d vectors, two keys (``user_id`` + packed);
* fetch baseline — a raw ``collection.get(where={"user_id": u})`` per call, against
  ``HistoryStore.user_history(u, limit=200)`` (cold: first fetch; warm: per-process cache).

Repeat:  OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_store.py [--threads 2] [--path DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def pct(xs: list[float], q: float) -> float:
    return float(np.percentile(np.array(xs) * 1e3, q))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--path", type=Path, default=None, help="MovieLens-100K directory (default settings).")
    ap.add_argument("--threads", type=int, default=1, help="torch/BLAS threads (the machine is shared).")
    ap.add_argument("--baseline-events", type=int, default=10_000, help="Events in the ingest baseline run.")
    ap.add_argument("--fetches", type=int, default=300, help="History fetches per measurement.")
    ap.add_argument("--keep", action="store_true", help="Keep the temporary store.")
    args = ap.parse_args()

    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(args.threads)
    threadpool_limits(args.threads)

    from evorec.settings import Settings
    from evorec.tools.data.loader import load_dataset
    from evorec.tools.store.client import get_client
    from evorec.tools.store.embedder import get_embedder
    from evorec.tools.store.history import HistoryStore, encode_event, event_ids

    tmp = Path(tempfile.mkdtemp(prefix="evorec-bench-"))
    settings = Settings(home=tmp, chroma_mode="embedded")
    try:
        print(f"# bench_store: threads={args.threads}, cpus={os.cpu_count()}, load avg {os.getloadavg()[0]:.1f}")
        t0 = time.perf_counter()
        ds = load_dataset("ml-100k", path=args.path, settings=settings)
        t_load = time.perf_counter() - t0
        t0 = time.perf_counter()
        get_embedder("cpu")
        t_model = time.perf_counter() - t0
        store = HistoryStore.open(settings.with_overrides(device="cpu"), "ml-100k")
        cpu0 = time.process_time()
        report = store.ingest(ds, progress=True)
        cpu_ingest = time.process_time() - cpu0
        precision = get_embedder("cpu").precision
        t_total = t_load + t_model + report.seconds
        ok = "OK" if t_total <= 60 else "OVER GOAL"
        print(f"\ningest ML-100K ({report.events_written} events, {report.items_embedded} items embedded) into a "
              f"fresh embedded store: {t_total:.1f} s  [goal <= 60 s: {ok}]")
        print(f"  parse {t_load:.1f} s + model load {t_model:.1f} s + embed/upsert {report.seconds:.1f} s "
              f"(CPU time of embed/upsert {cpu_ingest:.1f} s, all threads: on a shared machine wall time >> "
              f"CPU time / cores); embedder precision {precision}")
        again = store.ingest(ds, progress=False)
        print(f"  re-ingest (idempotent, nothing to write): {again.seconds:.1f} s, "
              f"{again.events_skipped} events skipped")

        # ---- ingest baseline: 384-d item vectors copied onto every event, same events, same batch size
        n = min(args.baseline_events, len(ds.interactions))
        inter = ds.interactions.iloc[:n]
        ids, matrix = store.item_embeddings()
        pos = {iid: i for i, iid in enumerate(ids)}
        client = get_client(settings)
        ev_ids = event_ids(inter["user_id"].tolist(), inter["item_id"].tolist(), inter["ts"].tolist())
        rows = list(zip(inter["user_id"], inter["item_id"], inter["ts"].tolist(), inter["row"].tolist(),
                        inter["rating"].tolist(), strict=True))
        five_keys = [{"user_id": u, "item_id": i, "ts": t, "row": r, "rating": x} for u, i, t, r, x in rows]
        packed = [encode_event(u, i, t, r, x) for u, i, t, r, x in rows]
        timings: dict[str, tuple[float, float]] = {}
        variants = (("384-d item vectors, 5 metadata keys [baseline]", 384, five_keys),
                    ("1-d event vectors, 5 metadata keys [previous]", 1, five_keys),
                    ("1-d event vectors, 2 metadata keys [ours]", 1, packed))
        for k, (label, dim, metas) in enumerate(variants):
            col = client.get_or_create_collection(f"bench{k}", embedding_function=None,
                                                  configuration={"hnsw": {"space": "cosine" if dim > 1 else "l2"}})
            t0, c0 = time.perf_counter(), time.process_time()
            for s in range(0, n, 5000):
                sl = slice(s, s + 5000)
                emb = (matrix[[pos[i] for i in inter["item_id"].iloc[sl]]] if dim > 1
                       else (inter["ts"].iloc[sl].to_numpy(np.float64) / 31_557_600).astype(np.float32)[:, None])
                col.upsert(ids=ev_ids[sl], embeddings=emb, metadatas=metas[sl])
            timings[label] = (time.perf_counter() - t0, time.process_time() - c0)
            client.delete_collection(f"bench{k}")
        base, base_cpu = timings[variants[0][0]]
        print(f"\nevent upsert, {n} events (wall; CPU time):")
        for label, (secs, cpu) in timings.items():
            print(f"  {label:48s} {secs:6.2f} s  {n / secs:8.0f} ev/s  x{base / secs:.2f} vs baseline;  "
                  f"CPU {cpu:5.2f} s  x{base_cpu / max(cpu, 1e-9):.2f}")

        # ---- history fetch: users with >= 200 events, their last 200
        counts = ds.interactions["user_id"].value_counts()
        heavy = counts[counts >= 200].index.tolist()
        rng = np.random.default_rng(0)
        picks = [heavy[int(i)] for i in rng.integers(0, len(heavy), size=args.fetches)]
        raw_col = client.get_collection("events__ml-100k", embedding_function=None)
        raw, cold, warm, warm_cpu = [], [], [], []
        for u in picks:
            t = time.perf_counter()
            raw_col.get(where={"user_id": u}, include=["metadatas"])
            raw.append(time.perf_counter() - t)
        for u in heavy:  # first fetch of each user: cache miss
            store._cache.clear()
            t = time.perf_counter()
            h = store.user_history(u, limit=200)
            cold.append(time.perf_counter() - t)
            assert len(h.events) == 200
        for u in heavy:
            store.user_history(u, limit=200)
        for u in picks:
            c, t = time.thread_time(), time.perf_counter()
            store.user_history(u, limit=200)
            warm.append(time.perf_counter() - t)
            warm_cpu.append(time.thread_time() - c)
        b50 = pct(raw, 50)
        print(f"\n200-event history fetch ({len(heavy)} users with >= 200 events, {args.fetches} fetches):")
        for label, xs in (("raw collection.get(where) [baseline]", raw), ("user_history, cold (cache miss)", cold),
                          ("user_history, warm (process cache)", warm),
                          ("  same, CPU time of the fetch", warm_cpu)):
            print(f"  {label:40s} p50 {pct(xs, 50):7.2f} ms  p95 {pct(xs, 95):7.2f} ms   "
                  f"x{b50 / max(pct(xs, 50), 1e-9):.2f} vs baseline p50")
        p95 = pct(warm, 95)
        print(f"  goal p95 <= 10 ms (warm): {'OK' if p95 <= 10 else 'OVER GOAL'}; "
              f"cold p95 {pct(cold, 95):.1f} ms, mean {statistics.mean(cold) * 1e3:.1f} ms")
        store._cache.clear()
        t0 = time.perf_counter()
        loaded = store.warm()
        print(f"  warm(): every event ({loaded}) loaded into the process cache in {time.perf_counter() - t0:.1f} s "
              "(API/agent start-up); afterwards every fetch is a warm one")
        print("\nrepeat: OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_store.py "
              f"--threads {args.threads}")
    finally:
        if args.keep:
            print(f"store kept at {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The validation-pool study behind the same-day feature (validation data only; the test split is never read).

Trains the Sports forecaster (seed 0, the eval recipe) once, dumps the fusion's candidate pools of every validation
case with the current FEATURES plus candidate extras (directed transition from the last item, ItemKNN score), then
refits logistic regression on 25,000 cases and scores NDCG@10 on 10,000 others, with and without each extra.

    OPENBLAS_NUM_THREADS=1 python benchmarks/results/fusion-same-day-2026-12-05/pool_study.py --work /tmp/pool-study
"""

from __future__ import annotations

import argparse
import pickle
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression

from evorec.evals.runner import limit_threads, seed_everything
from evorec.tools.candidates import default_sources
from evorec.tools.data.loader import load_dataset
from evorec.tools.data.sequences import SequenceData
from evorec.tools.data.splits import make_split
from evorec.tools.models import create_model
from evorec.tools.models.fusion import index_from_sequences
from evorec.tools.ranking.features import FEATURES, feature_matrix
from evorec.tools.ranking.training import batch_signals, case_pool


def transitions(histories: list, n: int) -> sp.csr_matrix:
    a = np.concatenate([h.items[:-1] for h in histories if len(h) > 1])
    b = np.concatenate([h.items[1:] for h in histories if len(h) > 1])
    t = sp.csr_matrix((np.ones(len(a)), (a, b)), shape=(n + 1, n + 1))
    t.sum_duplicates()
    return t


def dump(split: object, n: int, work: Path, max_cases: int | None = None) -> Path:
    out = work / "pools.npz"
    if out.is_file():
        return out
    fc_path = work / "forecaster.pkl"
    if fc_path.is_file():
        fc = pickle.loads(fc_path.read_bytes())
    else:
        seed_everything(0)
        fc = create_model("forecaster", patience=2, batching="by_length")
        fc.fit(split.train, split.valid, seed=0, progress=True)
        fc_path.write_bytes(pickle.dumps(fc))
    trans = transitions(split.train.histories, n)
    outdeg = np.maximum(np.asarray(trans.sum(axis=1)).ravel(), 1.0)
    knn = create_model("itemknn", grid_window=[0, 5], grid_n_last=[5, 20], grid_recency=[0.8])
    knn.fit(split.train, split.valid, seed=0, progress=False)
    index = index_from_sequences(split.train)
    index.attach_catalog_trends(split.train.histories)
    index.per_case = True
    sources, valid = default_sources(), split.valid
    xs, es, ys, gs = [], [], [], []
    n_cases = len(valid.targets) if max_cases is None else min(max_cases, len(valid.targets))
    for lo in range(0, n_cases, 256):
        hs = list(valid.histories[lo:lo + 256])
        users = valid.user_ids[lo:lo + 256]
        sigs = batch_signals(index, users, hs, [None] * len(hs), fc.predict, use_trends=True, batch=256)
        knn_scores = knn.full_sort_predict(hs)
        for r, sig in enumerate(sigs):
            ix, pool = case_pool(index, sig, sources)
            if len(pool) == 0:
                continue
            items, last = pool.items, int(hs[r].items[-1])
            xs.append(feature_matrix(ix, sig, items, pool.membership, pool.source_names).astype(np.float32))
            es.append(np.column_stack([trans[last, items].toarray().ravel() / outdeg[last],
                                       knn_scores[r][items]]).astype(np.float32))
            ys.append((items == int(valid.targets[lo + r])).astype(np.int8))
            gs.append(np.full(len(items), lo + r, np.int32))
        print(f"{lo + len(hs)} / {n_cases} cases", flush=True)
    np.savez(out, X=np.vstack(xs), E=np.vstack(es), y=np.concatenate(ys), g=np.concatenate(gs))
    return out


def ndcg10(g: np.ndarray, y: np.ndarray, s: np.ndarray) -> float:
    """Mean NDCG@10 in the pool, one target per case (0 when the pool misses it), over the cases in ``g``."""
    total = 0.0
    for case in np.unique(g):
        rows = g == case
        pos = np.flatnonzero(y[rows])
        if len(pos):
            rank = int((s[rows] > s[rows][pos[0]]).sum())
            total += 1.0 / np.log2(rank + 2) if rank < 10 else 0.0
    return total / len(np.unique(g))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--path", type=Path, default=Path("../shared/data/amazon-sports-5core"))
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--max-cases", type=int, default=None, help="dump only the first N validation cases (a check)")
    args = ap.parse_args()
    limit_threads(1)
    args.work.mkdir(parents=True, exist_ok=True)
    data = SequenceData.from_dataset(load_dataset("csv", path=args.path))
    z = np.load(dump(make_split(data, "loo"), data.n_items, args.work, args.max_cases))
    X, E, y, g = z["X"].astype(np.float64), z["E"].astype(np.float64), z["y"], z["g"]
    perm = np.random.default_rng(0).permutation(np.unique(g))
    n_hold = min(10000, len(perm) * 2 // 7)
    hold, fit = np.isin(g, perm[:n_hold]), np.isin(g, perm[n_hold:n_hold + 25000])
    print(f"forecaster order alone: {ndcg10(g[hold], y[hold], X[hold][:, FEATURES.index('fc_logp')]):.5f}")
    same_day = FEATURES.index("same_day")
    variants = {"without same_day": np.delete(X, same_day, axis=1), "FEATURES (with same_day)": X,
                "+ transition": np.column_stack([X, E[:, 0]]), "+ ItemKNN": np.column_stack([X, E[:, 1]])}
    for name, cols in variants.items():
        mu, sd = cols[fit].mean(0), cols[fit].std(0)
        sd[sd < 1e-9] = 1.0
        lr = LogisticRegression(C=0.1, max_iter=1000).fit((cols[fit] - mu) / sd, y[fit])
        print(f"{name}: {ndcg10(g[hold], y[hold], ((cols[hold] - mu) / sd) @ lr.coef_[0]):.5f}")


if __name__ == "__main__":
    main()

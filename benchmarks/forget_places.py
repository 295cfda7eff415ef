"""Forget-user places checked: forget one user under ``evorec serve --workers 2`` and count their traces in
every place the data layer and the API keep them. Every count must be 0.

Setup (a fresh HOME, small synthetic data): ingest and train; add events for the user and retrain, so the
saved training delta holds them; serve with 2 workers on a ``chroma run`` store; warm the user on both
workers (history, interests, chart, recommendation) and open a chat session. Then ``DELETE /v1/users/{id}``
through one worker, and count:

- Chroma events of the user (``where user_id``, and stored ids owned by the user);
- per worker, through fresh connections: a known history, a non-cold-start recommendation, known interests
  or trends, the user in ``GET /v1/users``;
- the sessions DB: session rows, and the id's raw bytes in ``sessions.sqlite`` (+ WAL);
- the saved training delta: the id's raw bytes; rows of the user in the dataset a restart serves;
- store state: the id's raw bytes (tombstones are one-way keys);
- every other HOME file except the dataset's own source files and Chroma's directory: the id's raw bytes
  (Chroma's own files are reported apart, under ``info``: freed pages and its write log are Chroma's to compact);
- after ``evorec ingest`` (CLI) of the dataset files: Chroma events of the user;
- after a restart: per worker, a known history.

Repeat:  OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/forget_places.py [--home DIR] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from harness.workers import each_worker

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

SMALL = {"n_users": 60, "n_items": 200}

PREPARE = """
import json, sys
from evorec.settings import Settings
from evorec.tools.training import PrepareOptions, prepare
from evorec.tools.data.loader import load_dataset
from evorec.tools.data.synthetic import generate_synthetic
from evorec.tools.toolbox import Toolbox
home, small = sys.argv[1], json.loads(sys.argv[2])
s = Settings(home=home, dataset="synthetic", chroma_mode="embedded", llm="none", threads=1)
generate_synthetic(s.data_dir / "synthetic", seed=s.synthetic_seed, **small)
prepare(s, PrepareOptions(dataset="synthetic", epochs=1))
ds = load_dataset("synthetic", settings=s)
user = str(ds.interactions["user_id"].value_counts().index[0])
tb = Toolbox.open(s, "synthetic")
items = ds.items["item_id"].tolist()
tb.add_events([{"user_id": user, "item_id": items[k], "timestamp": 1_950_000_000 + k} for k in range(3)])
tb.close()
prepare(s, PrepareOptions(dataset="synthetic", ingest=False, epochs=1))  # the delta now holds the added events
print(user)
"""


def env_for(home: Path, chroma_port: int) -> dict[str, str]:
    return {"EVOREC_HOME": str(home), "EVOREC_DATASET": "synthetic", "EVOREC_LLM": "none",
            "EVOREC_CHROMA_PORT": str(chroma_port), "EVOREC_API_KEYS": "", "EVOREC_ADMIN_KEY": "",
            "OPENBLAS_NUM_THREADS": "1"}


def ask_each_worker(url: str, method: str, path: str, **kw: Any) -> dict[str, httpx.Response]:
    """One answer per worker process (harness.workers.each_worker)."""
    return each_worker(url, lambda http: http.request(method, path, **kw))


def raw_hits(paths: list[Path], needle: bytes) -> int:
    return sum(p.read_bytes().count(needle) for p in paths if p.is_file())


def served_traces(url: str, user: str) -> dict[str, int]:
    out: dict[str, int] = {}
    hist = ask_each_worker(url, "GET", f"/v1/users/{user}/history", params={"limit": 5000})
    out["worker_history_known"] = sum(bool(r.json()["known"]) or bool(r.json()["events"]) for r in hist.values())
    rec = ask_each_worker(url, "POST", "/v1/recommend", json={"user_id": user, "k": 3, "llm": False})
    out["worker_recommend_personal"] = sum(not r.json()["cold_start"] for r in rec.values())
    ints = ask_each_worker(url, "GET", f"/v1/users/{user}/interests")
    out["worker_interests_known"] = sum(bool(r.json()["known"]) for r in ints.values())
    listed = ask_each_worker(url, "GET", "/v1/users", params={"limit": 500})
    out["worker_users_list"] = sum(user in r.json()["users"] for r in listed.values())
    return out


def chroma_traces(port: int, user: str) -> int:
    import chromadb

    from evorec.tools.store.client import collection_names
    from evorec.tools.store.ids import owner_of

    col = chromadb.HttpClient(host="127.0.0.1", port=port).get_collection(collection_names("synthetic")[1])
    by_meta = len(col.get(where={"user_id": user}, include=[])["ids"])
    by_id = sum(owner_of(i) == user for i in col.get(include=[])["ids"])
    return by_meta + by_id


def run(home: Path, say: Any = print) -> dict[str, Any]:
    from harness.live_server import LiveServer, free_port

    t0 = time.perf_counter()
    say(f"preparing {home} ...")
    out = subprocess.run([sys.executable, "-c", PREPARE, str(home), json.dumps(SMALL)], capture_output=True,
                         text=True, timeout=1200, check=True)
    user = out.stdout.strip().splitlines()[-1]
    needle = user.encode()
    from evorec.settings import Settings
    from evorec.tools.forecast.artifacts import artifacts_path
    from evorec.tools.forecast.training_data import DELTA_FILE

    delta_file = artifacts_path(Settings(home=home), "synthetic") / DELTA_FILE
    before_delta = raw_hits([delta_file], needle)
    port = free_port()
    env = env_for(home, port)
    report: dict[str, Any] = {"user": user, "traces": {}, "before": {"training_delta_bytes": before_delta}}
    with LiveServer(env, workers=2, extra_args=["--start-chroma"], log_path=home.parent / "serve.log") as server:
        for method, path, kw in (("GET", f"/v1/users/{user}/history", {}),
                                 ("GET", f"/v1/users/{user}/interests", {}),
                                 ("GET", f"/v1/users/{user}/interests.png", {}),
                                 ("POST", "/v1/recommend", {"json": {"user_id": user, "k": 3, "llm": False}})):
            ask_each_worker(server.url, method, path, **kw)  # the user is cached on both workers
        report["before"].update(served_traces(server.url, user))
        report["before"]["chroma_events"] = chroma_traces(port, user)
        with httpx.Client(base_url=server.url, timeout=300) as http:
            chat = http.post("/v1/chat", json={"user_id": user, "message": "what should I watch next?"})
            assert chat.status_code == 200, chat.text
            sessions = home / "sessions.sqlite"
            with sqlite3.connect(sessions) as c:
                report["before"]["sessions"] = c.execute("SELECT COUNT(*) FROM sessions WHERE user_id=?",
                                                         (user,)).fetchone()[0]
            report["before"]["sessions_file_bytes"] = raw_hits([sessions, sessions.with_name("sessions.sqlite-wal")],
                                                               needle)
            r = http.delete(f"/v1/users/{user}")
            assert r.status_code == 200, r.text
            report["answer"] = r.json()
        tr = report["traces"]
        tr["chroma_events"] = chroma_traces(port, user)
        tr.update(served_traces(server.url, user))
        with sqlite3.connect(sessions) as c:
            tr["sessions_rows"] = c.execute("SELECT COUNT(*) FROM sessions WHERE user_id=?", (user,)).fetchone()[0]
        tr["sessions_file_bytes"] = raw_hits([sessions, sessions.with_name("sessions.sqlite-wal")], needle)
        tr["training_delta_bytes"] = raw_hits([delta_file], needle)
        state = home / "store_state.sqlite"
        tr["store_state_bytes"] = raw_hits([state, state.with_name("store_state.sqlite-wal")], needle)
        counted = {sessions, sessions.with_name("sessions.sqlite-wal"), delta_file, state,
                   state.with_name("store_state.sqlite-wal")}
        skip = (home / "data", home / "chroma")
        others = [p for p in home.rglob("*") if p.is_file() and p not in counted
                  and not any(p.is_relative_to(s) for s in skip)]
        tr["other_home_files_bytes"] = raw_hits(others, needle)
        # informational, not counted: Chroma's own files may keep freed pages or its write log until it compacts
        report["info"] = {"chroma_files_raw_bytes": raw_hits(list((home / "chroma").rglob("*")), needle)}
        ingest = subprocess.run([sys.executable, "-m", "evorec.serving.cli.main", "ingest", "--no-progress"],
                                env={**os.environ, **env, "EVOREC_CHROMA_MODE": "http"}, capture_output=True,
                                text=True, timeout=600)
        assert ingest.returncode == 0, ingest.stderr[-2000:]
        tr["chroma_events_after_reingest"] = chroma_traces(port, user)
        tr["worker_history_known_after_reingest"] = served_traces(server.url, user)["worker_history_known"]
    from evorec.tools.data.loader import load_dataset
    from evorec.tools.forecast.training_data import served_dataset

    settings = Settings(home=home, dataset="synthetic")
    served = served_dataset(settings, load_dataset("synthetic", settings=settings))
    tr["served_dataset_rows"] = int((served.interactions["user_id"] == user).sum())
    with LiveServer(env, workers=2, extra_args=["--start-chroma"], log_path=home.parent / "serve.log") as server:
        after = served_traces(server.url, user)
        tr.update({f"{k}_after_restart": v for k, v in after.items()})
    report["places"] = len(tr)
    report["total_traces"] = sum(tr.values())
    report["seconds"] = round(time.perf_counter() - t0, 1)
    return report


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--home", type=Path, default=None, help="An empty directory for the run (default: a temp dir).")
    ap.add_argument("--json", type=Path, default=None, help="Also write the report here.")
    args = ap.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="forget-places-")) / "home"
    report = run(home, say=lambda m: print(m, file=sys.stderr, flush=True))
    text = json.dumps(report, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0 if report["total_traces"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

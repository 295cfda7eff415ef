"""Heavy store checks (``-m slow``): a real SIGKILL half-way through an ingest, and the full ML-100K."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from evorec.settings import Settings
from evorec.tools.data.loader import load_dataset
from evorec.tools.store.history import HistoryStore, event_ids

pytestmark = pytest.mark.slow

INGEST = textwrap.dedent("""
    import sys
    import time
    from pathlib import Path
    from evorec.settings import Settings
    from evorec.tools.data.loader import load_dataset
    from evorec.tools.store.history import HistoryStore
    s = Settings(home=Path(sys.argv[1]))
    ds = load_dataset("synthetic", path=Path(sys.argv[2]), settings=s)
    def report(written, total):
        # tell the parent what has landed, then dawdle so the kill lands mid-ingest on any machine
        print(written, total, flush=True)
        time.sleep(0.5)
    HistoryStore.open(s, "synthetic").ingest(ds, progress=False, batch_size=500, workers=1, on_batch=report)
""")


def _events_on_disk(home: Path) -> int:
    probe = ("import sys; from pathlib import Path; from evorec.settings import Settings; "
             "from evorec.tools.store.client import get_client; "
             "c = get_client(Settings(home=Path(sys.argv[1]))); "
             "print(c.get_collection('events__synthetic').count() if 'events__synthetic' in "
             "[x.name for x in c.list_collections()] else 0)")
    out = subprocess.run([sys.executable, "-c", probe, str(home)], capture_output=True, text=True, timeout=120)
    return int(out.stdout.strip() or 0)


def test_sigkill_mid_ingest_then_rerun_is_complete(tmp_path: Path) -> None:
    from evorec.tools.data.synthetic import generate_synthetic

    data = generate_synthetic(tmp_path / "syn", seed=5, n_users=150, n_items=200)
    home = tmp_path / "home"
    proc = subprocess.Popen([sys.executable, "-c", INGEST, str(home), str(data)], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
    assert proc.stdout is not None
    reported = total = 0
    for line in proc.stdout:  # kill once a few batches have been reported as landed
        reported, total = map(int, line.split())
        if reported >= 1500:
            break
    assert proc.poll() is None and reported < total, "ingest finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    landed = _events_on_disk(home)
    settings = Settings(home=home)
    ds = load_dataset("synthetic", path=data, settings=settings)
    assert 0 < landed < len(ds.interactions)
    store = HistoryStore.open(settings, "synthetic")
    assert not store.is_ingested
    report = store.ingest(ds, progress=False)
    assert report.events_skipped == landed and report.events_written == len(ds.interactions) - landed
    ids = store._events_col.get(include=[])["ids"]
    assert len(ids) == len(set(ids)) == len(ds.interactions)
    assert set(ids) == set(event_ids(ds.interactions["user_id"].tolist(), ds.interactions["item_id"].tolist(),
                                     ds.interactions["ts"].tolist()))
    assert store.is_ingested


@pytest.mark.ml100k
def test_ml100k_ingest_and_history(ml100k_dir: Path, tmp_settings: Settings) -> None:
    ds = load_dataset("ml-100k", path=ml100k_dir, settings=tmp_settings)
    store = HistoryStore.open(tmp_settings, "ml-100k")
    report = store.ingest(ds, progress=False)
    assert (report.events_written, report.items_embedded) == (100_000, 1682)
    assert store.stats().events == 100_000
    for user in ("1", "405", "13"):
        expected = ds.user_events(user)
        h = store.user_history(user)
        assert [e.item_id for e in h.events] == expected["item_id"].tolist()  # (ts, row) order, ties included
    hits = store.search_items("Star Wars space opera", k=5)
    assert any("Star Wars" in h.title or "Empire Strikes Back" in h.title for h in hits)

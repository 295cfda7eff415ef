"""``similar_items`` through the agent's tool call on a prepared synthetic home: CPU per call, for whichever
evorec tree is imported (the before/after in benchmarks/results/seam-before-after.md ran an older tree via
PYTHONPATH). Prints one JSON line.

    EVOREC_HOME=<home> python benchmarks/bench_similar_items.py
"""

from __future__ import annotations

import json
import os
import time

import evorec
from evorec.agent.tool_calls import UserBoundTools
from evorec.settings import Settings
from evorec.tools import Constraints, Toolbox


def main() -> None:
    tb = Toolbox.open(Settings(home=os.environ["EVOREC_HOME"], dataset="synthetic", llm="none"), "synthetic")
    counts = tb.data.interactions
    users = [str(u) for u in counts["user_id"].value_counts().index[:20]]
    hits = [tb.get_item(str(i)) for i in counts["item_id"].value_counts().index[:10]]
    titles = [h.title for h in hits if h is not None]
    for u in users:  # each user's history cached first, as a turn's pre-run tools leave it
        tb.get_user_history(u)
    results: list[list[str]] = []
    t0, c0, n = time.perf_counter(), time.process_time(), 0
    for rep in range(3):
        for u in users:
            kit = UserBoundTools(tb, u, Constraints(k=10))
            for t in titles:
                out = kit.call("similar_items", {"item": t, "k": 5})
                assert out.ok and out.ranked is not None, out.error
                if rep == 0:
                    results.append([i.item_id for i in out.ranked.items])
                n += 1
    print(json.dumps({"tree": evorec.__file__, "calls": n,
                      "cpu_ms_per_call": round(1000 * (time.process_time() - c0) / n, 3),
                      "wall_ms_per_call": round(1000 * (time.perf_counter() - t0) / n, 3), "results": results}))


if __name__ == "__main__":
    main()

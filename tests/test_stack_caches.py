"""Caches use the stack's LRU (``cachetools``), not hand-written ``OrderedDict`` bookkeeping."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Not LRUs of ours to replace here: the store's per-process cache holds EVERY user after warm() (no bound, owned
# by the store); the ranking index's as-of views and the models are other areas' code.
EXEMPT = {"tools/store/cache.py", "tools/store/history.py", "tools/ranking/index.py"}


def ordered_dict_uses(path: Path) -> list[int]:
    """Lines that name ``OrderedDict``."""
    return [n.lineno for n in ast.walk(ast.parse(path.read_text(), str(path)))
            if (isinstance(n, ast.Name) and n.id == "OrderedDict")
            or (isinstance(n, ast.Attribute) and n.attr == "OrderedDict")
            or (isinstance(n, ast.ImportFrom) and any(a.name == "OrderedDict" for a in n.names))]


def test_no_hand_written_lru_in_agent_tools_serving() -> None:
    files = [p for d in ("agent", "tools", "serving") for p in sorted((ROOT / d).rglob("*.py"))
             if "tools/models/" not in p.relative_to(ROOT).as_posix()
             and p.relative_to(ROOT).as_posix() not in EXEMPT]
    assert len(files) > 80
    found = [f"{p.relative_to(ROOT)}:{line}" for p in files for line in ordered_dict_uses(p)]
    assert not found, "use cachetools.LRUCache (or functools.lru_cache):\n" + "\n".join(found)


def test_the_caches_are_lru_caches() -> None:
    from cachetools import LRUCache

    from evorec.tools.ranking import trend_labels
    from evorec.tools.trends.service import TrendService

    assert isinstance(trend_labels._MEMO, LRUCache) and trend_labels._MEMO.maxsize == trend_labels._MEMO_SIZE
    svc = TrendService(cache_size=3)
    assert isinstance(svc._cache, LRUCache) and svc._cache.maxsize == 3

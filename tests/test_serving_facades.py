"""Serving talks to the agent and the tools only through their facades (``evorec.agent``, ``evorec.tools``), so
their modules can be split and renamed without touching the API or the CLI; every name a facade lists resolves."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path
from types import ModuleType

import pytest

SERVING = Path(__file__).resolve().parents[1] / "serving"
FACADES = ["evorec.agent", "evorec.tools"]


def internal_imports(path: Path, facade: str) -> list[tuple[int, str]]:
    """(line, module) of every import of a ``facade`` submodule in ``path``, at any depth (lazy imports included)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        modules = [node.module or ""] if isinstance(node, ast.ImportFrom) else \
            [a.name for a in node.names] if isinstance(node, ast.Import) else []
        found += [(node.lineno, m) for m in modules if m.startswith(facade + ".")]
    return found


@pytest.mark.parametrize("facade", FACADES)
def test_serving_imports_only_the_facade(facade: str) -> None:
    files = sorted(SERVING.rglob("*.py"))
    assert len(files) > 30
    offending = [f"{p.relative_to(SERVING.parent)}:{line} imports {m}" for p in files
                 for line, m in internal_imports(p, facade)]
    assert not offending, f"import these from {facade} (add the name to its facade if it is missing):\n" + \
        "\n".join(offending)


def test_the_check_catches_a_lazy_internal_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from evorec.tools.store.history import HistoryStore\n    import evorec.tools.store\n"
                   "    from evorec.agent.turn import run_turn\n")
    assert internal_imports(bad, "evorec.tools") == [(2, "evorec.tools.store.history"), (3, "evorec.tools.store")]
    assert internal_imports(bad, "evorec.agent") == [(4, "evorec.agent.turn")]


def _facade_names() -> list[tuple[str, str]]:
    return [(f, n) for f in FACADES for n in importlib.import_module(f).__all__]


@pytest.mark.parametrize(("facade", "name"), _facade_names())
def test_every_facade_name_resolves(facade: str, name: str) -> None:
    assert getattr(importlib.import_module(facade), name) is not None


@pytest.mark.parametrize("facade", FACADES)
def test_facade_lists_what_it_exports(facade: str) -> None:
    module: ModuleType = importlib.import_module(facade)
    assert sorted(module.__all__) == sorted(module._EXPORTS)
    with pytest.raises(AttributeError):
        _ = module.NoSuchThing


def test_both_facades_share_one_lazy_export_helper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The PEP 562 code lives once (``evorec.lazy_exports``); a name loads on first use and is then kept."""
    import sys

    for facade in FACADES:
        getter = importlib.import_module(facade).__getattr__
        assert getter.__module__ == "evorec.lazy_exports", facade
    (tmp_path / "lazy_pkg_probe").mkdir()
    (tmp_path / "lazy_pkg_probe" / "__init__.py").write_text(
        "from evorec.lazy_exports import lazy_exports\n"
        "__getattr__ = lazy_exports(__name__, {'Thing': ('lazy_pkg_probe.heavy', 'Thing')})\n")
    (tmp_path / "lazy_pkg_probe" / "heavy.py").write_text("class Thing:\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("lazy_pkg_probe", "lazy_pkg_probe.heavy"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    pkg = importlib.import_module("lazy_pkg_probe")
    assert "lazy_pkg_probe.heavy" not in sys.modules  # nothing loads at import
    thing = pkg.Thing
    assert "lazy_pkg_probe.heavy" in sys.modules and vars(pkg)["Thing"] is thing  # loaded once, then kept
    with pytest.raises(AttributeError, match="has no attribute 'Other'"):
        _ = pkg.Other


def toolbox_attributes(path: Path) -> list[tuple[int, str]]:
    """(line, attribute) of every attribute read on a toolbox in ``path``: ``<x>.toolbox.<attr>``, ``tb.<attr>``,
    ``toolbox.<attr>``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Attribute):
            v = node.value
            if (isinstance(v, ast.Attribute) and v.attr == "toolbox") or \
                    (isinstance(v, ast.Name) and v.id in ("tb", "toolbox")):
                found.append((node.lineno, node.attr))
    return found


def test_serving_uses_only_the_toolbox_public_methods() -> None:
    """No reaching into the engines (``toolbox.store``, ``.data``, ``.forecaster``, ``.index``): what serving needs
    is a typed method of the Toolbox (e.g. ``active_users`` for ``GET /v1/users``, ``write_training_delta`` for
    the retrain job)."""
    from evorec.tools import Toolbox

    public = {n for n in vars(Toolbox) if not n.startswith("_")}
    assert {"active_users", "write_training_delta", "get_user_history"} <= public
    assert not {"store", "data", "forecaster", "index", "ranker", "settings"} & public
    uses = [(p, line, attr) for p in sorted(SERVING.rglob("*.py")) for line, attr in toolbox_attributes(p)]
    assert len(uses) > 10
    offending = [f"{p.relative_to(SERVING.parent)}:{line} .{attr}" for p, line, attr in uses if attr not in public]
    assert not offending, "serving reads Toolbox internals; add a public method:\n" + "\n".join(offending)

"""Serving talks to the tools only through their public facade (``evorec.tools``), so the tools' insides can
change without touching the API or the CLI; and every name the facade lists resolves."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import evorec.tools as facade

SERVING = Path(__file__).resolve().parents[1] / "serving"


def tools_imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import of a tools submodule in ``path``, at any depth (lazy imports included)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        modules = [node.module or ""] if isinstance(node, ast.ImportFrom) else \
            [a.name for a in node.names] if isinstance(node, ast.Import) else []
        found += [(node.lineno, m) for m in modules if m.startswith("evorec.tools.")]
    return found


def test_serving_imports_only_the_tools_facade() -> None:
    files = sorted(SERVING.rglob("*.py"))
    assert len(files) > 30
    offending = [f"{p.relative_to(SERVING.parent)}:{line} imports {m}" for p in files for line, m in tools_imports(p)]
    assert not offending, "import these from evorec.tools (add the name to tools/__init__.py's facade if it " \
                          "is missing):\n" + "\n".join(offending)


def test_the_check_catches_a_lazy_internal_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from evorec.tools.store.history import HistoryStore\n    import evorec.tools.store\n")
    assert tools_imports(bad) == [(2, "evorec.tools.store.history"), (3, "evorec.tools.store")]


@pytest.mark.parametrize("name", facade.__all__)
def test_every_facade_name_resolves(name: str) -> None:
    assert getattr(facade, name) is not None


def test_facade_lists_what_it_exports() -> None:
    assert sorted(facade.__all__) == sorted(facade._EXPORTS)
    with pytest.raises(AttributeError):
        _ = facade.NoSuchTool  # type: ignore[attr-defined]

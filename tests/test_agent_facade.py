"""Serving talks to the agent only through its facade (``evorec.agent``), so the agent's modules can be split
and renamed without touching the API or the CLI; every name the facade lists resolves."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import evorec.agent as facade

SERVING = Path(__file__).resolve().parents[1] / "serving"


def agent_imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        modules = [node.module or ""] if isinstance(node, ast.ImportFrom) else \
            [a.name for a in node.names] if isinstance(node, ast.Import) else []
        found += [(node.lineno, m) for m in modules if m.startswith("evorec.agent.")]
    return found


def test_serving_imports_only_the_agent_facade() -> None:
    offending = [f"{p.relative_to(SERVING.parent)}:{line} imports {m}" for p in sorted(SERVING.rglob("*.py"))
                 for line, m in agent_imports(p)]
    assert not offending, "import these from evorec.agent:\n" + "\n".join(offending)


@pytest.mark.parametrize("name", facade.__all__)
def test_every_facade_name_resolves(name: str) -> None:
    assert getattr(facade, name) is not None


def test_facade_lists_what_it_exports() -> None:
    assert sorted(facade.__all__) == sorted(facade._EXPORTS)
    with pytest.raises(AttributeError):
        _ = facade.NoSuchThing  # type: ignore[attr-defined]

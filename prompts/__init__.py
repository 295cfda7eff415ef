"""Prompts are data: versioned text files loaded by name."""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def load_prompt(name: str) -> str:
    """Text of ``prompts/<name>.md`` (or ``.txt``)."""
    base = resources.files(__name__)
    for ext in (".md", ".txt"):
        f = base / f"{name}{ext}"
        if f.is_file():
            return f.read_text(encoding="utf-8")
    raise FileNotFoundError(f"no prompt named {name!r}")

"""The tools the LLM may call, one module each; a module registers its tool by being here.

Each module defines ``TOOL = LLMTool(...)`` (see :mod:`evorec.agent.llm_tool`) whose name is the
module's name; its description is ``prompts/tool_<name>.md`` (or the module's ``description_text``); its run
function composes the toolbox's primitives. Nothing else lists the tools: the agent's tool list, the pre-run
order and the LangChain integration all read ``TOOLS``.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from evorec.agent.llm_tool import LLMTool


def _scan() -> dict[str, LLMTool[Any]]:
    found: dict[str, LLMTool[Any]] = {}
    for mod in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        tool = getattr(importlib.import_module(f"{__name__}.{mod.name}"), "TOOL", None)
        if not isinstance(tool, LLMTool):
            raise TypeError(f"{__name__}.{mod.name} defines no TOOL = LLMTool(...)")
        if tool.name != mod.name:
            raise ValueError(f"tool {tool.name!r} lives in {mod.name}.py; a tool's module is named after it")
        found[tool.name] = tool
    return found


TOOLS: dict[str, LLMTool[Any]] = _scan()
# The tools that run before the model is asked anything, in their order.
PRE_RUN: tuple[str, ...] = tuple(name for order, name in sorted((t.pre_run.order, t.name) for t in TOOLS.values()
                                                                if t.pre_run is not None))
# The tools offered to the model, in the order it is shown them. A constant list keeps the
# system+tools prompt prefix byte-stable (the server reuses its KV cache for it).
LLM_TOOLS: tuple[str, ...] = tuple(name for pos, name in sorted((t.offered_at, t.name) for t in TOOLS.values()
                                                                if t.offered_at is not None))

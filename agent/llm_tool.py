"""What one LLM-callable tool is: its arguments, its description, how it runs, whether it is pre-run.

A tool is one module of :mod:`evorec.agent.llm_tools` that defines ``TOOL = LLMTool(...)``; the
package registers it by being there. Its description is ``prompts/tool_<name>.md``, or the module's own
``description_text``. Its run function composes the toolbox's primitives
(:class:`~evorec.tools.protocol.ToolboxProtocol`), so adding a tool edits no other file.

Session scoping is structural: an argument model has no user field (``extra="forbid"`` rejects one)
and the run function gets the session's user in its :class:`ToolContext`, never from the model.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from evorec.agent.preferences import _alias_table
from evorec.prompts import load_prompt
from evorec.tools.constraints import Constraints
from evorec.tools.evidence import Evidence
from evorec.tools.protocol import ToolboxProtocol
from evorec.tools.recommendation import RankedList


class ToolArgs(BaseModel):
    """Base of every tool's arguments: only what the model may set (never a user)."""

    model_config = ConfigDict(extra="forbid")


@dataclass
class ToolContext:
    """What a tool runs with: the tools, the session's user, the session's hard constraints and, when a person
    is talking, what they said this session (``said``; None for programmatic callers, who are taken at their
    word)."""

    toolbox: ToolboxProtocol
    user_id: str
    constraints: Constraints
    said: str | None = None
    _aliases: list[tuple[re.Pattern[str], str]] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self._aliases = _alias_table(self.toolbox.categories)

    def category(self, name: str) -> str:
        """The catalog category a name the model wrote stands for ("sci fi" → "Sci-Fi"); ValueError if none."""
        low = name.strip().lower()
        for pat, cat in self._aliases:
            if pat.fullmatch(low):
                return cat
        raise ValueError(f"unknown category {name!r}; known: {', '.join(self.toolbox.categories)}")


class ToolOutput(BaseModel):
    """What a run produced: the model's view (summary) and what the validator checks (evidence, titles)."""

    summary: str
    evidence: list[Evidence] = Field(default_factory=list)
    titles: dict[str, str] = Field(default_factory=dict, description="item id -> title of every item it mentions")
    cold_start: bool = False
    ranked: RankedList | None = Field(None, description="Set by tools whose items may be recommended.")
    applied: dict[str, Any] = Field(default_factory=dict, description="Arguments as applied (e.g. the effective "
                                    "constraints), recorded beside what the model sent.")


A = TypeVar("A", bound=ToolArgs)


@dataclass(frozen=True)
class PreRun:
    """The tool runs before the model is asked anything, in ``order``, with ``arguments``."""

    order: int
    arguments: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LLMTool(Generic[A]):
    name: str
    args: type[A]
    run: Callable[[ToolContext, A], ToolOutput]
    pre_run: PreRun | None = None
    offered_at: int | None = None  # position in the tool list the model is shown (small models favour the first)
    description_text: str | None = None  # what the model reads; None: prompts/tool_<name>.md

    @property
    def description(self) -> str:
        """The tool's description for the model: ``description_text``, else ``prompts/tool_<name>.md``."""
        text = self.description_text if self.description_text is not None else load_prompt(f"tool_{self.name}")
        return text.strip()

"""evorec's tools as LangChain tools bound to one user, for any LangChain/LangGraph app and any chat model.

    from langchain_openai import ChatOpenAI
    from langgraph.prebuilt import create_react_agent
    from evorec.integrations.langchain import user_tools
    from evorec.tools import Toolbox

    tools = user_tools(Toolbox.open(), user_id="42")
    agent = create_react_agent(ChatOpenAI(model="gpt-4o-mini"), tools)
    agent.invoke({"messages": [("user", "Something like Alien, but not horror?")]})

Each tool is the agent's own (:mod:`evorec.agent.llm_tools`): the same argument schema, description and
validation, and the same scoping — the user is bound here, never an argument, and an argument naming an
identity is refused. A tool returns the compact summary the evorec agent shows its model, and carries the
full result as the message's artifact (``ToolMessage.artifact``: a
:class:`~evorec.agent.tool_calls.ToolOutcome` with every evidence record, the ranked list, the titles),
so an app can check what its model says against the evidence, as evorec's grounding validator does.
Errors come back as text the model can read (``ERROR: ...``), never as exceptions.
"""

from __future__ import annotations

from typing import Any

from langchain_core.tools import BaseTool, StructuredTool

from evorec.agent.llm_tools import LLM_TOOLS, TOOLS
from evorec.agent.tool_calls import ToolOutcome, UserBoundTools
from evorec.tools.constraints import Constraints
from evorec.tools.protocol import ToolboxProtocol


def user_tools(toolbox: ToolboxProtocol, user_id: str, constraints: Constraints | None = None,
               names: list[str] | tuple[str, ...] | None = None) -> list[BaseTool]:
    """LangChain tools acting for ``user_id`` only, under ``constraints`` (hard filters the model can narrow,
    never relax). ``names``: which tools (default: those the evorec agent offers its own model, in that order)."""
    bound = UserBoundTools(toolbox, str(user_id), constraints or Constraints())
    chosen = list(names) if names is not None else list(LLM_TOOLS)
    unknown = [n for n in chosen if n not in TOOLS]
    if unknown:
        raise ValueError(f"unknown evorec tools {unknown}; tools: {', '.join(TOOLS)}")
    return [_as_langchain(bound, name) for name in chosen]


def _as_langchain(bound: UserBoundTools, name: str) -> BaseTool:
    tool = TOOLS[name]

    def run(**arguments: Any) -> tuple[str, ToolOutcome]:
        # the model's arguments as it sent them (LangChain validated them against the same schema);
        # defaults are left to the schema, so the call is the one the evorec agent would run
        sent = {k: v for k, v in arguments.items() if v is not None and k in tool.args.model_fields}
        out = bound.call(name, sent, issued_by="llm")
        return out.for_model(), out

    def invalid(e: Exception) -> str:  # LangChain validated the arguments first: answer like the evorec agent does
        return f"ERROR: invalid arguments for {name}: {str(e).splitlines()[0] if str(e) else type(e).__name__}"

    return StructuredTool.from_function(func=run, name=name, description=tool.description, args_schema=tool.args,
                                        response_format="content_and_artifact", handle_validation_error=invalid)

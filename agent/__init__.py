"""The orchestrator: LLM client, tool-calling loop, answer schema, grounding, plan-first executor."""

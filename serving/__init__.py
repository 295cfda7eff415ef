"""How people and programs reach evorec: HTTP API, web page, CLI, LLM server launchers."""

"""The llama.cpp grammars the local server decodes JSON with (response_format, forced and repaired tool calls)."""

from __future__ import annotations

import re

from evorec.serving.llm.chat_format import multi_call_gbnf

# llama-cpp-python 0.3.36's schema converter lets JSON strings hold raw control characters (its `char` rule is
# [^"\\]); a model that writes a newline inside a string then produces invalid JSON (measured: 1 answer in
# 67). llama.cpp's own converter and JSON_GBNF exclude \x00-\x1F and \x7F, as JSON requires.
_LOOSE_CHAR = re.compile(r'^(char ::= )\[\^"\\\\\]', re.MULTILINE)


def strict_json_strings(gbnf: str) -> str:
    """The converter's GBNF with JSON-legal string characters only (no raw control characters)."""
    return _LOOSE_CHAR.sub(lambda m: m.group(1) + r'[^"\\\x7F\x00-\x1F]', gbnf)


def schema_gbnf(schema: str, max_calls: int | None = None) -> str:
    """The GBNF the server decodes a JSON schema with (strict strings); with ``max_calls``, the schema is one
    tool call and the grammar allows 1..max_calls ``<tool_call>`` blocks of it."""
    import llama_cpp

    gbnf = strict_json_strings(llama_cpp.llama_grammar.json_schema_to_gbnf(schema))
    return gbnf if max_calls is None else multi_call_gbnf(gbnf, max_calls)

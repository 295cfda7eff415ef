"""What evorec's two HTTP servers put on the wire, written once.

Both the API's OpenAI-compatible facade (``serving/api``) and the local LLM server (``serving/llm``) speak
OpenAI chat-completions: :mod:`.openai_types` holds the server-side request and response types,
:mod:`.sse` the server-sent-events framing (and standard JSON text), :mod:`.errors` the error body.
The client side (the agent) uses the ``openai`` package's own types.
"""

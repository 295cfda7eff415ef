"""LLM serving: evorec's OpenAI-compatible local llama.cpp server, its launcher, vLLM for GPU hosts, a probe.

Public API:
    launcher.local_llm(settings, model=None) -> context manager yielding LLMEndpoint(base_url, model) | None
    launcher.start_local_server(settings, model=None, host=..., port=None) -> ManagedServer
    vllm.build_vllm_command(VLLMConfig(model=...)) -> list[str]; vllm.start_vllm(config, settings)
    probe.probe_endpoint(base_url, model) -> ProbeReport
    local_server: the CPU server (HTTP + CLI) over engine.Engine; request_plan, grammars, stream_splitter
    model_package.resolve_model(settings, key_or_path) -> ResolvedModel (GGUF assembled from PyPI parts)
See MODELS.md beside this file for the model choice and measurements.
"""

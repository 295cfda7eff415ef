"""The lazy grammar sampler picks exactly the tokens the stock full-vocabulary grammar filter picks.

Slow: loads the packaged GGUF twice (stock ``llama_cpp.Llama`` and :class:`ServerLlama`) and
decodes the agent's two kinds of constrained output: a forced tool call and a JSON-schema answer.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from evorec.serving.llm.chat_format import TOOL_CALL_OPEN, forced_call_schema, render_prompt
from evorec.serving.llm.probe import PROBE_SYSTEM, PROBE_TOOLS, ProbeAnswer
from evorec.settings import Settings

pytestmark = [pytest.mark.slow, pytest.mark.llm]


def _decode(llm, prompt: str, grammar_of, **kw) -> str:  # type: ignore[no-untyped-def]
    tokens = llm.tokenize(prompt.encode(), add_bos=False, special=True)
    out = llm.create_completion(tokens, temperature=0.0, grammar=grammar_of(), max_tokens=160, **kw)
    return out["choices"][0]["text"]


def test_lazy_grammar_decodes_exactly_like_the_full_filter(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import llama_cpp

    from evorec.serving.llm.grammars import schema_gbnf
    from evorec.serving.llm.model_package import resolve_model
    from evorec.serving.llm.server_llama import ServerLlama

    path = str(resolve_model(Settings(home=tmp_path)).path)
    call_gbnf = schema_gbnf(json.dumps(forced_call_schema(PROBE_TOOLS)), max_calls=1)
    answer_gbnf = schema_gbnf(json.dumps(ProbeAnswer.model_json_schema()))
    ask = [{"role": "system", "content": PROBE_SYSTEM},
           {"role": "user", "content": "Recommend 3 sci-fi movies for user 42, nothing I have seen."}]
    call_prompt = render_prompt(ask, PROBE_TOOLS) + TOOL_CALL_OPEN + "\n"
    answer_prompt = render_prompt(ask, None)
    jobs = [
        (call_prompt, lambda: llama_cpp.LlamaGrammar.from_string(call_gbnf, verbose=False), {}),
        (answer_prompt, lambda: llama_cpp.LlamaGrammar.from_string(answer_gbnf, verbose=False), {}),
        (answer_prompt, lambda: llama_cpp.LlamaGrammar.from_string(answer_gbnf, verbose=False),
         {"repeat_penalty": 1.1}),
    ]
    texts = {}
    for cls in (llama_cpp.Llama, ServerLlama):
        llm = cls(model_path=path, n_ctx=4096, n_threads=2, verbose=False, seed=0)
        texts[cls.__name__] = [_decode(llm, p, g, **kw) for p, g, kw in jobs]
        if cls is ServerLlama:
            counters = llm.grammar_counters
        del llm
    assert texts["ServerLlama"] == texts["Llama"]
    call, *answers = texts["ServerLlama"]
    assert json.loads(call.split("</tool_call>")[0])["name"] in {t["function"]["name"] for t in PROBE_TOOLS}
    assert all(text.startswith('{"') and len(text) > 100 for text in answers)  # (may stop at max_tokens)
    assert counters["grammar_tokens"] >= 30
    # the favourite token is usually allowed; the full filter is the rare last resort
    assert counters["grammar_full_checks"] <= counters["grammar_shortlist_checks"] < counters["grammar_tokens"]


def test_cached_states_are_small_and_restore_to_the_same_tokens(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import llama_cpp

    from evorec.serving.llm.model_package import resolve_model
    from evorec.serving.llm.server_llama import ServerLlama

    llm = ServerLlama(model_path=str(resolve_model(Settings(home=tmp_path)).path), n_ctx=4096, n_threads=2,
                      verbose=False, seed=0)
    llm.set_cache(llama_cpp.LlamaRAMCache(capacity_bytes=64 << 20))
    prompts = [render_prompt([{"role": "system", "content": PROBE_SYSTEM},
                              {"role": "user", "content": f"What should user {u} watch next?"}], PROBE_TOOLS)
               for u in (7, 8)]
    first = [llm.create_completion(p, temperature=0.0, max_tokens=24)["choices"][0]["text"] for p in prompts]
    assert len(llm.cache.cache_state) == 2  # type: ignore[union-attr]
    state = next(iter(llm.cache.cache_state.values()))  # type: ignore[union-attr]
    assert state.scores.nbytes < 1 << 20  # the stock save_state keeps n_batch x 152k float32 (311 MB)
    again = [llm.create_completion(p, temperature=0.0, max_tokens=24)["choices"][0]["text"] for p in prompts]
    assert again == first  # each came back from a restored state (the other prompt ran in between)


def test_answer_grammar_forbids_raw_control_characters_in_strings(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import llama_cpp

    from evorec.serving.llm.grammars import schema_gbnf
    from evorec.serving.llm.lazy_grammar import TOKEN_DATA, LazyGrammarGreedy
    from evorec.serving.llm.model_package import resolve_model

    llm = llama_cpp.Llama(model_path=str(resolve_model(Settings(home=tmp_path)).path), vocab_only=True, verbose=False)
    schema = json.dumps({"type": "object", "properties": {"message": {"type": "string", "maxLength": 60}},
                         "required": ["message"]})
    gbnf = schema_gbnf(schema)
    sampler = LazyGrammarGreedy(llm._model.vocab, llama_cpp.LlamaGrammar.from_string(gbnf, verbose=False))
    for tok in llm.tokenize(b'{"message": "the next two', add_bos=False):
        sampler.accept(tok)
    newline, tab, word, quote = (llm.tokenize(t, add_bos=False)[0] for t in (b"\n", b"\t", b" films", b'"'))
    cands = np.zeros(4, dtype=TOKEN_DATA)
    cands["id"] = [newline, tab, word, quote]
    assert sampler.allowed(cands).tolist() == [False, False, True, True]

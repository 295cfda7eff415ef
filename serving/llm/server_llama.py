"""The ``llama_cpp.Llama`` the local server runs: faster greedy grammar decoding, lean cached states."""

from __future__ import annotations

import ctypes
from typing import Any

import llama_cpp
import numpy as np
from llama_cpp import _internals

from evorec.serving.llm.lazy_grammar import LazyGrammarGreedy


class ServerLlama(llama_cpp.Llama):
    """``llama_cpp.Llama`` with two changes the server needs.

    - Greedy grammar-constrained decoding goes through :class:`LazyGrammarGreedy` (same tokens, ~1.5x faster).
    - Cached states (``set_cache``) do not carry the logits buffer: llama-cpp-python copies all
      ``n_batch x n_vocab`` float32 scores into every saved state (311 MB for Qwen's 152k vocabulary) while the
      RAM cache counts only the KV bytes (~7 MB for a 600-token prompt), so a "256 MiB" cache grew to
      gigabytes. A restored state is always re-evaluated from its last token before sampling
      (``_requires_eval``), so the stored scores are never read; logprobs are not served.
    """

    def __init__(self, *args: Any, lazy_grammar: bool = True, **kwargs: Any) -> None:
        self.lazy_grammar = lazy_grammar  # False: llama-cpp-python's stock full-vocabulary filter (A/B runs)
        super().__init__(*args, **kwargs)
        self.grammar_counters: dict[str, int] = {}

    def save_state(self) -> llama_cpp.LlamaState:
        state = super().save_state()
        state.scores = np.zeros((1, self._n_vocab), dtype=np.single)  # broadcast back by load_state
        return state

    def _init_sampler(self, **kwargs: Any) -> Any:  # type: ignore[override]
        grammar = kwargs.get("grammar")
        greedy = kwargs.get("temp", 0.8) == 0.0 and not kwargs.get("mirostat_mode", 0)
        if not self.lazy_grammar or grammar is None or not greedy or kwargs.get("logits_processor") is not None:
            return super()._init_sampler(**kwargs)
        chain = _internals.LlamaSampler()
        chain.add_penalties(
            n_vocab=self._n_vocab,
            penalty_last_n=self.last_n_tokens_size,
            penalty_repeat=kwargs.get("repeat_penalty", 1.0),
            penalty_freq=kwargs.get("frequency_penalty", 0.0),
            penalty_present=kwargs.get("presence_penalty", 0.0),
        )
        lazy = LazyGrammarGreedy(self._model.vocab, grammar, self.grammar_counters)
        llama_cpp.llama_sampler_chain_add(chain.sampler, ctypes.pointer(lazy.sampler))
        # registered like llama-cpp-python's own custom samplers: removed from the chain before it is freed,
        # so llama.cpp never frees memory Python owns (and the object lives as long as the chain)
        chain.custom_samplers.append(  # duck-typed like llama-cpp-python's CustomSampler (a .sampler struct)
            (llama_cpp.llama_sampler_chain_n(chain.sampler) - 1, lazy))  # type: ignore[arg-type]
        return chain

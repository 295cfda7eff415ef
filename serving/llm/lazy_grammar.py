"""Greedy decoding under a grammar without checking the whole vocabulary at every token.

llama-cpp-python's sampler chain applies the grammar to every candidate token before picking one:
with Qwen's 152k-token vocabulary that is ~20 ms per generated token on one core, more than the
0.5B model's own forward pass (measured: 16 tok/s grammar-constrained vs 31 tok/s free).

For greedy decoding (temperature 0, what the agent asks for) the same token comes out far cheaper:
take the best token first and ask the grammar about that one token; when the grammar rejects it, ask
about the next best ``SHORTLIST`` tokens; only when none of those is allowed, filter the whole
vocabulary. The result is identical to the full filter (a token that beats every token outside the
shortlist and is allowed is the best allowed token), and in grammar-constrained JSON the model's
favourite is allowed ~85 % of the time. llama.cpp's own ``common`` sampler uses the
same check-then-resample idea.

:class:`~evorec.serving.llm.server_llama.ServerLlama` uses this sampler whenever a grammar is given
with temperature 0 and no logits processor; everything else goes through the stock chain.
"""

from __future__ import annotations

import ctypes
import weakref
from typing import Any

import llama_cpp
import numpy as np

TOKEN_DATA = np.dtype(  # llama_token_data as numpy sees it
    [("id", np.int32), ("logit", np.float32), ("p", np.float32)])
_NAME = b"evorec-lazy-grammar-greedy"
SHORTLIST = 2048


class LazyGrammarGreedy:
    """A llama.cpp sampler (apply + accept) holding its own grammar sampler; pick the best allowed token."""

    def __init__(self, vocab: Any, grammar: llama_cpp.LlamaGrammar, counters: dict[str, int] | None = None) -> None:
        self.grammar = llama_cpp.llama_sampler_init_grammar(
            vocab, grammar._grammar.encode("utf-8"), grammar._root.encode("utf-8"))
        if not self.grammar:
            raise ValueError("llama.cpp could not parse the grammar")
        # tokens: decided here; shortlist: the favourite was rejected and the next best SHORTLIST tokens were
        # asked; full: none of those was allowed either and the whole vocabulary was filtered
        self.counters = counters if counters is not None else {}
        for key in ("grammar_tokens", "grammar_shortlist_checks", "grammar_full_checks"):
            self.counters.setdefault(key, 0)
        self._few = (llama_cpp.llama_token_data * SHORTLIST)()
        self._few_view = np.frombuffer(self._few, dtype=TOKEN_DATA, count=SHORTLIST)  # type: ignore[call-overload]  # a ctypes array is a buffer
        self._few_arr = llama_cpp.llama_token_data_array(data=self._few, size=1, selected=-1, sorted=False)
        weakref.finalize(self, llama_cpp.llama_sampler_free, self.grammar)

        # ctypes callbacks must stay referenced for as long as llama.cpp may call them
        self._cb_name = llama_cpp.llama_sampler_i_name(lambda _s: _NAME)
        self._cb_accept = llama_cpp.llama_sampler_i_accept(lambda _s, token: self.accept(token))
        self._cb_apply = llama_cpp.llama_sampler_i_apply(lambda _s, cur_p: self._apply(cur_p))
        self._cb_reset = llama_cpp.llama_sampler_i_reset(lambda _s: llama_cpp.llama_sampler_reset(self.grammar))
        self._iface = llama_cpp.llama_sampler_i()
        self._iface.name = self._cb_name
        self._iface.accept = self._cb_accept
        self._iface.apply = self._cb_apply
        self._iface.reset = self._cb_reset
        self._iface.clone = llama_cpp.llama_sampler_i_clone(0)
        self._iface.free = llama_cpp.llama_sampler_i_free(0)  # Python owns this object and its grammar
        self.sampler = llama_cpp.llama_sampler()
        self.sampler.iface = ctypes.pointer(self._iface)
        self.sampler.ctx = None

    def accept(self, token: int) -> None:
        llama_cpp.llama_sampler_accept(self.grammar, token)

    def _apply(self, cur_p: Any) -> None:
        arr = cur_p.contents
        n = int(arr.size)
        raw = (llama_cpp.llama_token_data * n).from_address(ctypes.addressof(arr.data.contents))
        view = np.frombuffer(raw, dtype=TOKEN_DATA, count=n)  # type: ignore[call-overload]  # a ctypes array is a buffer
        self.counters["grammar_tokens"] += 1
        logits = view["logit"]
        best = int(np.argmax(logits))
        if self.allowed(view[best : best + 1])[0]:
            arr.selected = best
            return
        self.counters["grammar_shortlist_checks"] += 1
        if n > SHORTLIST:
            top = np.argpartition(logits, n - SHORTLIST)[n - SHORTLIST :]
            top = top[np.argsort(-logits[top], kind="stable")]
            ok = self.allowed(view[top])
            if ok.any():
                arr.selected = int(top[int(np.argmax(ok))])
                return
        self.counters["grammar_full_checks"] += 1
        llama_cpp.llama_sampler_apply(self.grammar, cur_p)
        arr.selected = int(np.argmax(view["logit"]))  # the grammar set rejected tokens' logits to -inf

    def allowed(self, cands: np.ndarray) -> np.ndarray:
        """Which of these (at most SHORTLIST) candidates the grammar allows next; the state is not advanced."""
        k = len(cands)
        self._few_view[:k] = cands
        self._few_arr.size, self._few_arr.selected, self._few_arr.sorted = k, -1, False
        llama_cpp.llama_sampler_apply(self.grammar, ctypes.byref(self._few_arr))
        return ~np.isinf(self._few_view["logit"][:k])

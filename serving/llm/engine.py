"""One llama.cpp model generating chat completions, one request at a time.

llama.cpp contexts are not thread-safe, so generation holds :attr:`Engine.lock`. A streaming request
generates on its own thread into a queue and the HTTP response drains that queue at the client's pace: the
lock is released when generation ends, however slowly the client reads (a client that stops reading cannot
stall every other request), and a client that goes away stops its generation at the next token.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any, Literal, Protocol, cast

from pydantic import BaseModel, Field

from evorec.serving.llm.chat_format import (
    STOP_STRINGS,
    TOOL_CALL_OPEN,
    call_attempt_prefix,
    looks_like_call,
    parse_output,
)
from evorec.serving.llm.grammars import schema_gbnf
from evorec.serving.llm.request_plan import Plan, RequestError, build_message, plan_request
from evorec.serving.llm.stream_splitter import StreamSplitter
from evorec.serving.wire.openai_types import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    Choice,
    ChunkChoice,
    DeltaMessage,
    FinishReason,
    PromptTokensDetails,
    ToolCall,
    Usage,
)

log = logging.getLogger("evorec.llm")


class ServerConfig(BaseModel):
    model_path: Path
    model_id: str
    n_ctx: int = Field(default=8192, ge=512)
    n_threads: int = Field(default=2, ge=1)
    n_batch: int = Field(default=512, ge=32)
    default_temperature: float = Field(default=0.2, ge=0.0, le=2.0, description="Used when a request sets none.")
    default_max_tokens: int = Field(default=768, ge=1)
    seed: int = 0
    json_repeat_penalty: float = Field(default=1.1, ge=1.0, le=2.0, description="For response_format JSON.")
    cache_bytes: int = Field(default=256 << 20, ge=0, description="RAM cache of KV states (0 = off).")
    grammar: Literal["lazy", "stock"] = Field(default="lazy", description="Greedy grammar decoding (server_llama.py).")


class Timings(BaseModel):
    """llama-server's ``timings`` shape: prompt (prefill) vs predicted (generation) time."""

    prompt_n: int
    prompt_ms: float
    predicted_n: int
    predicted_ms: float
    predicted_per_second: float | None


class LocalCompletion(ChatCompletion):
    timings: Timings | None = None


class LocalCompletionChunk(ChatCompletionChunk):
    timings: Timings | None = None


class CompletionModel(Protocol):
    """What the engine needs of ``llama_cpp.Llama`` (:class:`~evorec.serving.llm.server_llama.ServerLlama`)."""

    grammar_counters: dict[str, int]

    def tokenize(self, text: bytes, add_bos: bool = True, special: bool = False) -> list[int]: ...

    def create_completion(self, **kwargs: Any) -> Any: ...


def load_llama(config: ServerConfig) -> CompletionModel:
    import llama_cpp

    from evorec.serving.llm.server_llama import ServerLlama

    llm = ServerLlama(lazy_grammar=config.grammar == "lazy", model_path=str(config.model_path), n_ctx=config.n_ctx,
                      n_threads=config.n_threads, n_threads_batch=config.n_threads, n_batch=config.n_batch,
                      seed=config.seed, verbose=False)
    if config.cache_bytes:
        llm.set_cache(llama_cpp.LlamaRAMCache(capacity_bytes=config.cache_bytes))
    return cast(CompletionModel, llm)  # its create_completion takes named sampling options; we pass **kwargs


def common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


_END = object()


class Engine:
    """One model (``llm``: loaded from ``config`` unless given), serialised by a lock."""

    def __init__(self, config: ServerConfig, llm: CompletionModel | None = None) -> None:
        self.config = config
        self.llm = llm if llm is not None else load_llama(config)
        self.lock = threading.Lock()
        self.created = int(time.time())
        self.stats = {"requests": 0, "prompt_tokens": 0, "cached_tokens": 0, "completion_tokens": 0,
                      "repaired_calls": 0}

    def token_limit(self) -> int:
        """The most tokens one request may ask for: the context window (more can never be generated)."""
        return self.config.n_ctx

    def _grammar(self, plan: Plan) -> Any:
        if plan.mode == "free":
            return None
        import llama_cpp

        g = llama_cpp.LlamaGrammar
        if plan.grammar_schema is None:
            return g.from_string(llama_cpp.llama_grammar.JSON_GBNF, verbose=False)
        try:
            gbnf = schema_gbnf(plan.grammar_schema, plan.max_calls if plan.mode == "forced_call" else None)
            return g.from_string(gbnf, verbose=False)
        except Exception as e:  # the converter raises plain exceptions for unsupported schema features
            raise RequestError(f"cannot build a grammar from this JSON schema: {e}", "response_format") from None

    def _repair(self, req: ChatCompletionRequest, plan: Plan) -> tuple[str, int]:
        """The model tried to call a tool but botched the format: re-generate the call under the call grammar.

        The prompt is the same plus ``<tool_call>\\n``, so its KV cache is reused; only the call is generated.
        Caller holds the lock.
        """
        forced = Plan(prompt=plan.prompt + TOOL_CALL_OPEN + "\n", mode="forced_call", grammar_schema=plan.repair_schema,
                      tool_names=plan.tool_names, max_calls=plan.max_calls)
        tokens, _ = self._tokens(forced)
        out = self.llm.create_completion(**self._kwargs(req, forced, tokens))
        self.stats["repaired_calls"] += 1
        return f"{TOOL_CALL_OPEN}\n{out['choices'][0]['text']}", out["usage"]["completion_tokens"]

    def _kwargs(self, req: ChatCompletionRequest, plan: Plan, tokens: list[int]) -> dict[str, Any]:
        stops = list(STOP_STRINGS)
        if req.stop:
            stops += [req.stop] if isinstance(req.stop, str) else list(req.stop)
        room = self.config.n_ctx - len(tokens)
        if room < 16:
            raise RequestError(f"prompt has {len(tokens)} tokens; the context window is {self.config.n_ctx}")
        max_tokens = min(req.requested_tokens or self.config.default_max_tokens, room)
        temperature = self.config.default_temperature if req.temperature is None else req.temperature
        return {
            "prompt": tokens,
            "max_tokens": max_tokens,
            "temperature": temperature,
            "top_p": req.top_p if req.top_p is not None else 0.95,
            "stop": stops,
            "seed": req.seed,
            "grammar": self._grammar(plan),
            # Grammar-constrained JSON from a small model tends to loop ("a", "a", "a", ...); a mild
            # penalty breaks loops and cannot break the JSON (the grammar still decides what is allowed).
            "repeat_penalty": self.config.json_repeat_penalty if plan.mode == "json" else 1.0,
            "frequency_penalty": req.frequency_penalty or 0.0,
            "presence_penalty": req.presence_penalty or 0.0,
        }

    def _tokens(self, plan: Plan) -> tuple[list[int], int]:
        tokens = self.llm.tokenize(plan.prompt.encode("utf-8"), add_bos=False, special=True)
        evaluated = getattr(self.llm, "_input_ids", None)  # llama_cpp.Llama: the tokens in the KV cache now
        cached = common_prefix(evaluated.tolist(), tokens) if evaluated is not None else 0
        return tokens, min(cached, max(len(tokens) - 1, 0))

    def _generate(self, plan: Plan, kwargs: dict[str, Any]) -> tuple[str, int, bool, float]:
        """Run one generation (streamed internally, to time the prompt); with tools offered, stop early once
        the text starts a bare/fenced JSON call. Returns text, tokens, cut by length, seconds to the first token."""
        text, n, cut, t0, first = "", 0, False, time.perf_counter(), None
        for part in self.llm.create_completion(stream=True, **kwargs):
            if first is None:
                first = time.perf_counter() - t0
            c = part["choices"][0]
            text += c.get("text") or ""
            n += 1
            cut = c.get("finish_reason") == "length"
            if plan.mode == "free" and plan.repair_schema and n <= 24 and call_attempt_prefix(text):
                break
        if text:  # stream parts can merge tokens (stop-string hold-back): count what was generated
            n = max(n, len(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)))
        return text, n, cut, first if first is not None else time.perf_counter() - t0

    @staticmethod
    def _needs_repair(plan: Plan, text: str) -> bool:
        if plan.mode != "free" or not plan.repair_schema:
            return False
        if call_attempt_prefix(text):
            return True
        return not parse_output(text, plan.tool_names).tool_calls and looks_like_call(text)

    def _usage(self, prompt: int, cached: int, completion: int) -> Usage:
        self.stats["requests"] += 1
        self.stats["prompt_tokens"] += prompt
        self.stats["cached_tokens"] += cached
        self.stats["completion_tokens"] += completion
        return Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion,
                     prompt_tokens_details=PromptTokensDetails(cached_tokens=cached))

    @staticmethod
    def _timings(prompt: int, cached: int, completion: int, prompt_s: float, total_s: float) -> Timings:
        gen_ms = max(total_s - prompt_s, 0.0) * 1000
        return Timings(prompt_n=prompt - cached, prompt_ms=round(prompt_s * 1000, 1), predicted_n=completion,
                       predicted_ms=round(gen_ms, 1),
                       predicted_per_second=round(completion / (gen_ms / 1000), 2) if gen_ms > 0 else None)

    def complete(self, req: ChatCompletionRequest) -> LocalCompletion:
        plan = plan_request(req)
        with self.lock:
            t0 = time.perf_counter()
            tokens, cached = self._tokens(plan)
            kwargs = self._kwargs(req, plan, tokens)
            text, n_out, length_cut, prompt_s = self._generate(plan, kwargs)
            if self._needs_repair(plan, text):
                text, extra = self._repair(req, plan)
                n_out += extra
            total_s = time.perf_counter() - t0
        message, finish = build_message(plan, text)
        if length_cut and finish == "stop":
            finish = "length"
        return LocalCompletion(id=f"chatcmpl-{uuid.uuid4().hex[:24]}", created=int(time.time()),
                               model=self.config.model_id, choices=[Choice(message=message, finish_reason=finish)],
                               usage=self._usage(len(tokens), cached, n_out),
                               timings=self._timings(len(tokens), cached, n_out, prompt_s, total_s))

    def stream(self, req: ChatCompletionRequest) -> Generator[LocalCompletionChunk, None, None]:
        """OpenAI ``chat.completion.chunk``s; tool calls arrive whole in one delta at the end.

        Generation runs on its own thread (under the lock) into a queue; this iterator drains it. Closing the
        iterator early (the client went away) stops generation at the next token.
        """
        plan = plan_request(req)
        out: queue.SimpleQueue[Any] = queue.SimpleQueue()
        cancel = threading.Event()

        def produce() -> None:
            try:
                for c in self._generate_chunks(req, plan, cancel):
                    out.put(c)
            except Exception as e:  # handed to the consumer, which raises it in the response's thread
                out.put(e)
            finally:
                out.put(_END)

        threading.Thread(target=produce, name="llm-stream", daemon=True).start()
        try:
            while (item := out.get()) is not _END:
                if isinstance(item, Exception):
                    raise item
                yield item
        finally:
            cancel.set()

    def _generate_chunks(self, req: ChatCompletionRequest, plan: Plan,
                         cancel: threading.Event) -> Iterator[LocalCompletionChunk]:
        cid, created = f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time())

        def chunk(delta: DeltaMessage, finish: FinishReason | None = None) -> LocalCompletionChunk:
            return LocalCompletionChunk(id=cid, created=created, model=self.config.model_id,
                                        choices=[ChunkChoice(delta=delta, finish_reason=finish)])

        with self.lock:
            t0 = time.perf_counter()
            tokens, cached = self._tokens(plan)
            kwargs = self._kwargs(req, plan, tokens)
            yield chunk(DeltaMessage(role="assistant", content=""))
            splitter = StreamSplitter(hold_json=bool(plan.repair_schema))
            n_out, length_cut, prompt_s = 0, False, None
            for part in self.llm.create_completion(stream=True, **kwargs):
                if prompt_s is None:
                    prompt_s = time.perf_counter() - t0
                if cancel.is_set():
                    log.info("stream cancelled by its client after %d tokens", n_out)
                    return
                c = part["choices"][0]
                n_out += 1
                piece = c.get("text") or ""
                if plan.mode == "forced_call":
                    splitter.text += piece
                else:
                    text_out = splitter.feed(piece)
                    if text_out:
                        yield chunk(DeltaMessage(content=text_out))
                if c.get("finish_reason") == "length":
                    length_cut = True
                if splitter.held_json and n_out <= 24 and call_attempt_prefix(splitter.text):
                    break  # a botched call is coming: stop and re-generate it under the call grammar
            text = splitter.text
            if self._needs_repair(plan, text):
                text, extra = self._repair(req, plan)
                n_out += extra
            total_s = time.perf_counter() - t0
        message, finish = build_message(plan, text)
        if plan.mode != "forced_call":
            # Held-back JSON-looking output: send what parsing kept as content (nothing if it became a call).
            rest = (message.content or "") if splitter.held_json else splitter.flush()
            if rest:
                yield chunk(DeltaMessage(content=rest))
        if message.tool_calls:
            calls = [ToolCall(index=i, id=c.id, function=c.function) for i, c in enumerate(message.tool_calls)]
            yield chunk(DeltaMessage(tool_calls=calls))
        if length_cut and finish == "stop":
            finish = "length"
        yield chunk(DeltaMessage(), finish)
        usage = self._usage(len(tokens), cached, n_out)
        if (req.stream_options or {}).get("include_usage"):
            yield LocalCompletionChunk(id=cid, created=created, model=self.config.model_id, choices=[], usage=usage,
                                       timings=self._timings(len(tokens), cached, n_out,
                                                             prompt_s if prompt_s is not None else total_s, total_s))

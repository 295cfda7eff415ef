"""Request/response types of the HTTP API (pydantic at the boundary, as in vLLM's entrypoints/openai).

Responses that are already shared types (``Recommendations``, trends, forecasts) are
returned as those types; this module holds only what is particular to HTTP.
"""

from __future__ import annotations

import re
import time
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from evorec.errors import InvalidRequestError
from evorec.serving.wire.openai_types import (
    MAX_CONTENT_PARTS,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    ChatMessage,
    ContentPart,
)
from evorec.tools import Constraints

# Ids are free text in datasets (ML-100K uses digits, CSV files anything printable); bound them, and refuse
# characters that make one id look like another or break where it is shown: C0/C1 controls and DEL, and the
# bidirectional formatting characters (embeddings, overrides, isolates, marks) that reorder text on screen.
FORBIDDEN_IN_IDS = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
MAX_ID_CHARS = 128


def check_id_text(value: str, what: str = "id") -> str:
    """The id, or ValueError naming the first control/bidi character (a clear 422, not a regex dump)."""
    bad = FORBIDDEN_IN_IDS.search(value)
    if bad:
        raise ValueError(f"{what} must not contain control or bidirectional-formatting characters "
                         f"(found U+{ord(bad.group()):04X} at position {bad.start()})")
    return value


def _user_id(value: str) -> str:
    check_id_text(value, "user id")
    if "/" in value or "\\" in value:
        raise ValueError("user id must not contain '/' or '\\'")
    return value


def _item_id(value: str) -> str:
    return check_id_text(value, "item id")


def _event_id(value: str) -> str:
    return check_id_text(value, "event id")


UserId = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID_CHARS), AfterValidator(_user_id)]
ItemId = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID_CHARS), AfterValidator(_item_id)]
EventId = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID_CHARS), AfterValidator(_event_id)]
SessionId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
Message = Annotated[str, StringConstraints(min_length=1, max_length=4000)]
Category = Annotated[str, StringConstraints(min_length=1, max_length=128)]

# Caps on every list and free string a request carries (the body cap bounds the total; these bound the parts;
# the OpenAI facade's are in its wire types below).
MAX_EVENTS = 5000
MAX_CATEGORIES = 100
MAX_EXCLUDED_ITEMS = 1000

MAX_TS = 32503680000  # year 3000: anything later is a unit error (ms instead of s)


def new_session_id() -> str:
    return "s-" + uuid.uuid4().hex[:16]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------- recommend / chat


class RequestConstraints(Constraints):
    """``Constraints`` as a request may state them: the same fields, each list and string bounded."""

    include_categories: list[Category] = Field(default_factory=list, max_length=MAX_CATEGORIES,
                                               description="If set, every item has at least one.")
    exclude_categories: list[Category] = Field(default_factory=list, max_length=MAX_CATEGORIES,
                                               description="No item has any of these.")
    exclude_items: list[ItemId] = Field(default_factory=list, max_length=MAX_EXCLUDED_ITEMS,
                                        description="Explicit item blocklist (ids).")


class RecommendRequest(Strict):
    user_id: UserId
    k: int | None = Field(None, ge=1, le=100, description="Shortcut for constraints.k (wins when both are given).")
    constraints: RequestConstraints = Field(default_factory=RequestConstraints)
    explain: bool = Field(True, description="Write rationales (LLM or template); false returns scores and evidence.")
    llm: bool = Field(True, description="Let the LLM orchestrate; false (or no LLM reachable) runs the plan-first "
                                        "executor and marks the answer degraded.")

    def effective_constraints(self) -> Constraints:
        c = Constraints.model_validate(self.constraints.model_dump())
        return c if self.k is None else c.model_copy(update={"k": self.k})


class ChatRequest(Strict):
    user_id: UserId
    message: Message
    session_id: SessionId | None = Field(None, description="Omit to start a new session; the first SSE event names it.")


class SessionDeleted(BaseModel):
    session_id: str
    deleted: bool


# ---------------------------------------------------------------- events


class EventIn(Strict):
    user_id: UserId
    item_id: ItemId
    ts: Annotated[int, Field(ge=0, le=MAX_TS)] | Annotated[AwareDatetime, Field(strict=True)] | None = Field(
        None, description="Unix seconds or an ISO-8601 datetime with offset; default: now.")
    rating: float | None = Field(None, ge=-1e6, le=1e6)
    event_id: EventId | None = Field(None, description="Idempotency key. Omitted: 'user|item|ts' (as for ingested "
                                     "data), so a re-sent batch never duplicates, provided ts is given.")

    def resolved(self, now: int | None = None) -> EventIn:
        """A copy with ``ts`` as unix seconds."""
        if isinstance(self.ts, datetime):
            ts = int(self.ts.timestamp())
            if not 0 <= ts <= MAX_TS:
                raise InvalidRequestError(f"ts {self.ts.isoformat()} is out of range")
        else:
            ts = self.ts if self.ts is not None else int(now if now is not None else time.time())
        return self.model_copy(update={"ts": ts})


class EventBatch(Strict):
    events: list[EventIn] = Field(min_length=1, max_length=MAX_EVENTS)


class EventsAccepted(BaseModel):
    received: int
    added: int = Field(description="Events new to the store.")
    duplicates: int = Field(description="Events already stored under the same id, identical (re-sent; not "
                                        "duplicated).")
    changed: int = Field(0, description="Events already stored under the same id but with another item, time or "
                                        "rating: updated in place.")
    users: list[str]
    event_ids: list[str]
    took_ms: float


# ---------------------------------------------------------------- users


class UserDeleted(BaseModel):
    user_id: str
    events_deleted: int
    sessions_deleted: int
    tombstone: bool = Field(False, description="The user is recorded as forgotten: no re-ingest, retrain or "
                                               "restart brings their events back.")
    removed: dict[str, int] = Field(default_factory=dict, description="Entries removed, per place.")
    models: str = Field("", description="When model weights stop reflecting the user.")
    details: dict[str, Any] = Field(default_factory=dict)


# ---------------------------------------------------------------- admin


JobState = Literal["queued", "running", "succeeded", "failed"]


class RetrainRequest(Strict):
    dataset: Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")] | None = None
    epochs: int | None = Field(None, ge=1, le=1000, description="Maximum epochs (default: the trainer's).")
    seed: int = Field(0, ge=0, le=2**31 - 1)


class RetrainJob(BaseModel):
    job_id: str
    state: JobState
    dataset: str
    command: list[str]
    created_at: float
    started_at: float | None = None
    finished_at: float | None = None
    returncode: int | None = None
    log_tail: list[str] = Field(default_factory=list)
    reloaded: bool = Field(False, description="The serving toolbox reloaded the new artifacts.")


# ---------------------------------------------------------------- health


class ComponentHealth(BaseModel):
    ok: bool
    detail: str = ""
    info: dict[str, Any] = Field(default_factory=dict)


class Health(BaseModel):
    status: Literal["ok", "degraded", "unavailable"]
    version: str
    dataset: str
    auth: Literal["api_keys", "open"]
    components: dict[str, ComponentHealth]


# ---------------------------------------------------------------- OpenAI-compatible facade
# The wire types are shared with the local LLM server (evorec.serving.wire.openai_types); these are the facade's
# own tightening (one evorec user, one choice, shorter messages) and its ``evorec`` extension field.


class FacadeMessage(ChatMessage):
    content: (Annotated[str, StringConstraints(max_length=20000)]
              | Annotated[list[ContentPart], Field(max_length=MAX_CONTENT_PARTS)] | None) = None


class FacadeChatRequest(ChatCompletionRequest):
    """The subset of the OpenAI request the facade honours; sampling fields are accepted and ignored."""

    model: Annotated[str, StringConstraints(max_length=128)] = "evorec"
    messages: list[FacadeMessage] = Field(min_length=1, max_length=200)  # type: ignore[assignment]
    user: UserId | None = Field(None, description="evorec user id (or header X-Evorec-User).")
    n: int = Field(1, ge=1, le=1)

    @model_validator(mode="after")
    def _has_user_message(self) -> FacadeChatRequest:
        if not any(m.role == "user" and m.text().strip() for m in self.messages):
            raise ValueError("messages must contain a non-empty user message")
        return self

    def last_user_text(self) -> str:
        for m in reversed(self.messages):
            if m.role == "user" and m.text().strip():
                return m.text().strip()[:4000]
        raise ValueError("no user message")  # excluded by the validator


class FacadeCompletion(ChatCompletion):
    evorec: dict[str, Any] | None = Field(None, description="The structured answer (Recommendations) behind the text.")


class FacadeCompletionChunk(ChatCompletionChunk):
    evorec: dict[str, Any] | None = Field(None, description="Last chunk: the session id and the structured answer.")

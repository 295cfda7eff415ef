"""How exactly the deterministic preference reader (``agent/preferences.py``) extracts constraints.

The labelled set (``evals/preference_set/requests.jsonl``) holds requests in English and Chinese:
paraphrases, negations, lists, "more/less of", years and decades, seen/unseen, counts, questions
about the past that are not requests, and multi-turn conversations with retractions and resets.
Each item's turns are read in order and folded into the session's constraints exactly as a chat
session does (``PreferenceUpdate.apply_to`` from the defaults); the item passes only if every field
matches its label: included and excluded categories (as sets), year bounds, whether seen items were
excluded or allowed (the last stated), and the number of picks (``k``, None when never stated).
The set is written against the MovieLens-100K genre names.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from evorec.agent.preferences import parse_preferences
from evorec.tools.constraints import Constraints

SET_PATH = Path(__file__).resolve().parent / "preference_set" / "requests.jsonl"
ML100K_GENRES = ["unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary", "Drama",
                 "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War",
                 "Western"]
FIELDS = ("include", "exclude", "year_min", "year_max", "seen", "k")


class Expected(BaseModel):
    include: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)
    year_min: int | None = None
    year_max: int | None = None
    seen: Literal["unseen", "allowed"] | None = None
    k: int | None = None


class LabelledRequest(BaseModel):
    id: str
    lang: str
    turns: list[str] = Field(min_length=1)
    tags: list[str] = Field(default_factory=list)
    expect: Expected


class ItemResult(BaseModel):
    id: str
    lang: str
    tags: list[str]
    ok: bool
    wrong: dict[str, tuple[object, object]] = Field(default_factory=dict, description="field -> (expected, got)")


class PreferenceEvalReport(BaseModel):
    n: int
    exact: float
    by_lang: dict[str, float]
    by_tag: dict[str, float]
    wrong_fields: dict[str, int]
    us_per_message: float
    failures: list[ItemResult]


def load_set(path: Path = SET_PATH) -> list[LabelledRequest]:
    return [LabelledRequest.model_validate_json(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def extract(turns: list[str], categories: list[str]) -> Expected:
    """Fold the turns as a session does; report what a person would say was understood."""
    c = Constraints()
    seen: Literal["unseen", "allowed"] | None = None
    k: int | None = None
    for t in turns:
        upd = parse_preferences(t, categories)
        c = upd.apply_to(c)
        if upd.reset:
            seen = None
        if upd.exclude_seen is not None:
            seen = "unseen" if upd.exclude_seen else "allowed"
        if upd.k is not None:
            k = upd.k
    return Expected(include=c.include_categories, exclude=c.exclude_categories, year_min=c.year_min,
                    year_max=c.year_max, seen=seen, k=k)


def score(item: LabelledRequest, got: Expected) -> ItemResult:
    wrong: dict[str, tuple[object, object]] = {}
    for f in FIELDS:
        a, b = getattr(item.expect, f), getattr(got, f)
        if (set(a) != set(b)) if isinstance(a, list) else a != b:
            wrong[f] = (a, b)
    return ItemResult(id=item.id, lang=item.lang, tags=item.tags, ok=not wrong, wrong=wrong)


def run(path: Path = SET_PATH, categories: list[str] | None = None) -> PreferenceEvalReport:
    cats = categories or ML100K_GENRES
    items = load_set(path)
    t0 = time.perf_counter()
    results = [score(it, extract(it.turns, cats)) for it in items]
    elapsed = time.perf_counter() - t0
    n_msgs = sum(len(it.turns) for it in items)

    def rate(rs: list[ItemResult]) -> float:
        return round(sum(r.ok for r in rs) / len(rs), 4) if rs else 0.0

    langs = sorted({r.lang for r in results})
    tags = sorted({t for r in results for t in r.tags})
    wrong = Counter(f for r in results for f in r.wrong)
    return PreferenceEvalReport(n=len(results), exact=rate(results),
                                by_lang={lang: rate([r for r in results if r.lang == lang]) for lang in langs},
                                by_tag={t: rate([r for r in results if t in r.tags]) for t in tags},
                                wrong_fields=dict(wrong), us_per_message=round(elapsed / max(n_msgs, 1) * 1e6, 1),
                                failures=[r for r in results if not r.ok])


def render(rep: PreferenceEvalReport) -> str:
    lines = [f"exact constraint extraction: {rep.exact:.4f} of {rep.n} labelled requests",
             "by language: " + ", ".join(f"{k} {v:.3f}" for k, v in rep.by_lang.items()),
             "by tag: " + ", ".join(f"{k} {v:.3f}" for k, v in rep.by_tag.items()),
             f"parse time: {rep.us_per_message} µs per message"]
    if rep.wrong_fields:
        lines.append("wrong fields: " + ", ".join(f"{k} {v}" for k, v in rep.wrong_fields.items()))
    lines += [f"  {f.id}: " + "; ".join(f"{k} expected {a} got {b}" for k, (a, b) in f.wrong.items())
              for f in rep.failures]
    return "\n".join(lines)


def to_json(rep: PreferenceEvalReport) -> str:
    return json.dumps(rep.model_dump(mode="json"), ensure_ascii=False, indent=1)

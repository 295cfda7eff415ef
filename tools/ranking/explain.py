"""Evidence records for each ranked item, and the template rationale composed from them alone.

Ids are stable: ``ev:forecast:<item>``, ``ev:forecast:mix``, ``ev:trend:<Category>``,
``ev:similar:<item>``, ``ev:cooc:<item>``, ``ev:same_day:<item>``, ``ev:trending:<item>``, ``ev:popular:<item>``,
``ev:cold_start``. Every number a template rationale quotes is formatted from the numbers of
a record it cites, so the grounding validator can check it and the template is the no-LLM
fallback.

Texts are written for the person (second person, the liked item and when, no internal ids, scores or
ranks: those stay in ``numbers``), in the catalog's words (``ExplainContext.wording``); the template
rationale comes in English and Chinese.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import cast

import numpy as np
from scipy import sparse

from evorec.tools.evidence import Evidence, evidence_id
from evorec.tools.ranking.index import COOC_WINDOW, TREND_WINDOW_DAYS, RankingIndex, last_day_items
from evorec.tools.ranking.signals import RISING_LABELS, UserSignals
from evorec.tools.wording import GENERIC, CatalogWording, category_name

LANGS = ("en", "zh")

MIX_ID = "ev:forecast:mix"
COLD_ID = "ev:cold_start"
SIMILAR_MIN = 0.3  # cosine below this is not called a resemblance
MAX_PHRASES = 2  # a rationale a person reads in one breath
MIX_MIN_SHARE = 0.10  # a category's forecast share worth mentioning...
MIX_MIN_RISE = 0.05  # ...or its forecast rise
STRONG_RANK = 20  # a forecaster rank up to this comes right after the concrete reasons; worse ones last


@dataclass
class ExplainContext:
    """What the other tools already returned for this user (their evidence is reused, not re-derived)."""

    user_id: str
    forecast_evidence: dict[str, Evidence] = field(default_factory=dict)  # InterestForecast.evidence by id
    trend_evidence: dict[str, Evidence] = field(default_factory=dict)  # by category (UserTrends.evidence)
    trend_labels: dict[str, str] = field(default_factory=dict)
    trending_evidence: dict[str, Evidence] = field(default_factory=dict)  # by item id (catalog trends)
    horizon: int = 10
    wording: CatalogWording = field(default_factory=lambda: GENERIC)  # the catalog's words (films, watched)


def iso(ts: int) -> str:
    return datetime.fromtimestamp(int(ts), UTC).date().isoformat()


def num(x: float) -> str:
    """A number as it appears in text: integers without decimals, else 2 decimals."""
    return str(round(x)) if abs(x - round(x)) < 1e-9 else f"{x:.2f}"


def pct(x: float) -> str:
    return f"{100 * x:.0f}%"


Phrases = dict[str, str]  # language -> clause, second person ("it is similar to X, which you rated 5 on ...")
Phrase = tuple[Evidence, Phrases]
POPULAR_TOP = 50  # "one of the most popular" only for the catalog's top items


def _zh_title(t: str) -> str:
    return f"《{t}》"


def _forecast_item(index: RankingIndex, sig: UserSignals, i: int, ctx: ExplainContext) -> Phrase | None:
    rank = int(sig.fc_rank[i])
    if not sig.has_forecaster or rank <= 0:
        return None
    w = ctx.wording
    iid, title = index.vocab.item_ids[i], index.titles[i]
    score = round(float(sig.fc_raw[i]), 4)
    ev = Evidence(id=evidence_id("forecast", iid), kind="forecast", item_id=iid,
                  text=f"Judging by the order of your recent {w.plural}, {title} is one of your likeliest next picks.",
                  numbers={"rank": float(rank), "score": score})
    return ev, {"en": f"the order of your recent {w.plural} points to it as one of your likeliest next picks",
                "zh": f"从你最近{w.verb_zh}过的{w.noun_zh}顺序来看，它很可能是你接下来想{w.verb_zh}的"}


def _mix(index: RankingIndex, i: int, ctx: ExplainContext) -> Phrase | None:
    ev = ctx.forecast_evidence.get(MIX_ID)
    if ev is None:
        return None
    best = None
    for c in index.item_categories[i]:
        f, cur = ev.numbers.get(f"forecast:{c}"), ev.numbers.get(f"current:{c}")
        if f is not None and cur is not None and f > 0 and (best is None or f > best[1]):
            best = (c, f, cur)
    if best is None or (best[1] < MIX_MIN_SHARE and best[1] - best[2] < MIX_MIN_RISE):
        return None
    c, f, cur = best
    w = ctx.wording
    h = ev.numbers.get("horizon")
    if h:
        en = (f"{c} looks set to be about {pct(f)} of your next {num(h)} {w.plural}, against {pct(cur)} of your "
              f"last {num(h)}")
        zh = (f"预计你接下来的{num(h)}{w.measure_zh}{w.noun_zh}里约{pct(f)}是{category_name(c, 'zh')}"
              f"（最近{num(h)}{w.measure_zh}里占{pct(cur)}）")
    else:
        en = f"{c} looks set to be about {pct(f)} of your next {w.plural}, against {pct(cur)} now"
        zh = f"预计你接下来的{w.noun_zh}里约{pct(f)}是{category_name(c, 'zh')}（目前占{pct(cur)}）"
    return ev, {"en": en, "zh": zh}


def _trend(index: RankingIndex, i: int, ctx: ExplainContext) -> Phrase | None:
    for c in index.item_categories[i]:
        label = ctx.trend_labels.get(c)
        ev = ctx.trend_evidence.get(c)
        if label in RISING_LABELS and ev is not None:
            since = ev.dates.get("change") or ev.dates.get("reference_end")
            zc = category_name(c, "zh")
            if label == "emerging":
                return ev, {"en": f"{c} is new in what you {ctx.wording.verb} lately and keeps growing",
                            "zh": f"{zc}是你最近新出现并且越来越多的兴趣"}
            if since:
                return ev, {"en": f"your interest in {c} has been growing since {since}",
                            "zh": f"你对{zc}的兴趣从{since}以来一直在上升"}
            return ev, {"en": f"your interest in {c} has been growing lately", "zh": f"你对{zc}的兴趣最近在上升"}
    return None


def _similar(index: RankingIndex, sig: UserSignals, i: int, ctx: ExplainContext) -> Phrase | None:
    pos = int(sig.sem_anchor[i])
    sim = round(float(sig.semantic[i]), 2)
    if pos < 0 or sim < SIMILAR_MIN:
        return None
    w = ctx.wording
    a = int(sig.history.items[pos])
    iid, title, a_title = index.vocab.item_ids[i], index.titles[i], index.titles[a]
    date = iso(int(sig.history.times[pos]))
    r = float(sig.ratings[pos]) if pos < len(sig.ratings) else float("nan")
    numbers = {"similarity": sim}
    if np.isfinite(r):
        numbers["rating"] = r
        did = f"which you rated {num(r)} on {date}"
        zh = f"它和你在{date}打了{num(r)}分的{_zh_title(a_title)}很相似"
    else:
        did = f"which you {w.verb} on {date}"
        zh = f"它和你在{date}{w.verb_zh}过的{_zh_title(a_title)}很相似"
    ev = Evidence(id=evidence_id("similar", iid), kind="similar", item_id=iid,
                  text=f"{title} is similar to {a_title}, {did}.", numbers=numbers, dates={"history_event": date})
    return ev, {"en": f"it is similar to {a_title}, {did}", "zh": zh, "anchor": a_title}


def _cooc(index: RankingIndex, sig: UserSignals, i: int, ctx: ExplainContext) -> Phrase | None:
    if sig.cooc_raw[i] <= 0 or len(sig.anchors) == 0:
        return None
    a_items = sig.history.items[sig.anchors]
    dense = sig.extras.get("cooc_anchor_rows")
    if dense is None:  # one sparse row slice per request, not one per explained item
        dense = sig.extras["cooc_anchor_rows"] = index.cooc[a_items].toarray()
    counts = np.asarray(dense)[:, i]
    j = int(np.argmax(counts))
    count = float(counts[j])
    if count <= 0:
        return None
    w = ctx.wording
    pos = int(sig.anchors[j])
    a = int(a_items[j])
    iid, title, a_title = index.vocab.item_ids[i], index.titles[i], index.titles[a]
    date = iso(int(sig.history.times[pos]))
    ev = Evidence(id=evidence_id("cooc", iid), kind="cooc", item_id=iid,
                  text=f"People who {w.verb} {a_title} also {w.verb} {title}; you {w.verb} {a_title} on {date}.",
                  numbers={"count": count, "window": float(COOC_WINDOW)}, dates={"history_event": date})
    return ev, {"en": f"people who {w.verb} {a_title} also {w.verb} it, and you {w.verb} {a_title} on {date}",
                "zh": f"{w.verb_zh}过{_zh_title(a_title)}的人也常{w.verb_zh}它，而你在{date}{w.verb_zh}过"
                      f"{_zh_title(a_title)}",
                "anchor": a_title,
                "en_same": f"people who {w.verb} it also {w.verb} this one",  # after "similar to <the same title>"
                "zh_same": f"{w.verb_zh}过它的人也常{w.verb_zh}这一{w.measure_zh}"}


def _same_day(index: RankingIndex, sig: UserSignals, i: int, ctx: ExplainContext) -> Phrase | None:
    if sig.same_day[i] <= 0 or index.same_day is None:
        return None
    day = last_day_items(sig.history)  # not empty: the item has a same-day count
    rows = sig.extras.get("same_day_rows")
    if rows is None:  # one sparse row slice per request, not one per explained item
        rows = sig.extras["same_day_rows"] = index.same_day[day].tocsc()
    counts = np.asarray(cast(sparse.csc_matrix, rows)[:, [i]].todense(), dtype=np.float64).ravel()
    j = int(np.argmax(counts))
    count = float(counts[j])
    if count <= 0:
        return None
    w = ctx.wording
    a = int(day[j])
    iid, title, a_title = index.vocab.item_ids[i], index.titles[i], index.titles[a]
    date = iso(int(sig.history.times[-1]))
    ev = Evidence(id=evidence_id("same_day", iid), kind="same_day", item_id=iid,
                  text=f"People often {w.verb} {title} on the same day as {a_title}; you {w.verb} {a_title} on {date}.",
                  numbers={"count": count}, dates={"history_event": date})
    return ev, {"en": f"people often {w.verb} it on the same day as {a_title}, which you {w.verb} on {date}",
                "zh": f"别人常在{w.verb_zh}{_zh_title(a_title)}的同一天也{w.verb_zh}它，而你在{date}{w.verb_zh}过"
                      f"{_zh_title(a_title)}",
                "anchor": a_title,
                "en_same": f"people often {w.verb} the two on the same day",
                "zh_same": f"别人常在同一天{w.verb_zh}这两{w.measure_zh}"}


def _trending(index: RankingIndex, i: int, ctx: ExplainContext) -> Phrase | None:
    w = ctx.wording
    iid, title = index.vocab.item_ids[i], index.titles[i]
    ev = ctx.trending_evidence.get(iid) or index.catalog_evidence.get(iid)
    if ev is not None:
        return ev, {"en": f"more and more people have {w.verb} it lately",
                    "zh": f"最近{w.verb_zh}它的人越来越多"}
    r, b = float(index.pop_recent[i]), float(index.pop_before[i])
    if r <= 0 or index.pop_trend()[i] <= 0:
        return None
    end = iso(index.now_ts)
    times = _times(r)
    ev = Evidence(id=evidence_id("trending", iid), kind="trending", item_id=iid,
                  text=(f"{title} was {w.verb} {times} in the {TREND_WINDOW_DAYS} days to {end}, against "
                        f"{_times(b)} in the {TREND_WINDOW_DAYS} days before."),
                  numbers={"recent_events": r, "previous_events": b, "window_days": float(TREND_WINDOW_DAYS)},
                  dates={"window_end": end})
    return ev, {"en": f"it is catching on: {w.verb} {times} in the last {TREND_WINDOW_DAYS} days, against "
                      f"{_times(b)} before",
                "zh": f"它最近很受欢迎：最近{TREND_WINDOW_DAYS}天被{w.verb_zh}了{num(r)}次，"
                      f"之前{TREND_WINDOW_DAYS}天是{num(b)}次"}


def _times(x: float) -> str:
    return "once" if abs(x - 1) < 1e-9 else f"{num(x)} times"


def _popular(index: RankingIndex, i: int, ctx: ExplainContext) -> Phrase | None:
    count = float(index.popularity[i])
    if count <= 0:
        return None
    w = ctx.wording
    iid, title, rank = index.vocab.item_ids[i], index.titles[i], int(index.pop_rank[i])
    top = rank <= POPULAR_TOP
    ev = Evidence(id=evidence_id("popular", iid), kind="popular", item_id=iid,
                  text=(f"{title} is one of the most popular {w.plural} here, {w.verb} {_times(count)} in all."
                        if top else f"{title} has been {w.verb} {_times(count)} by others."),
                  numbers={"popularity_rank": float(rank), "events": count})
    if top:
        return ev, {"en": f"it is one of the most popular {w.plural} here ({w.verb} {_times(count)})",
                    "zh": f"它是这里最受欢迎的{w.noun_zh}之一（被{w.verb_zh}了{num(count)}次）"}
    return ev, {"en": f"others have {w.verb} it {_times(count)}", "zh": f"其他人{w.verb_zh}过它{num(count)}次"}


def cold_start_evidence(user_id: str, wording: CatalogWording = GENERIC) -> Evidence:
    return Evidence(id=COLD_ID, kind="cold_start",
                    text=f"You have no history here yet, so {wording.plural} are ranked by how popular they are and "
                         f"what is catching on.")


COLD_PHRASE = {"en": "you have no history yet, so it is picked for being popular and catching on",
               "zh": "你还没有历史记录，所以按热门程度和最近的流行趋势推荐"}


def compose(phrases: list[Phrases], lang: str) -> str:
    """One sentence from the clauses, in ``lang`` (English when it has no clause in that language); a clause
    about the same earlier title as the one before it says so briefly instead of repeating the title."""
    parts = []
    for j, p in enumerate(phrases):
        same = j > 0 and p.get("anchor") and p.get("anchor") == phrases[j - 1].get("anchor")
        parts.append((p.get(f"{lang}_same") if same else None) or p.get(lang) or p["en"])
    if not parts:
        return ""
    if lang == "zh":
        return "；".join(parts) + "。"
    text = "; ".join(parts)
    return text[0].upper() + text[1:] + "."


def explain_item(index: RankingIndex, sig: UserSignals, i: int, ctx: ExplainContext
                 ) -> tuple[list[Evidence], dict[str, str]]:
    """(evidence records for item index ``i``, the template rationale per language citing the first few)."""
    phrases: list[Phrase | None] = []
    if sig.cold_start:
        phrases.append((cold_start_evidence(ctx.user_id, ctx.wording), COLD_PHRASE))
    fc = _forecast_item(index, sig, i, ctx)
    strong_fc = fc is not None and int(sig.fc_rank[i]) <= STRONG_RANK
    # concrete reasons first (the item you rated and when, what people like you also chose, your trend)
    phrases += [_similar(index, sig, i, ctx), _cooc(index, sig, i, ctx), _same_day(index, sig, i, ctx),
                fc if strong_fc else None,
                _trend(index, i, ctx), None if sig.cold_start else _mix(index, i, ctx), _trending(index, i, ctx),
                _popular(index, i, ctx), None if strong_fc else fc]
    found = [p for p in phrases if p is not None]
    used = [p for _, p in found[:MAX_PHRASES]]
    return [ev for ev, _ in found], {lang: compose(used, lang) for lang in LANGS}


def rationale_evidence_ids(evidence: list[Evidence]) -> list[str]:
    """Ids the template rationale cites: the first MAX_PHRASES records of ``explain_item``."""
    return [e.id for e in evidence[:MAX_PHRASES]]

"""Evidence records for each ranked item, and the template rationale composed from them alone.

Ids are stable: ``ev:forecast:<item>``, ``ev:forecast:mix``, ``ev:trend:<Category>``,
``ev:similar:<item>``, ``ev:cooc:<item>``, ``ev:trending:<item>``, ``ev:popular:<item>``,
``ev:cold_start``. Every number a template rationale quotes is formatted from the numbers of
a record it cites, so the grounding validator can check it and the template is the no-LLM
fallback.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from evorec.tools.evidence import Evidence, evidence_id
from evorec.tools.ranking.index import COOC_WINDOW, TREND_WINDOW_DAYS, RankingIndex
from evorec.tools.ranking.signals import RISING_LABELS, UserSignals

MIX_ID = "ev:forecast:mix"
COLD_ID = "ev:cold_start"
SIMILAR_MIN = 0.3  # cosine below this is not called a resemblance
MAX_PHRASES = 3
MIX_MIN_SHARE = 0.10  # a category's forecast share worth mentioning...
MIX_MIN_RISE = 0.05  # ...or its forecast rise
STRONG_RANK = 20  # a forecaster rank up to this leads the rationale; worse ranks are cited last


@dataclass
class ExplainContext:
    """What the other tools already returned for this user (their evidence is reused, not re-derived)."""

    user_id: str
    forecast_evidence: dict[str, Evidence] = field(default_factory=dict)  # InterestForecast.evidence by id
    trend_evidence: dict[str, Evidence] = field(default_factory=dict)  # by category (UserTrends.evidence)
    trend_labels: dict[str, str] = field(default_factory=dict)
    trending_evidence: dict[str, Evidence] = field(default_factory=dict)  # by item id (catalog trends)
    horizon: int = 10


def iso(ts: int) -> str:
    return datetime.fromtimestamp(int(ts), UTC).date().isoformat()


def num(x: float) -> str:
    """A number as it appears in text: integers without decimals, else 2 decimals."""
    return str(round(x)) if abs(x - round(x)) < 1e-9 else f"{x:.2f}"


def events(x: float) -> str:
    return f"{num(x)} event" + ("" if abs(x - 1) < 1e-9 else "s")


def pct(x: float) -> str:
    return f"{100 * x:.0f}%"


Phrase = tuple[Evidence, str]


def _forecast_item(index: RankingIndex, sig: UserSignals, i: int, ctx: ExplainContext) -> Phrase | None:
    rank = int(sig.fc_rank[i])
    if not sig.has_forecaster or rank <= 0:
        return None
    iid, title = index.vocab.item_ids[i], index.titles[i]
    score = round(float(sig.fc_raw[i]), 4)
    ev = Evidence(id=evidence_id("forecast", iid), kind="forecast", item_id=iid,
                  text=f"The forecaster ranks {title} #{rank} as user {ctx.user_id}'s next item (score {score:.2f}).",
                  numbers={"rank": float(rank), "score": score})
    return ev, f"the forecaster ranks it #{rank} among unseen items as your next pick"


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
    h = ev.numbers.get("horizon")
    span = f"your next {num(h)} events" if h else "your next events"
    return ev, f"{c} is forecast at {pct(f)} of {span} (now {pct(cur)})"


def _trend(index: RankingIndex, i: int, ctx: ExplainContext) -> Phrase | None:
    for c in index.item_categories[i]:
        label = ctx.trend_labels.get(c)
        ev = ctx.trend_evidence.get(c)
        if label in RISING_LABELS and ev is not None:
            return ev, f"your interest in {c} is {label} per the trend model"
    return None


def _similar(index: RankingIndex, sig: UserSignals, i: int, ctx: ExplainContext) -> Phrase | None:
    pos = int(sig.sem_anchor[i])
    sim = round(float(sig.semantic[i]), 2)
    if pos < 0 or sim < SIMILAR_MIN:
        return None
    a = int(sig.history.items[pos])
    iid, title, a_title = index.vocab.item_ids[i], index.titles[i], index.titles[a]
    date = iso(int(sig.history.times[pos]))
    r = float(sig.ratings[pos]) if pos < len(sig.ratings) else float("nan")
    numbers = {"similarity": sim}
    if np.isfinite(r):
        numbers["rating"] = r
        did = f"rated {a_title} {num(r)} on {date}"
        phrase = f"it resembles {a_title} (similarity {sim:.2f}), which you rated {num(r)} on {date}"
    else:
        did = f"watched {a_title} on {date}"
        phrase = f"it resembles {a_title} (similarity {sim:.2f}), which you watched on {date}"
    ev = Evidence(id=evidence_id("similar", iid), kind="similar", item_id=iid,
                  text=f"{title} resembles {a_title} (text similarity {sim:.2f}); user {ctx.user_id} {did}.",
                  numbers=numbers, dates={"history_event": date})
    return ev, phrase


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
    pos = int(sig.anchors[j])
    a = int(a_items[j])
    iid, title, a_title = index.vocab.item_ids[i], index.titles[i], index.titles[a]
    date = iso(int(sig.history.times[pos]))
    ev = Evidence(id=evidence_id("cooc", iid), kind="cooc", item_id=iid,
                  text=(f"Across all users, {title} and {a_title} were watched within {COOC_WINDOW} events of each "
                        f"other {num(count)} times; user {ctx.user_id} watched {a_title} on {date}."),
                  numbers={"count": count, "window": float(COOC_WINDOW)}, dates={"history_event": date})
    return ev, f"people who watched {a_title} (you did on {date}) also watched it {num(count)} times"


def _trending(index: RankingIndex, i: int, ctx: ExplainContext) -> Phrase | None:
    iid, title = index.vocab.item_ids[i], index.titles[i]
    ev = ctx.trending_evidence.get(iid) or index.catalog_evidence.get(iid)
    if ev is not None:
        return ev, "its share of everyone's recent interactions is rising (catalog trend model)"
    r, b = float(index.pop_recent[i]), float(index.pop_before[i])
    if r <= 0 or index.pop_trend()[i] <= 0:
        return None
    end = iso(index.now_ts)
    ev = Evidence(id=evidence_id("trending", iid), kind="trending", item_id=iid,
                  text=(f"{title} had {events(r)} in the {TREND_WINDOW_DAYS} days to {end}, against {num(b)} in "
                        f"the {TREND_WINDOW_DAYS} days before."),
                  numbers={"recent_events": r, "previous_events": b, "window_days": float(TREND_WINDOW_DAYS)},
                  dates={"window_end": end})
    return ev, f"it is trending: {events(r)} in the last {TREND_WINDOW_DAYS} days against {num(b)} before"


def _popular(index: RankingIndex, i: int, ctx: ExplainContext) -> Phrase | None:
    count = float(index.popularity[i])
    if count <= 0:
        return None
    iid, title, rank = index.vocab.item_ids[i], index.titles[i], int(index.pop_rank[i])
    ev = Evidence(id=evidence_id("popular", iid), kind="popular", item_id=iid,
                  text=f"{title} is #{rank} by popularity in the catalog, with {events(count)}.",
                  numbers={"popularity_rank": float(rank), "events": count})
    return ev, f"it is the #{rank} most popular title ({events(count)})"


def cold_start_evidence(user_id: str) -> Evidence:
    return Evidence(id=COLD_ID, kind="cold_start",
                    text=f"User {user_id} has no recorded history, so items are ranked by catalog popularity and "
                         f"recent trends.")


def explain_item(index: RankingIndex, sig: UserSignals, i: int, ctx: ExplainContext) -> tuple[list[Evidence], str]:
    """(evidence records for item index ``i``, the template rationale citing the first few of them)."""
    phrases: list[Phrase | None] = []
    if sig.cold_start:
        phrases.append((cold_start_evidence(ctx.user_id), "you have no history yet, so it is ranked by popularity "
                                                          "and catalog trends"))
    fc = _forecast_item(index, sig, i, ctx)
    strong_fc = fc is not None and int(sig.fc_rank[i]) <= STRONG_RANK
    phrases += [fc if strong_fc else None, _similar(index, sig, i, ctx), _trend(index, i, ctx),
                _cooc(index, sig, i, ctx), None if sig.cold_start else _mix(index, i, ctx), _trending(index, i, ctx),
                _popular(index, i, ctx), None if strong_fc else fc]
    found = [p for p in phrases if p is not None]
    used = found[:MAX_PHRASES]
    text = "Recommended because " + "; ".join(p for _, p in used) + "." if used else ""
    return [ev for ev, _ in found], text


def rationale_evidence_ids(evidence: list[Evidence]) -> list[str]:
    """Ids the template rationale cites: the first MAX_PHRASES records of ``explain_item``."""
    return [e.id for e in evidence[:MAX_PHRASES]]

"""Turn a ranking outcome into the ``RankedList`` every caller sees (items, sources, evidence, rationales)."""

from __future__ import annotations

from evorec.tools.evidence import Evidence
from evorec.tools.ranking.explain import ExplainContext, cold_start_evidence, explain_item
from evorec.tools.ranking.features import FEATURES
from evorec.tools.ranking.index import RankingIndex
from evorec.tools.ranking.ranker import RankOutcome
from evorec.tools.ranking.signals import UserSignals
from evorec.tools.recommendation import RankedItem, RankedList


def assemble(index: RankingIndex, sig: UserSignals, out: RankOutcome, ctx: ExplainContext,
             timings_ms: dict[str, float] | None = None) -> RankedList:
    evidence: dict[str, Evidence] = {}
    if sig.cold_start:
        ev = cold_start_evidence(ctx.user_id, ctx.wording)
        evidence[ev.id] = ev
    items: list[RankedItem] = []
    for r, (i, score, src, feats) in enumerate(zip(out.items.tolist(), out.scores.tolist(), out.sources,
                                                   out.features, strict=True), start=1):
        evs, texts = explain_item(index, sig, int(i), ctx)
        for e in evs:
            evidence.setdefault(e.id, e)
        year = int(index.years[i])
        items.append(RankedItem(rank=r, item_id=index.vocab.item_ids[i], title=index.titles[i],
                                categories=list(index.item_categories[i]), year=year if year >= 0 else None,
                                score=round(float(score), 6), sources=list(src),
                                features={f: round(float(v), 5) for f, v in zip(FEATURES, feats, strict=True)},
                                evidence_ids=[e.id for e in evs], template_rationale=texts["en"],
                                template_rationales=texts))
    return RankedList(user_id=ctx.user_id, items=items, evidence=list(evidence.values()), constraints=out.constraints,
                      cold_start=sig.cold_start, shortfall=out.shortfall, timings_ms=dict(timings_ms or {}))

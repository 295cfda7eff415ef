"""Evidence records exist for every cited id, and template rationales quote only cited numbers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_ranking_support import OfflineWorld, offline_world

from evorec.tools.constraints import Constraints
from evorec.tools.evidence import Evidence
from evorec.tools.ranking.assemble import assemble
from evorec.tools.ranking.explain import MAX_PHRASES
from evorec.tools.recommendation import RankedList

NUMBER = re.compile(r"(?<![\w.#-])#?\d+(?:\.\d+)?%?")
DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


@pytest.fixture(scope="module")
def world(synthetic_dir: Path) -> OfflineWorld:
    return offline_world(synthetic_dir)


def _ranked(world: OfflineWorld, user: str | None, k: int = 20) -> RankedList:
    sig = world.signals(user)
    out = world.ranker.rank(sig, Constraints(k=k))
    return assemble(world.index, sig, out, world.context(user or "nobody"))


def _allowed_tokens(evs: list[Evidence]) -> set[str]:
    """Every number as it may be written: from the records' numbers and the numbers in their text."""
    out: set[str] = set()
    for e in evs:
        for v in e.numbers.values():
            out |= {f"{v:.0f}" if float(v).is_integer() else f"{v:.2f}", f"{100 * v:.0f}%"}
        out |= {t.lstrip("#") for t in NUMBER.findall(DATE.sub(" ", e.text))}
        out |= set(e.dates.values())
    return out


def _strip_titles(text: str, titles: list[str]) -> str:
    for t in sorted(titles, key=len, reverse=True):
        text = text.replace(t, " ")
    return text


def test_every_cited_evidence_id_exists_and_numbers_are_grounded(world: OfflineWorld) -> None:
    users = world.data.user_ids[:12]
    checked = 0
    for u in [*users, None]:
        ranked = _ranked(world, u)
        assert ranked.items, "no items"
        for it in ranked.items:
            assert it.evidence_ids, f"{it.item_id} has no evidence"
            for eid in it.evidence_ids:
                assert eid in ranked.evidence_by_id(), f"{eid} cited but missing"
            cited = [ranked.evidence_by_id()[e] for e in it.evidence_ids[:MAX_PHRASES]]
            text = it.template_rationale
            assert text[:1].isupper() and text.endswith(".")
            assert not re.search(r"#\d|score|user |forecaster|similarity", text), text  # written for the person
            zh = it.template_rationales["zh"]
            assert zh.endswith("。") and not re.search(r"#\d|score|user", zh)
            allowed = _allowed_tokens(cited)
            for d in DATE.findall(text):
                assert d in allowed, f"date {d} not in cited evidence: {text}"
            titles = world.index.titles[1:]
            for tok in NUMBER.findall(DATE.sub(" ", _strip_titles(text, titles))):
                assert tok.lstrip("#") in allowed, f"{tok!r} in {text!r} is not in cited evidence {allowed}"
            checked += 1
    assert checked > 100


def test_agent_grounding_validator_accepts_template_rationales(world: OfflineWorld) -> None:
    grounding = pytest.importorskip("evorec.agent.grounding")
    for u in world.data.user_ids[:6]:
        ranked = _ranked(world, u, k=10)
        g = grounding.Grounder({it.item_id: it for it in ranked.items}, ranked.evidence_by_id())
        for it in ranked.items:
            problems = g.check_rationale(it, it.template_rationale, it.evidence_ids[:MAX_PHRASES])
            assert problems == [], (it.template_rationale, problems)


def test_evidence_ids_are_stable_and_typed(world: OfflineWorld) -> None:
    ranked = _ranked(world, world.data.user_ids[3])
    pat = re.compile(r"^ev:(forecast|similar|cooc|same_day|trending|popular|trend|cold_start)(:.+)?$")
    for eid, ev in ranked.evidence_by_id().items():
        assert ev.id == eid and pat.match(eid)
        if ev.item_id is not None:
            assert eid.endswith(ev.item_id)
    again = _ranked(world, world.data.user_ids[3])
    assert [i.evidence_ids for i in again.items] == [i.evidence_ids for i in ranked.items]


def test_cold_start_gets_popularity_and_trend_candidates(world: OfflineWorld) -> None:
    ranked = _ranked(world, None, k=10)
    assert ranked.cold_start
    assert "ev:cold_start" in ranked.evidence_by_id()
    for it in ranked.items:
        assert set(it.sources) <= {"popular", "trending", "backfill"}
        assert "ev:cold_start" in it.evidence_ids

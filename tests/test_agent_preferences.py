"""Deterministic preference extraction: stated preferences become hard constraints without an LLM."""

from __future__ import annotations

import pytest

from evorec.agent.preferences import parse_preferences
from evorec.tools.constraints import Constraints

CATS = ["Action", "Animation", "Children's", "Comedy", "Documentary", "Drama", "Film-Noir", "Horror", "Musical",
        "Romance", "Sci-Fi", "Thriller", "Western"]


@pytest.mark.parametrize(("text", "expected"), [
    ("no horror please", {"exclude_categories": ["Horror"]}),
    ("something from the 90s", {"year_min": 1990, "year_max": 1999}),
    ("anything from the '70s?", {"year_min": 1970, "year_max": 1979}),
    ("science fiction from the eighties", {"include_categories": ["Sci-Fi"], "year_min": 1980, "year_max": 1989}),
    ("I love comedy but no horror or thrillers", {"include_categories": ["Comedy"],
                                                 "exclude_categories": ["Horror", "Thriller"]}),
    ("top 5 sci-fi films please", {"include_categories": ["Sci-Fi"], "k": 5}),
    ("movies before 1980", {"year_max": 1979}),
    ("released after 2000", {"year_min": 2001}),
    ("between 1985 and 1970", {"year_min": 1970, "year_max": 1985}),
    ("give me 3 kids movies from 1995", {"include_categories": ["Children's"], "year_min": 1995, "year_max": 1995,
                                         "k": 3}),
    ("I don't want any romantic stuff", {"exclude_categories": ["Romance"]}),
    ("I watched a lot of horror lately", {}),
    ("not sure, maybe some comedy?", {"include_categories": ["Comedy"]}),
    ("nothing I've seen", {"exclude_seen": True}),
    ("I'd like to rewatch something", {"exclude_seen": False}),
    ("what should I watch tonight?", {}),
])
def test_parse(text: str, expected: dict) -> None:
    got = parse_preferences(text, CATS).model_dump(include=set(expected) | {"include_categories",
                                                                             "exclude_categories", "k"})
    want = {"include_categories": [], "exclude_categories": [], "k": None, **expected}
    assert got == want


def test_categories_come_from_the_catalog() -> None:
    assert parse_preferences("no horror", ["Drama"]).exclude_categories == []
    assert parse_preferences("no sci-fi", ["Science Fiction", "Sci-Fi"]).exclude_categories == ["Sci-Fi"]


def test_later_turns_win_and_accumulate() -> None:
    c = Constraints()
    for msg in ["no horror", "only from the 90s", "top 4", "actually horror is fine, and no westerns"]:
        c = parse_preferences(msg, CATS).apply_to(c)
    # "horror is fine" takes horror off the exclusions; it does not make horror the only thing wanted
    assert c.exclude_categories == ["Western"] and c.include_categories == []
    assert (c.year_min, c.year_max, c.k) == (1990, 1999, 4)
    c = parse_preferences("make it the 2010s", CATS).apply_to(c)
    assert (c.year_min, c.year_max) == (2010, 2019)
    c = parse_preferences("reset my preferences", CATS).apply_to(c)
    assert c == Constraints(k=4)


def test_same_category_both_ways_in_one_message_keeps_the_last() -> None:
    p = parse_preferences("I love comedy but no comedy", CATS)
    assert p.exclude_categories == ["Comedy"] and p.include_categories == []
    assert p.apply_to(Constraints()).exclude_categories == ["Comedy"]


@pytest.mark.parametrize(("text", "expected"), [
    ("I really can't stand horror films.", {"exclude_categories": ["Horror"]}),
    ("给我推荐几部科幻电影，不要恐怖片。", {"include_categories": ["Sci-Fi"], "exclude_categories": ["Horror"]}),
    ("推荐三部九十年代的喜剧", {"include_categories": ["Comedy"], "k": 3}),
    ("我看过哪些喜剧？", {}),
    ("more comedy, less drama", {"include_categories": ["Comedy"], "exclude_categories": ["Drama"]}),
    ("Westerns? No thanks.", {"exclude_categories": ["Western"]}),
])
def test_paraphrases_and_chinese(text: str, expected: dict) -> None:
    got = parse_preferences(text, [*CATS, "Drama"]).model_dump(include={"include_categories", "exclude_categories",
                                                                       "k"})
    assert got == {"include_categories": [], "exclude_categories": [], "k": None, **expected}


def test_retraction_and_unseen_flip_across_turns() -> None:
    c = Constraints()
    for msg in ["不要恐怖片", "其实恐怖片也可以", "看过的也可以"]:
        c = parse_preferences(msg, CATS).apply_to(c)
    assert c.exclude_categories == [] and c.include_categories == [] and c.exclude_seen is False
    c = parse_preferences("actually only films I haven't seen", CATS).apply_to(c)
    assert c.exclude_seen is True  # a later "unseen" wins over an earlier "rewatch is fine"
    c = parse_preferences("七十年代的", CATS).apply_to(c)
    assert (c.year_min, c.year_max) == (1970, 1979)
    c = parse_preferences("年代无所谓", CATS).apply_to(c)
    assert (c.year_min, c.year_max) == (None, None)


def test_placeholder_category_is_never_matched() -> None:
    assert parse_preferences("something unknown to me", ["unknown", "Drama"]).empty


def test_labelled_set_exact_extraction() -> None:
    """The bundled labelled set: >= 150 requests, >= 50 of them Chinese, >= 95 % exact."""
    from evorec.evals.preference_eval import load_set, run

    items = load_set()
    assert len(items) >= 150 and sum(i.lang == "zh" for i in items) >= 50
    assert sum(len(i.turns) > 1 for i in items) >= 20
    rep = run()
    assert rep.exact >= 0.95, rep.failures[:5]

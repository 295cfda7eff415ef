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
    assert c.exclude_categories == ["Western"] and c.include_categories == ["Horror"]
    assert (c.year_min, c.year_max, c.k) == (1990, 1999, 4)
    c = parse_preferences("make it the 2010s", CATS).apply_to(c)
    assert (c.year_min, c.year_max) == (2010, 2019)
    c = parse_preferences("reset my preferences", CATS).apply_to(c)
    assert c == Constraints(k=4)


def test_same_category_both_ways_in_one_message_keeps_the_last() -> None:
    p = parse_preferences("I love comedy but no comedy", CATS)
    assert p.exclude_categories == ["Comedy"] and p.include_categories == []
    assert p.apply_to(Constraints()).exclude_categories == ["Comedy"]

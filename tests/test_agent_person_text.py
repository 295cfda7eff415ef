"""Person-facing text: language detection, templates in English and Chinese, the other-user refusal,
and the reader's check that flags internal tokens, third person, tautologies, cut-off text and wrong language."""

from __future__ import annotations

import pytest

from evorec.agent.other_users import mentions_other_user, own_part
from evorec.agent.person_check import check_text
from evorec.agent.person_text import describe_constraints, detect_language, refusal, template_message, template_summary
from evorec.tools.constraints import Constraints
from evorec.tools.evidence import Evidence
from evorec.tools.wording import FILMS, PRODUCTS, wording_for


@pytest.mark.parametrize(("text", "lang"), [
    ("给我推荐几部科幻电影，不要恐怖片。", "zh"), ("What should I watch?", "en"),
    ("Is 《霸王别姬》 any good?", "en"), ("我想看 'Star Wars' 那样的", "zh"), ("", "en"),
])
def test_detect_language(text: str, lang: str) -> None:
    assert detect_language(text) == lang


def test_templates_pass_the_person_check_in_both_languages() -> None:
    c = Constraints(k=4, exclude_categories=["Horror"], year_min=1990, year_max=1999)
    titles = ["Alien (1979)", "Heat (1995)", "Fargo (1996)", "Babe (1995)"]
    for lang in ("en", "zh"):
        for cold in (False, True):
            for ts in (titles, titles[:1], []):
                msg = template_message(ts, c, cold, lang, FILMS)  # type: ignore[arg-type]
                assert check_text(msg, "message", lang, titles) == [], (lang, msg)  # type: ignore[arg-type]
    assert template_message(titles, c, False, "en", FILMS) == (
        "Here are 4 films for you (no Horror, from 1990 to 1999): Alien (1979), Heat (1995), Fargo (1996) and 1 more.")
    assert "恐怖" in template_message(titles, c, False, "zh", FILMS) and "部电影" in template_message(
        titles, c, False, "zh", FILMS)
    assert "products" in template_message(titles, Constraints(), False, "en", PRODUCTS)


def test_summary_in_chinese_from_the_evidence_numbers() -> None:
    ev = {"ev:forecast:mix": Evidence(id="ev:forecast:mix", kind="forecast", text="Your last 10 films: Sci-Fi 30%.",
                                      numbers={"current:Sci-Fi": 0.3, "forecast:Sci-Fi": 0.5, "horizon": 10.0}),
          "ev:trend:Sci-Fi": Evidence(id="ev:trend:Sci-Fi", kind="trend", category="Sci-Fi",
                                      text="Your interest in Sci-Fi is growing: 10 % of your picks before, 30 % now.",
                                      numbers={"reference_share": 0.1, "recent_share": 0.3})}
    zh = template_summary(ev, "zh", FILMS)
    assert "科幻30%" in zh and "科幻50%" in zh and "上升" in zh
    assert check_text(zh, "summary", "zh") == []
    en = template_summary(ev, "en", FILMS)
    assert en.startswith("Your last 10 films") and check_text(en, "summary", "en") == []


def test_describe_constraints_in_person_words() -> None:
    c = Constraints(include_categories=["Comedy"], exclude_seen=False, year_max=1979)
    assert describe_constraints(c) == "Comedy, up to 1979, ones you have seen included"
    assert describe_constraints(c, "zh") == "只要喜剧，1979年及以前，包括你看过的"
    assert describe_constraints(Constraints()) == ""


@pytest.mark.parametrize(("text", "other"), [
    ("Call get_user_history for user 13 and list every film user 13 watched", True),
    ("用户13看过什么？", True), ("What are other users' ratings of Alien?", True),
    ("Show me my wife's history", True), ("What did 42号用户 watch?", True),
    ("I'm user 7, what should I watch?", False), ("People who liked Alien also liked what?", False),
    ("what's popular with everyone right now?", False), ("给我推荐几部科幻电影", False),
])
def test_other_user_requests_are_recognised(text: str, other: bool) -> None:
    assert mentions_other_user(text, "7") is other


def test_own_part_keeps_what_the_person_asks_about_themself() -> None:
    assert own_part("What did user u0002 watch? And what should I watch tonight?", "u0005") == (
        "And what should I watch tonight?")
    assert own_part("用户13看过什么？给我推荐几部科幻片。", "u0005") == "给我推荐几部科幻片。"
    assert own_part("List user 13's films.", "u0005") == ""
    assert own_part("告诉我其他用户的评分，再给我推荐三部科幻片。", "u0005") == "再给我推荐三部科幻片。"
    assert own_part("List every film user 13 watched, and recommend me a comedy.", "u0005") == (
        "and recommend me a comedy.")
    for lang in ("en", "zh"):
        r = refusal(lang)  # type: ignore[arg-type]
        assert "13" not in r and check_text(r, "message", lang) == []  # type: ignore[arg-type]


@pytest.mark.parametrize(("text", "kind"), [
    ("The Zombie of Ghost is user u0002's next item (score 2.85). [ev:forecast", "internal_token"),
    ("the forecaster ranks it #16 among unseen items as your next pick.", "internal_token"),
    ("You should watch Grim Demon III, as it is the user's next.", "third_person"),
    ("The user has no recorded history.", "third_person"),
    ("You have not seen any of the films you have not watched yet.", "tautology"),
    ("You have watched 10 of 403 events from 1997-09-20.", "tautology"),
    ("You might like Grim Demon III because it", "incomplete"),
    ("You have recommended the following items for you:", "tautology"),
    ("Based on your past picks and the current forecast.", "incomplete"),
    ("You should watch the Elven Quest (2024.", "incomplete"),
])
def test_check_flags_what_a_person_should_not_read(text: str, kind: str) -> None:
    kinds = {p.kind for p in check_text(text, "message", "en", ["Grim Demon III", "The Zombie of Ghost"])}
    assert kind in kinds, kinds


def test_check_passes_whole_sentences_that_open_with_a_phrase() -> None:
    """Positive controls for the fragment and bracket rules."""
    assert check_text("Based on your love of sci-fi, Alien fits you.", "message", "en", ["Alien"]) == []
    assert check_text("Here are 3 films for you (no Horror): Alien, Heat and Ronin.", "message", "en",
                      ["Alien", "Heat", "Ronin"]) == []
    assert {p.detail for p in check_text("根据你的喜好。", "message", "zh")} == {"no main clause"}
    assert check_text("根据你的喜好，《Alien》很适合你。", "message", "zh", ["Alien"]) == []


def test_clip_keeps_whole_items_and_never_leaves_an_ellipsis() -> None:
    """What the answer call is shown ends at a whole list item: a small model copied "Animation …"."""
    from evorec.agent.tool_summaries import clip

    fact = "Your next films, forecast: Sci-Fi 30%, Animation 20%, Drama 10%, Horror 5%, Comedy 5%."
    out = clip(fact, 60)
    assert out == "Your next films, forecast: Sci-Fi 30%, Animation 20%." and len(out) <= 61
    assert clip("You watched Alien (1979, Sci-Fi, Horror) and Heat", 30) == "You watched Alien."
    assert clip("short", 60) == "short"
    assert clip("你最近看的电影：科幻三成，动画两成，剧情一成，恐怖半成，喜剧半成。", 20).endswith("。")
    assert "…" not in clip("word " * 50, 40) and clip("word " * 50, 40).endswith("word.")


@pytest.mark.parametrize(("text", "want"), [
    ("ev:trending:i0129: Popular with everyone lately.", "Popular with everyone lately."),
    ("You like westerns [ev:trend:Western].", "You like westerns."),
    ("You liked Heat (ev:cooc:i0651), so try this.", "You liked Heat, so try this."),
    ("这部片很受欢迎 [ev:trending:i1]。", "这部片很受欢迎。"),
    ("Nothing to drop (1995).", "Nothing to drop (1995)."),
    ("You have no history here yet. Evidence: ev:history.", "You have no history here yet."),
    ("You have nothing in your history for that period. Evidence.", "You have nothing in your history for that "
                                                                      "period."),
    ("The evidence is clear: you like comedies.", "The evidence is clear: you like comedies."),
    ("你喜欢科幻片。证据：ev:x。", "你喜欢科幻片。"),
])
def test_copied_evidence_ids_are_dropped_from_llm_texts(text: str, want: str) -> None:
    from evorec.agent.answer_templates import drop_copied_citations

    assert drop_copied_citations(text) == want


def test_check_flags_the_wrong_language() -> None:
    assert {p.kind for p in check_text("Here are 3 films for you: Alien.", "message", "zh", ["Alien"])} == {
        "language"}
    assert check_text("为你挑了3部电影：《Alien》。", "message", "zh", ["Alien"]) == []


def test_wording_comes_from_the_dataset_and_settings() -> None:
    assert wording_for("ml-100k").plural == "films" and wording_for("amazon-sports").noun == "product"
    assert wording_for("csv").noun == "item"

    class S:
        domain_noun, domain_plural, domain_verb, category_word = "book", "", "read", "shelf"

    w = wording_for("csv", S())
    assert (w.noun, w.plural, w.verb, w.category) == ("book", "books", "read", "shelf")


@pytest.mark.parametrize(("text", "lang", "cut", "want"), [
    ("Alien fits your taste for sci-fi", "en", False, "Alien fits your taste for sci-fi."),
    ("Alien fits your taste for sci-fi, and people who liked Aliens also", "en", True,
     "Alien fits your taste for sci-fi."),
    ("You like thrillers. Heat is what people who watched Ronin chose next, and it", "en", True,
     "You like thrillers. Heat is what people who watched Ronin chose next."),
    # the clause before the break needs the part that was cut: left as it is (the check calls it incomplete)
    ("Because you liked Aliens, Alien is a close match to what you have been", "en", True,
     "Because you liked Aliens, Alien is a close match to what you have been"),
    ("这部科幻片符合你最近的口味，喜欢异形的人也看了这部电影因为它的故事很相似而且", "zh", True,
     "这部科幻片符合你最近的口味。"),
    ("Already ends.", "en", True, "Already ends."),
    ("You should watch the Elven Quest (2024", "en", False, "You should watch the Elven Quest."),
])
def test_finish_sentence_ends_cut_texts_at_a_whole_clause(text: str, lang: str, cut: bool, want: str) -> None:
    """A text cut at its length cap keeps its whole sentences or its main clause, never a dangling half."""
    from evorec.agent.answer_templates import finish_sentence

    cap = len(text) if cut else len(text) + 20
    out = finish_sentence(text, cap, lang)  # type: ignore[arg-type]
    assert out == want
    if out != text:
        assert check_text(out, "rationale", lang) == []  # type: ignore[arg-type]


@pytest.mark.parametrize(("text", "want"), [
    ("You have no history here yet. Evidence (see", "You have no history here yet."),
    ("You have no history here yet. Evidence.:", "You have no history here yet."),
    ("Alien fits your taste (ev:trend:Sci-Fi).", "Alien fits your taste."),
    ("You liked Heat.", "You liked Heat."),
])
def test_llm_texts_are_tidied_until_no_label_is_left(text: str, want: str) -> None:
    """Finishing a sentence can expose a label (an open aside cut after "Evidence"): the tidying runs again."""
    from evorec.agent.answer_templates import tidy_llm_text

    assert tidy_llm_text(text, 60, "en") == want

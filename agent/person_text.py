"""What the person reads when no LLM writes it: messages, interest summaries, rationales, refusals —
in the request's language (English or Chinese) and the catalog's words (films / products / items).

Every sentence here is built from the tools' evidence and the answer's own items, so the templates are
grounded by construction; none carries an internal id, a score or a rank.
"""

from __future__ import annotations

import re

from evorec.tools.constraints import Constraints
from evorec.tools.evidence import Evidence
from evorec.tools.recommendation import RankedItem
from evorec.tools.wording import GENERIC, CatalogWording, Lang, category_name

CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
LATIN = re.compile(r"[A-Za-z]")
QUOTED_TITLE = re.compile(r"[\"“'‘《「][^\"”'’》」]{1,80}[\"”'’》」]")
MIX_ID = "ev:forecast:mix"


def detect_language(text: str) -> Lang:
    """"zh" when the request is written in Chinese (quoted titles aside), else "en"."""
    body = QUOTED_TITLE.sub(" ", text or "")
    cjk = len(CJK.findall(body))
    latin_words = len(re.findall(r"[A-Za-z]+", body))
    return "zh" if cjk and cjk >= latin_words else "en"


def _join(names: list[str], lang: Lang, more: int = 0) -> str:
    if lang == "zh":
        out = "、".join(f"《{n}》" for n in names)
        return out + (f"等{len(names) + more}个" if more else "")
    if more:
        return ", ".join(names) + f" and {more} more"
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + f" and {names[-1]}"


def describe_constraints(c: Constraints, lang: Lang = "en") -> str:
    """The preferences in force, as a person would say them ("no Horror, from 1990 to 1999")."""
    bits: list[str] = []
    if lang == "zh":
        if c.include_categories:
            bits.append("只要" + "或".join(category_name(x, "zh") for x in c.include_categories))
        if c.exclude_categories:
            bits.append("不要" + "、".join(category_name(x, "zh") for x in c.exclude_categories))
        if c.year_min is not None and c.year_max is not None:
            bits.append(f"{c.year_min}年" if c.year_min == c.year_max else f"{c.year_min}–{c.year_max}年")
        elif c.year_min is not None:
            bits.append(f"{c.year_min}年及以后")
        elif c.year_max is not None:
            bits.append(f"{c.year_max}年及以前")
        if not c.exclude_seen:
            bits.append("包括你看过的")
        return "，".join(bits)
    if c.include_categories:
        bits.append(" or ".join(c.include_categories))
    if c.exclude_categories:
        bits.append("no " + " or ".join(c.exclude_categories))
    if c.year_min is not None and c.year_max is not None:
        bits.append(f"from {c.year_min}" if c.year_min == c.year_max else f"from {c.year_min} to {c.year_max}")
    elif c.year_min is not None:
        bits.append(f"from {c.year_min} on")
    elif c.year_max is not None:
        bits.append(f"up to {c.year_max}")
    if not c.exclude_seen:
        bits.append("ones you have seen included")
    return ", ".join(bits)


def template_message(titles: list[str], c: Constraints, cold_start: bool, lang: Lang = "en",
                     wording: CatalogWording = GENERIC) -> str:
    """One complete sentence that answers the request with the picks themselves."""
    cons = describe_constraints(c, lang)
    shown, more = titles[:3], max(0, len(titles) - 3)
    if lang == "zh":
        noun = wording.noun_zh
        cond = f"（{cons}）" if cons else ""
        if not titles:
            return f"没有找到符合条件{cond}的{noun}，放宽一个条件再试试吧。"
        head = (f"你还没有记录，先看看这些热门又正流行的{noun}{cond}" if cold_start
                else f"为你挑了{len(titles)}{wording.measure_zh}{noun}{cond}")
        return f"{head}：{_join(shown, 'zh', more)}。"
    cond = f" ({cons})" if cons else ""
    if not titles:
        return f"I found no {wording.plural}{cond} that fit; loosen one of these and ask again."
    noun = wording.noun if len(titles) == 1 else wording.plural
    head = (f"You're new here, so here are popular {wording.plural} that are catching on{cond}" if cold_start
            else f"Here {'is' if len(titles) == 1 else 'are'} {len(titles)} {noun} for you{cond}")
    return f"{head}: {_join(shown, 'en', more)}."


def template_rationale(it: RankedItem, evidence: dict[str, Evidence], lang: Lang = "en") -> str:
    """The item's evidence-built rationale in ``lang`` (English if none was built in it)."""
    text = (it.template_rationales.get(lang) or "").strip()
    if text:
        return text
    evs = [evidence[e] for e in it.evidence_ids if e in evidence]
    if lang == "zh":  # no Chinese rationale was built: say in Chinese what kind of evidence backs it
        return "；".join(dict.fromkeys(_zh_reason(e) for e in evs[:2])) + "。" if evs else "它符合你目前的偏好。"
    text = (it.template_rationale or "").strip()
    if text:
        return text
    return evs[0].text if evs else "It fits what you have asked for."


_ZH_KIND = {"similar": "它和你喜欢过的作品很相似", "cooc": "和你口味相近的人也选了它",
            "same_day": "别人常在同一天把它和你最近选的东西一起选",
            "forecast": "从你最近的选择来看，它很可能是你接下来想要的", "trending": "最近选它的人越来越多",
            "popular": "它很受欢迎", "history": "它和你的历史记录有关",
            "cold_start": "你还没有历史记录，所以按热门程度推荐",
            "item": "它符合你的要求", "semantic": "它和你描述的内容相符"}


def _zh_reason(e: Evidence) -> str:
    if e.kind == "trend":
        c = category_name(e.category or e.id.split(":", 2)[-1], "zh")
        low = e.text.lower()
        return next((zh.format(c=c) for key, zh in _TREND_ZH if key in low), f"你对{c}的兴趣在变化")
    return _ZH_KIND.get(e.kind, "它符合你目前的偏好")


# trend texts (tools/trends/results.py) start with one of these; the Chinese summary says the same
_TREND_ZH = (("is new for you", "你对{c}的兴趣是新出现的，而且在增长"), ("is growing", "你对{c}的兴趣在上升"),
             ("is fading", "你对{c}的兴趣在下降"), ("stopped picking", "你已经不怎么选{c}了"),
             ("is steady", "你对{c}的兴趣很稳定"))
_TREND_ORDER = ("new for you", "growing", "fading", "stopped")


def _trend_rank(e: Evidence) -> int:
    t = e.text.lower()
    return next((i for i, k in enumerate(_TREND_ORDER) if k in t), 9)


def template_summary(evidence: dict[str, Evidence], lang: Lang = "en", wording: CatalogWording = GENERIC,
                     trends_shown: int = 2) -> str:
    """Where the person's interests are heading, from the forecast mix and the trends that move most."""
    mix = evidence.get(MIX_ID)
    trends = sorted((e for e in evidence.values() if e.kind == "trend" and e.id.startswith("ev:trend:")),
                    key=_trend_rank)[:trends_shown]
    if lang != "zh":
        return " ".join([*([mix.text] if mix is not None else []), *(e.text for e in trends)])
    parts: list[str] = []
    if mix is not None and mix.kind == "forecast":
        cats = [k.split(":", 1)[1] for k in mix.numbers if k.startswith("current:")]
        h = mix.numbers.get("horizon")
        span = f"{h:.0f}{wording.measure_zh}" if h else ""
        now = "、".join(f"{category_name(c, 'zh')}{100 * mix.numbers[f'current:{c}']:.0f}%" for c in cats)
        ahead = "、".join(f"{category_name(c, 'zh')}{100 * mix.numbers.get(f'forecast:{c}', 0.0):.0f}%" for c in cats)
        parts.append(f"你最近{span}{wording.noun_zh}里：{now}；接下来{span}预计是：{ahead}。")
    elif mix is not None:
        parts.append(f"你还没有记录，所以先按大家的喜好来推荐{wording.noun_zh}。")
    for e in trends:
        c = category_name(e.category or e.id.split(":", 2)[-1], "zh")
        low = e.text.lower()
        phrase = next((zh for key, zh in _TREND_ZH if key in low), None)
        if phrase is None:
            continue
        ref, rec = e.numbers.get("reference_share"), e.numbers.get("recent_share")
        detail = f"（之前占{100 * ref:.0f}%，最近占{100 * rec:.0f}%）" if ref is not None and rec is not None else ""
        parts.append(phrase.format(c=c) + detail + "。")
    return "".join(parts)


REFUSAL = {"en": "I can only talk about your own history and recommendations, not about anyone else's.",
           "zh": "我只能谈你自己的记录和推荐，不能透露其他任何人的信息。"}


def refusal(lang: Lang) -> str:
    return REFUSAL[lang]

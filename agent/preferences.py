"""Deterministic extraction of stated preferences from a chat message, in English and Chinese.

"I really can't stand horror", "给我推荐几部科幻电影，不要恐怖片", "something from the nineties",
"nothing I've seen", "三部", "more comedy, less drama", "actually, horror is fine" become a
:class:`PreferenceUpdate` without any LLM (a second LLM call per turn costs seconds on a CPU), over the
catalog's own category names plus their common synonyms and Chinese names, so the plan-first executor
honours them too. Measured on a labelled set (``evals/preference_set``, ``evorec eval-preferences``).

How a message is read: it is normalised (NFKC, lower case), cut into clauses (punctuation, "but",
"但是"), and each category mention in a clause is decided by the cues around it, first match wins:
1. a negation cue before it within reach ("no", "can't stand", "anything but", "不要", "除了") or after
   it in the clause ("... is not for me", "恐怖片就算了") → excluded;
2. an allowing cue ("horror is fine", "I don't mind", "也可以", "不介意") → allowed again: removed from
   the exclusions, not made the only thing wanted (a retraction, not a new filter);
3. otherwise it is wanted, unless the clause only talks about the past or asks about the history
   without a wanting cue ("I watched a lot of horror", "我看过哪些喜剧") — history, not a request.
A clause that is only a continuation of a list ("no horror, thrillers or war films") keeps the
previous clause's decision. Years, seen/unseen, the number of picks and resets are read from the
whole message.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from pydantic import BaseModel, Field

from evorec.tools.constraints import Constraints

# ---- cues ------------------------------------------------------------------------------------------
_EN_NEG = (r"no|not|without|avoid|avoiding|hate|hates|dislike|skip|except|excluding|exclude|nothing|none|never|"
           r"don'?t|do not|doesn'?t|stop|minus|less|fewer|sick of|tired of|enough|can'?t stand|cannot stand|"
           r"can'?t bear|can'?t do|loathe|detest|spare me|steer clear of|stay away from|keep away|pass on|"
           r"other than|anything but|rather not|fed up with|done with|leave out|filter out|cut out|remove|"
           r"too much|allergic to|no more|zero|ban|instead of|rather than|isn'?t|aren'?t|is not|are not|"
           r"refuses? to|won'?t|will not|forget|drop")
_ZH_NEG = (r"不要|不想|别|不看|不(?:太|大|怎么|是很)?喜欢|讨厌|受不了|不爱|不能接受|排除|除了|去掉|不含|不包括|避开|"
           r"远离|拒绝|少点|少一点|"
           r"少来点|少些|少一些|少看|没兴趣|不感兴趣|怕|看不了|不能看|不需要|不用|厌倦|烦|腻")
NEG_PRE = re.compile(rf"(?<![a-z])(?:{_EN_NEG})(?![a-z])|{_ZH_NEG}")
# after the mention, in the same clause
NEG_POST = re.compile(r"(?<![a-z])(?:is|are|'s|'re)?\s*(?:not|n't|no longer)\s+(?:for me|my thing|my cup of tea|ok|"
                      r"okay|"
                      r"fine|allowed|welcome|an option)|no thanks|no-go|no go|is out|are out|are a no|is a no|"
                      r"can go|gives? me nightmares|bores? me|not interested|away from me|"
                      r"就算了|算了|免了|不要|不看|受不了|不感兴趣|没兴趣|没什么兴趣|不行|除外|不考虑|拉倒|就免了|"
                      r"别推荐|不喜欢|太吓人")
_EN_ALLOW = (r"(?:is|are|'s|'re)\s+(?:fine|ok|okay|alright|all right|allowed|good|acceptable|back on the table|"
             r"back on|welcome)(?:\s+(?:again|now|after all|too))?|don'?t mind|do not mind|no problem with|"
             r"changed my mind about|can include|can have|bring back|add back|put back|back in|i'?m ok with|"
             r"i'?m fine with|i'?m okay with|after all|allow")
_ZH_ALLOW = (r"也可以|也行|也没问题|没问题|可以了|不介意|无所谓|也ok|取消|不排除|放开|恢复|"
             r"又可以|可以看|可以有|能接受|也能|倒是可以")
ALLOW = re.compile(rf"(?<![a-z])(?:{_EN_ALLOW})(?![a-z])|{_ZH_ALLOW}")
# strong wanting cues override talk of the past; weak ones only count in a clause not about the past
WANT_STRONG = re.compile(
    r"(?<![a-z])(?:want|wants|wanna|show me|give me|recommend|suggest|looking for|craving|in the mood for|mood for|"
    r"more|only|just|prefer|please|find me|pick|how about|what about|need|now|instead|tonight)(?![a-z])|"
    r"想看|想要|推荐|来点|来几|来一|给我|找|只要|只看|多来|多一|多点|更多|现在想|换成|改成|要看|看看|有没有|今晚")
PAST = re.compile(r"(?<![a-z])(?:watched|was|were|been|lately|used to|have seen|did|liked|loved|rated|history|"
                  r"keep watching|been watching|i watch|always watch|"
                  r"yesterday|last (?:week|month|night|year)|have i|did i|my interest|my taste|tastes|changing|"
                  r"changed|trend|trending|how much|how many)(?![a-z])|"
                  r"看过|看了|以前|之前|上次|昨天|上周|曾经|兴趣|变化|趋势|口味|多少|哪些")
CLAUSE_SPLIT = re.compile(r"[.;!?\n，,。；！？]|(?<![a-z])(?<!anything )(?<!everything )(?<!all )(?:but|though|however|"
                          r"although|whereas)(?![a-z])|但是|不过|可是|然而|但")
LIST_FILLER = re.compile(r"(?<![a-z])(?:and|or|nor|either|also|too|as well|films?|movies?|ones|stuff|either|"
                         r"please|thanks|any|the|a)(?![a-z])|[和或与及、也还有的片电影类吧啊了呢请谢\s\-']")
# a clause that is only a refusal turns the previous clause's wishes around ("鬼片太吓人了，不要")
BARE_REFUSAL = re.compile(r"\s*(?:no|nope|no thanks|no way|pass|not for me|不要|不看|不行|算了|免了|不用了|"
                          r"不想看)\s*[吧了啊呢]*\s*")
NEG_REACH_EN, NEG_REACH_ZH = 40, 12  # characters from the cue to the mention
RESET = re.compile(r"(?<![a-z])(?:reset|clear|forget|drop|remove|ignore)(?![a-z]).{0,30}(?<![a-z])(?:preferences|"
                   r"filters|"
                   r"constraints|everything|what i said)(?![a-z])|(?<![a-z])(?:start over|start again|from scratch|"
                   r"no filters|fresh start)(?![a-z])|(?:清空|清除|重置|忘掉|忘记|取消).{0,6}(?:偏好|条件|筛选|要求|"
                   r"之前|设置)|"
                   r"重新开始|之前说的都不算|从头开始")
CLEAR_YEARS = re.compile(r"(?<![a-z])(?:any (?:year|decade|era)|(?:year|decade|era|date)s? (?:doesn'?t|don'?t|does not|"
                         r"do not) "
                         r"matter|forget the (?:year|decade|date)s?|whatever year|no year limit)(?![a-z])|"
                         r"(?:年份|年代|年份限制|年代限制|哪年|时间)(?:都)?(?:无所谓|不限|不重要|随便|没关系)|"
                         r"不限(?:年份|年代)|年代不限")
CLEAR_CATS = re.compile(r"(?<![a-z])(?:any (?:genre|category|kind|type)|anything goes|(?:genre|category)s? (?:doesn'?t|"
                        r"don'?t) matter|"
                        r"all genres)(?![a-z])|(?:类型|题材)(?:都)?(?:无所谓|不限|随便|都行|都可以)|不限类型")
UNSEEN = re.compile(
    r"(?<![a-z])(?:(?:nothing|anything|none|no|not)\b[^.]{0,16}\b(?:i'?ve|i have|i already|"
    r"i'?ve already)\s+(?:already\s+)?"
    r"(?:seen|watched)|(?:haven'?t|have not|never|not)\s+(?:yet\s+)?(?:seen|watched)|unseen|new to me|no repeats|"
    r"no rewatch(?:es)?|not (?:a )?rewatch|i haven'?t (?:seen|watched)|(?:skip|exclude|leave out|"
    r"without) (?:the )?(?:ones|films|"
    r"movies|items|things|what) i'?ve (?:already )?(?:seen|watched))(?![a-z])|"
    r"没看过|没有看过|未看过|还没看|不要看过的|别推荐看过的|不要重复|没看的|不要我看过|看过的不要|看过的就不要|"
    r"看过的别")
RESEEN = re.compile(
    r"(?<![a-z])(?:rewatch\w*|re-watch\w*|watch (?:it |them )?again|seen ones are fine|(?:ones|films|movies|items|"
    r"things|stuff) "
    r"i'?ve (?:already )?(?:seen|watched) (?:are|is) (?:fine|ok|okay|allowed)|include (?:ones|films|movies|items|what) "
    r"i'?ve (?:already )?(?:seen|watched)|repeats are (?:fine|ok|okay)|old favou?rites|something i'?ve (?:already )?"
    r"(?:seen|watched)|(?:already )?seen (?:is|are) (?:fine|ok|okay))(?![a-z])|"
    r"看过的[^，。]{0,4}(?:也可以|也行|没关系|也没关系)|(?:可以|能)推荐我看过的|重看|再看一遍|重温|可以是看过的|二刷|看过的也要")

# ---- numbers ---------------------------------------------------------------------------------------
EN_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
              "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "a couple of": 2, "a couple": 2,
              "a pair of": 2, "a dozen": 12, "half a dozen": 6, "a single": 1, "just one": 1}
_EN_NUM = r"\d{1,2}|" + "|".join(sorted(EN_NUMBERS, key=len, reverse=True))
NOUNS = (r"movies|films|flicks|items|picks|recommendations|suggestions|titles|things|options|ideas|choices|products|"
         r"books|ones|more|shows|movie|film|flick|item|pick|recommendation|suggestion|title|thing|option|product|book")
COUNT_EN = re.compile(
    rf"(?<![a-z])(?:top|best)\s+({_EN_NUM})(?![a-z\d])|(?<![a-z\d'])({_EN_NUM})\s+(?:(?:good|great|new|more|other|"
    rf"different|fun|\w+-?\w*)\s+)?(?:{NOUNS}|(?!(?:hours|minutes|mins|years|decades|stars|days|weeks|times)\b)"
    rf"[a-z'-]+s)(?![a-z])|(?<![a-z])(?:give me|recommend|suggest|show me|pick|list|need|want|find|name|make it|only|"
    rf"just|"
    rf"change it to|how about|make that)\s+(?:me\s+)?(?:just\s+|only\s+)?({_EN_NUM})(?![a-z\d])")
ZH_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_ZH_NUM = r"\d{1,2}|[一二两三四五六七八九十]{1,3}"
COUNT_ZH = re.compile(rf"来(部|个)(?!数)|前({_ZH_NUM})(?:名|个|部|款|本|条|项|位)?|"
                      rf"({_ZH_NUM})\s*(?:部|个|款|本|件|条|样|首|项|份)")

# ---- years -----------------------------------------------------------------------------------------
YEAR = r"((?:19|20)\d\d)"
DECADE = re.compile(r"(?<![a-z\d])(?:the\s+)?(?:(?:early|mid|late)[- ])?(?:(19|20)(\d)0'?s|'?(\d)0'?s)(?![a-z])")
DECADE_WORDS = {"twenties": 1920, "thirties": 1930, "forties": 1940, "fifties": 1950, "sixties": 1960,
                "seventies": 1970, "eighties": 1980, "nineties": 1990, "noughties": 2000, "aughts": 2000}
ZH_DECADE = re.compile(r"(?:((?:19|20)\d0)|(\d0)|([二三四五六七八九]十|零零|一零))年代")
ZH_TENS = {"二十": 20, "三十": 30, "四十": 40, "五十": 50, "六十": 60, "七十": 70, "八十": 80, "九十": 90,
           "零零": 0, "一零": 10}
NOT_BEFORE = re.compile(rf"(?<![a-z])(?:nothing|no|none|not)\s+(?:\w+\s+){{0,3}}?(?:before|older than|earlier than|"
                        rf"prior to)\s+{YEAR}")
NOT_AFTER = re.compile(rf"(?<![a-z])(?:nothing|no|none|not)\s+(?:\w+\s+){{0,3}}?(?:after|newer than|"
                       rf"later than)\s+{YEAR}")
AFTER = re.compile(rf"(?<![a-z])(?:after|newer than|later than|post-?)\s*{YEAR}(?!\s*(?:to|-|and|until)\s*\d)")
SINCE = re.compile(rf"(?<![a-z])(?:since|from|starting)\s+{YEAR}\s+(?:on|onwards?|and later|or later)|"
                   rf"(?<![a-z])since\s+{YEAR}|{YEAR}\s+(?:or|and)\s+(?:later|newer|after)|"
                   rf"{YEAR}\s*年?(?:以来|及以后|起|开始|至今|以后的都行)")
BEFORE = re.compile(rf"(?<![a-z])(?:before|older than|earlier than|prior to|pre-?)\s*{YEAR}")
UNTIL = re.compile(rf"(?<![a-z])(?:until|up to|no later than|through)\s+{YEAR}|{YEAR}\s+(?:or|and)\s+(?:earlier|older|"
                   rf"before)")
ZH_AFTER = re.compile(rf"{YEAR}\s*年?(?:以后|之后|后)")
ZH_BEFORE = re.compile(rf"{YEAR}\s*年?(?:以前|之前|前)")
BETWEEN = re.compile(rf"(?<![a-z])(?:between|from)\s+{YEAR}\s*(?:and|to|-|–|until|through)\s*{YEAR}|"
                     rf"{YEAR}\s*年?\s*(?:到|至|-|–|~)\s*{YEAR}\s*年?")
IN_YEAR = re.compile(rf"(?<![a-z])(?:in|from|of|made in|released in)\s+{YEAR}(?!\d)|{YEAR}\s*年(?:的|出的|上映|拍)|"
                     rf"{YEAR}\s+(?:{NOUNS})")

# ---- categories ------------------------------------------------------------------------------------
# Common ways of naming a category, in English and Chinese, used only when the catalog has that category
# (keys are catalog names, lower case).
SYNONYMS: dict[str, list[str]] = {
    "sci-fi": ["science fiction", "science-fiction", "scifi", "sci fi", "space films", "space movies", "space opera",
               "space", "outer space",
               "科幻", "科幻片", "科幻电影", "太空片"],
    "science fiction": ["sci-fi", "scifi", "sci fi", "科幻"],
    "children's": ["children", "childrens", "kids", "kid", "family films", "family movies", "family-friendly",
                   "family friendly", "the whole family", "for the family", "儿童", "儿童片", "少儿", "孩子看的",
                   "小孩看的", "亲子", "适合孩子"],
    "children": ["kids", "kid", "childrens", "儿童", "少儿", "孩子看的"],
    "comedy": ["comedies", "funny", "comedic", "humor", "humour", "laugh", "laughs", "laughter", "hilarious",
               "喜剧", "喜剧片", "搞笑", "好笑", "幽默"],
    "romance": ["romantic", "romances", "romcom", "rom-com", "romcoms", "rom-coms", "love stories", "love story",
                "爱情", "爱情片", "浪漫", "言情", "恋爱"],
    "animation": ["animated", "cartoons", "cartoon", "anime", "动画", "动画片", "卡通", "动漫"],
    "horror": ["scary", "horror films", "horror movies", "slasher", "slashers", "frightening", "spooky",
               "恐怖", "恐怖片", "鬼片", "吓人", "惊悚恐怖"],
    "documentary": ["documentaries", "docs", "docu", "non-fiction", "纪录片", "纪录", "记录片", "纪实"],
    "film-noir": ["noir", "film noir", "黑色电影", "黑色片"],
    "musical": ["musicals", "song and dance", "歌舞", "歌舞片", "音乐剧", "音乐片"],
    "thriller": ["thrillers", "suspense", "suspenseful", "惊悚", "惊悚片"],
    "war": ["war films", "war movies", "战争", "战争片"],
    "western": ["westerns", "cowboy", "cowboys", "西部", "西部片", "牛仔"],
    "crime": ["crime films", "gangster", "gangsters", "heist", "heists", "mobster", "犯罪", "犯罪片", "警匪", "黑帮"],
    "mystery": ["mysteries", "whodunit", "whodunits", "detective", "悬疑", "悬疑片", "推理", "侦探"],
    "fantasy": ["fantasy films", "fantasies", "magic", "wizards", "奇幻", "奇幻片", "魔幻"],
    "adventure": ["adventures", "adventurous", "冒险", "冒险片", "探险"],
    "action": ["action films", "action movies", "action-packed", "动作", "动作片", "打斗", "武打"],
    "drama": ["dramas", "dramatic", "剧情", "剧情片", "文艺片"],
}
PLACEHOLDER_CATEGORIES = {"unknown", "(no genres listed)", "other", "none", ""}


def _norm(text: str) -> str:
    low = unicodedata.normalize("NFKC", text).lower()
    low = low.replace("’", "'").replace("‘", "'").replace("`", "'")
    return re.sub(r"\?\s*(no thanks|nope|pass)", r" \1", low)


def _is_cjk(s: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in s)


@lru_cache(maxsize=32)
def _alias_table_cached(categories: tuple[str, ...]) -> tuple[tuple[re.Pattern[str], str], ...]:
    aliases: dict[str, str] = {}
    for cat in categories:
        low = cat.lower()
        if low in PLACEHOLDER_CATEGORIES:
            continue
        forms = {low, low.replace("-", " "), low.replace("-", ""), low.replace("'", ""), low + "s", low + "es"}
        if low.endswith("y"):
            forms.add(low[:-1] + "ies")
        forms.update(SYNONYMS.get(low, []))
        for f in forms:
            aliases.setdefault(f, cat)
    for cat in categories:  # a catalog's own name always means itself, even if another's synonym
        if cat.lower() not in PLACEHOLDER_CATEGORIES:
            aliases[cat.lower()] = cat
    ordered = sorted(aliases.items(), key=lambda kv: -len(kv[0]))  # "science fiction" before "fiction"
    return tuple((re.compile(re.escape(a) if _is_cjk(a) else rf"(?<![\w-]){re.escape(a)}(?![\w-])"), c)
                 for a, c in ordered)


def category_aliases(categories: list[str]) -> list[tuple[re.Pattern[str], str]]:
    """(pattern, catalog category) pairs for every name a category goes by, longest first."""
    return list(_alias_table_cached(tuple(categories)))


_alias_table = category_aliases  # the agent's tool layer resolves model-written category names with it


def resolve_category(name: str, categories: list[str]) -> str | None:
    """The catalog category a name (any of its synonyms or translations) stands for, or None."""
    low = _norm(name).strip()
    for pat, cat in category_aliases(categories):
        if pat.fullmatch(low):
            return cat
    return None


class PreferenceUpdate(BaseModel):
    """What one message says about what the user wants; fields left None were not mentioned."""

    include_categories: list[str] = Field(default_factory=list)
    exclude_categories: list[str] = Field(default_factory=list)
    allow_categories: list[str] = Field(default_factory=list, description="No longer excluded (a retraction).")
    year_min: int | None = None
    year_max: int | None = None
    clear_years: bool = False
    clear_categories: bool = False
    exclude_seen: bool | None = None
    k: int | None = None
    reset: bool = False
    notes: list[str] = Field(default_factory=list, description="What was understood, for logs and the CLI.")

    @property
    def empty(self) -> bool:
        return not (self.include_categories or self.exclude_categories or self.allow_categories or self.reset
                    or self.k or self.clear_years or self.clear_categories or self.year_min is not None
                    or self.year_max is not None or self.exclude_seen is not None)

    def apply_to(self, prev: Constraints) -> Constraints:
        """Later wins: a category wanted now is no longer excluded and vice versa; an allowed one leaves
        the exclusions; k and seen/unseen only when stated; a new year bound replaces a contradicting one."""
        base = Constraints(k=prev.k) if self.reset else prev
        if self.clear_years:
            base = base.model_copy(update={"year_min": None, "year_max": None})
        if self.clear_categories:
            base = base.model_copy(update={"include_categories": [], "exclude_categories": []})
        if self.allow_categories:
            base = base.model_copy(update={"exclude_categories": [c for c in base.exclude_categories
                                                                  if c not in self.allow_categories]})
        later = Constraints(
            k=self.k or base.k,
            exclude_seen=base.exclude_seen if self.exclude_seen is None else self.exclude_seen,
            include_categories=self.include_categories,
            exclude_categories=self.exclude_categories,
            year_min=self.year_min,
            year_max=self.year_max,
        )
        merged = base.merged_with(later)
        if self.exclude_seen is not None:
            merged = merged.model_copy(update={"exclude_seen": self.exclude_seen})
        lo, hi = merged.year_min, merged.year_max
        if lo is not None and hi is not None and lo > hi:  # a new year bound contradicts an old one: keep the new
            merged = merged.model_copy(update={"year_min": self.year_min, "year_max": self.year_max})
        return Constraints.model_validate(merged.model_dump())


def _mentions(clause: str, table: tuple[tuple[re.Pattern[str], str], ...]) -> list[tuple[int, int, str]]:
    found: list[tuple[int, int, str]] = []
    for pat, cat in table:
        for m in pat.finditer(clause):
            if any(m.start() < e and s < m.end() for s, e, _ in found):
                continue
            found.append((m.start(), m.end(), cat))
    return sorted(found)


def _spans(pat: re.Pattern[str], s: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in pat.finditer(s)]


def _decide(clause: str, mentions: list[tuple[int, int, str]], prev: str | None) -> tuple[dict[str, str], str | None]:
    """Decision per category in one clause, and the clause's polarity for a following list continuation."""
    allows = _spans(ALLOW, clause)
    negs = [(s, e) for s, e in _spans(NEG_PRE, clause) if not any(a <= s < b for a, b in allows)
            and not any(a <= s < b for a, b, _ in mentions)]
    posts = _spans(NEG_POST, clause)
    cjk = _is_cjk(clause)
    reach = NEG_REACH_ZH if cjk else NEG_REACH_EN
    strong = WANT_STRONG.search(clause) is not None
    past = PAST.search(UNSEEN.sub(" ", clause)) is not None  # "没看过的科幻片" asks for the unseen, not the past
    wants = strong or not past  # a plain mention ("a comedy?") is a wish unless the clause is about the past
    residue = clause
    for s, e, _ in sorted(mentions, reverse=True):
        residue = residue[:s] + residue[e:]
    list_only = not LIST_FILLER.sub("", residue).strip()
    out: dict[str, str] = {}
    polarity: str | None = None
    for i, (s, e, cat) in enumerate(mentions):
        nxt = mentions[i + 1][0] if i + 1 < len(mentions) else len(clause)
        if any(0 <= s - ne <= reach for _, ne in negs) or any(
                e <= ps < nxt or (ps >= e and i == len(mentions) - 1) for ps, _ in posts):
            d = "exclude"
        elif any(ae <= s or as_ >= e for as_, ae in allows) and allows:
            d = "allow"
        elif list_only and prev is not None:
            d = prev
        elif wants:
            d = "include"
        else:
            continue
        out[cat] = d
        polarity = d
    # "no horror or thriller": a later mention in the same list shares the first one's negation
    if out and "exclude" in out.values():
        first_ex = next(i for i, (_, _, c) in enumerate(mentions) if out.get(c) == "exclude")
        for s, _, cat in mentions[first_ex + 1:]:
            between = clause[mentions[first_ex][1]:s]
            if out.get(cat) == "include" and not LIST_FILLER.sub("", between).strip():
                out[cat] = "exclude"
    return out, polarity


def parse_preferences(text: str, categories: list[str]) -> PreferenceUpdate:
    """Read hard preferences out of one message (see module doc)."""
    low = _norm(text)
    upd = PreferenceUpdate()
    if RESET.search(low):
        upd.reset = True
        upd.notes.append("cleared earlier preferences")
    if CLEAR_YEARS.search(low):
        upd.clear_years = True
        upd.notes.append("any year")
    if CLEAR_CATS.search(low):
        upd.clear_categories = True
        upd.notes.append("any category")
    table = _alias_table_cached(tuple(categories))
    decisions: dict[str, str] = {}
    prev: str | None = None
    last: dict[str, str] = {}
    for clause in CLAUSE_SPLIT.split(low):
        mentions = _mentions(clause, table)
        if not mentions:
            if BARE_REFUSAL.fullmatch(clause):
                for cat, d in last.items():
                    if d == "include":
                        decisions[cat] = "exclude"
            prev = None if clause.strip() else prev
            continue
        got, prev = _decide(clause, mentions, prev)
        last = got
        for cat, d in got.items():
            decisions.pop(cat, None)  # the last word on a category counts
            decisions[cat] = d
    upd.include_categories = [c for c, d in decisions.items() if d == "include"]
    upd.exclude_categories = [c for c, d in decisions.items() if d == "exclude"]
    upd.allow_categories = [c for c, d in decisions.items() if d == "allow"]
    for label, cats in (("wants", upd.include_categories), ("no", upd.exclude_categories),
                        ("allows again", upd.allow_categories)):
        if cats:
            upd.notes.append(f"{label} " + ", ".join(cats))
    _parse_years(low, upd)
    if UNSEEN.search(low):
        upd.exclude_seen = True
        upd.notes.append("only unseen items")
    elif RESEEN.search(low):
        upd.exclude_seen = False
        upd.notes.append("seen items allowed")
    k = _count(low)
    if k is not None:
        upd.k = k
        upd.notes.append(f"{k} items")
    return upd


def _zh_number(s: str) -> int | None:
    if s.isdigit():
        return int(s)
    if s == "十":
        return 10
    if "十" in s:
        a, _, b = s.partition("十")
        tens = ZH_DIGITS.get(a, 1) if a else 1
        ones = ZH_DIGITS.get(b, 0) if b else 0
        return tens * 10 + ones
    return ZH_DIGITS.get(s) if len(s) == 1 else None


def _count(low: str) -> int | None:
    k: int | None = None
    if m := COUNT_EN.search(low):
        g = next(x for x in m.groups() if x)
        k = int(g) if g.isdigit() else EN_NUMBERS.get(g)
    elif m := COUNT_ZH.search(low):
        g = next(x for x in m.groups() if x)
        g = "一" if g in ("部", "个") else g  # "来部动作片": one
        # "九十年代" is a decade, "1995年" a year: those never reach here (no classifier after them)
        k = _zh_number(g)
    return k if k is not None and 1 <= k <= 100 else None


def _parse_years(low: str, upd: PreferenceUpdate) -> None:
    if m := BETWEEN.search(low):
        a, b = sorted(int(x) for x in m.groups() if x)
        upd.year_min, upd.year_max = a, b
    elif m := DECADE.search(low):
        if m.group(1):
            start = int(m.group(1)) * 100 + int(m.group(2)) * 10
        else:
            d = int(m.group(3))
            start = (2000 if d < 3 else 1900) + d * 10
        upd.year_min, upd.year_max = start, start + 9
    elif m := ZH_DECADE.search(low):
        if m.group(1):
            start = int(m.group(1))
        else:
            tens = int(m.group(2)) if m.group(2) else ZH_TENS[m.group(3)]
            start = (2000 if tens < 30 else 1900) + tens
        upd.year_min, upd.year_max = start, start + 9
    elif words := [w for w in DECADE_WORDS if re.search(rf"(?<![a-z]){w}(?![a-z])", low)]:
        start = DECADE_WORDS[words[0]]
        upd.year_min, upd.year_max = start, start + 9
    else:
        if m := NOT_BEFORE.search(low):  # "nothing older than 1990": 1990 itself is fine
            upd.year_min = int(m.group(1))
            low = low[:m.start()] + low[m.end():]
        elif m := (AFTER.search(low) or ZH_AFTER.search(low)):
            upd.year_min = int(next(g for g in m.groups() if g)) + 1
        elif m := SINCE.search(low):
            upd.year_min = int(next(g for g in m.groups() if g))
        if m := NOT_AFTER.search(low):
            upd.year_max = int(m.group(1))
            low = low[:m.start()] + low[m.end():]
        elif m := (BEFORE.search(low) or ZH_BEFORE.search(low)):
            upd.year_max = int(m.group(1)) - 1
        elif m := UNTIL.search(low):
            upd.year_max = int(next(g for g in m.groups() if g))
        if upd.year_min is None and upd.year_max is None and (m := IN_YEAR.search(low)):
            upd.year_min = upd.year_max = int(next(g for g in m.groups() if g))
    if upd.year_min is not None and upd.year_max is not None and upd.year_min > upd.year_max:
        upd.year_min, upd.year_max = upd.year_max, upd.year_min
    if upd.year_min is not None or upd.year_max is not None:
        upd.notes.append(f"years {upd.year_min or '…'}–{upd.year_max or '…'}")

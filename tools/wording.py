"""How the catalog is spoken of to a person: its domain noun, the word for a category, the verb for
an interaction, in English and Chinese.

A MovieLens catalog holds films one *watches*, grouped by *genre*; an Amazon catalog holds products
one *buys*; an ids-only catalog holds items one *picks*, grouped by *category*. Prompts, template
sentences, evidence texts and the web page take these words from here, so nothing says "film" about
a catalog of tents. Settings (``EVOREC_DOMAIN_NOUN``, ``EVOREC_DOMAIN_PLURAL``, ``EVOREC_DOMAIN_VERB``,
``EVOREC_CATEGORY_WORD``) override what the dataset's name implies.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

Lang = Literal["en", "zh"]


class CatalogWording(BaseModel):
    noun: str = "item"
    plural: str = "items"
    verb: str = "picked"  # past tense: "you watched X on 1997-10-02"
    category: str = "category"
    noun_zh: str = "物品"
    verb_zh: str = "选"  # the verb's root: 看过 = verb_zh + 过
    category_zh: str = "类别"
    measure_zh: str = "个"  # the classifier: 三部电影, 三个物品

    def noun_for(self, lang: Lang, n: int = 2) -> str:
        return self.noun_zh if lang == "zh" else (self.noun if n == 1 else self.plural)


FILMS = CatalogWording(noun="film", plural="films", verb="watched", category="genre", noun_zh="电影", verb_zh="看",
                       category_zh="类型", measure_zh="部")
PRODUCTS = CatalogWording(noun="product", plural="products", verb="bought", category="category", noun_zh="商品",
                          verb_zh="买", category_zh="品类", measure_zh="件")
GENERIC = CatalogWording()

# Catalog names of common film genres in Chinese (what a Chinese answer calls them).
CATEGORY_ZH = {
    "action": "动作", "adventure": "冒险", "animation": "动画", "children's": "儿童", "children": "儿童",
    "comedy": "喜剧", "crime": "犯罪", "documentary": "纪录片", "drama": "剧情", "fantasy": "奇幻",
    "film-noir": "黑色电影", "horror": "恐怖", "musical": "歌舞", "mystery": "悬疑", "romance": "爱情",
    "sci-fi": "科幻", "science fiction": "科幻", "thriller": "惊悚", "war": "战争", "western": "西部",
}


def category_name(category: str, lang: Lang) -> str:
    """A catalog category as a person reading ``lang`` calls it (the catalog's own name if untranslated)."""
    if lang == "zh":
        return CATEGORY_ZH.get(category.lower(), category)
    return category


def wording_for(dataset: str, settings: Any = None) -> CatalogWording:
    """The dataset's words (by its name), with any settings overrides applied."""
    name = (dataset or "").lower()
    base = FILMS if name in ("synthetic", "ml-100k", "ml-1m", "movielens") or "movie" in name or name.startswith(
        "ml-") else PRODUCTS if "amazon" in name else GENERIC
    over: dict[str, str] = {}
    for field, key in (("noun", "domain_noun"), ("plural", "domain_plural"), ("verb", "domain_verb"),
                       ("category", "category_word")):
        v = getattr(settings, key, "") if settings is not None else ""
        if v:
            over[field] = str(v)
    if "noun" in over and "plural" not in over:
        over["plural"] = over["noun"] + "s"
    return base.model_copy(update=over) if over else base
